package telehealthgroup

import (
	"context"
	_ "embed"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/telemetry"
	"github.com/encoreos/platform-go/internal/validate"
)

// Decision is a participant's recording decision.
type Decision string

// The recording decisions.
const (
	Granted   Decision = "granted"
	Declined  Decision = "declined"
	Withdrawn Decision = "withdrawn"
)

// Method is how a decision was captured.
type Method string

// The capture methods.
const (
	Verbal     Method = "verbal"
	Written    Method = "written"
	Electronic Method = "electronic"
)

// PermissionRecording gates recording consent and recording (PF-30).
const PermissionRecording = "cl.group.virtual.recording"

// ErrRecordingNotConsented: recording may start only when every present
// attendee's latest decision is a grant.
var ErrRecordingNotConsented = telemetry.NewError("recording_not_consented", "telehealthgroup: not every present attendee has granted recording")

//go:embed sql/record_consent.sql
var recordConsentSQL string

// RecordConsent appends one attendee's recording decision (evidence is
// never changed, only added to; the database stamps its time and order, and
// audits it). Needs cl.group.virtual.recording.
func (c *Client) RecordConsent(ctx context.Context, actingUser, organizationID, attendanceID uuid.UUID, d Decision, m Method) error {
	return c.recordConsent(ctx, nil, actingUser, organizationID, attendanceID, d, m)
}

// RecordConsentTx is [Client.RecordConsent] inside the caller's transaction.
func (c *Client) RecordConsentTx(ctx context.Context, tx pgx.Tx, actingUser, organizationID, attendanceID uuid.UUID, d Decision, m Method) error {
	if tx == nil {
		return dbtx.ErrNilTx
	}
	return c.recordConsent(ctx, tx, actingUser, organizationID, attendanceID, d, m)
}

func (c *Client) recordConsent(ctx context.Context, tx pgx.Tx, actingUser, organizationID, attendanceID uuid.UUID, d Decision, m Method) (err error) {
	ctx, span := c.tel.Start(ctx, "telehealthgroup.RecordConsent", telemetry.Organization(organizationID), telemetry.ID(attendanceIDKey, attendanceID))
	defer span.End(&err)
	if err := validate.First(validate.Required("OrganizationID", organizationID), validate.Required("AttendanceID", attendanceID)); err != nil {
		return err
	}
	if d != Granted && d != Declined && d != Withdrawn {
		return validate.Errorf("Decision", "must be granted, declined or withdrawn")
	}
	if m != Verbal && m != Written && m != Electronic {
		return validate.Errorf("Method", "must be verbal, written or electronic")
	}
	if err := c.disclose(ctx, actingUser, organizationID, uuid.Nil, attendanceID, consent.UseSave); err != nil {
		return err
	}
	return dbtx.In(ctx, c.db, tx, actingUser, func(tx pgx.Tx) error {
		// The insert policy refuses a caller without the permission (no
		// asking first).
		var id uuid.UUID
		return dbtx.MapError(tx.QueryRow(ctx, recordConsentSQL, pgx.NamedArgs{"organization_id": organizationID,
			"attendance_id": attendanceID, "decision": d, "method": m}).Scan(&id))
	})
}

// StartRecording marks a started session as being recorded, only when every
// present attendee's latest decision is a grant (ErrRecordingNotConsented
// otherwise). The recording itself, and its URL, stay with the vendor.
// Needs cl.group.virtual.recording.
func (c *Client) StartRecording(ctx context.Context, actingUser, organizationID, sessionID uuid.UUID) error {
	return c.setRecording(ctx, nil, actingUser, organizationID, sessionID, "recording")
}

// StartRecordingTx is [Client.StartRecording] inside the caller's
// transaction.
func (c *Client) StartRecordingTx(ctx context.Context, tx pgx.Tx, actingUser, organizationID, sessionID uuid.UUID) error {
	if tx == nil {
		return dbtx.ErrNilTx
	}
	return c.setRecording(ctx, tx, actingUser, organizationID, sessionID, "recording")
}

// StopRecording marks the recording stopped.
func (c *Client) StopRecording(ctx context.Context, actingUser, organizationID, sessionID uuid.UUID) error {
	return c.setRecording(ctx, nil, actingUser, organizationID, sessionID, "stopped")
}

// StopRecordingTx is [Client.StopRecording] inside the caller's transaction.
func (c *Client) StopRecordingTx(ctx context.Context, tx pgx.Tx, actingUser, organizationID, sessionID uuid.UUID) error {
	if tx == nil {
		return dbtx.ErrNilTx
	}
	return c.setRecording(ctx, tx, actingUser, organizationID, sessionID, "stopped")
}

// recordingSpans names the span of each recording state's call.
var recordingSpans = map[string]string{"recording": "telehealthgroup.StartRecording", "stopped": "telehealthgroup.StopRecording"}

func (c *Client) setRecording(ctx context.Context, tx pgx.Tx, actingUser, org, session uuid.UUID, state string) (err error) {
	ctx, span := c.tel.Start(ctx, recordingSpans[state], telemetry.Organization(org), telemetry.ID(sessionIDKey, session))
	defer span.End(&err)
	if err := validate.First(validate.Required("OrganizationID", org), validate.Required("SessionID", session)); err != nil {
		return err
	}
	return dbtx.In(ctx, c.db, tx, actingUser, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SELECT public.cl_virtual_group_set_recording($1, $2, $3)`, org, session, state)
		switch {
		case dbtx.IsCheckViolation(err):
			return ErrRecordingNotConsented
		case dbtx.IsWrongState(err):
			return ErrNotStarted
		}
		return dbtx.MapError(err)
	})
}
