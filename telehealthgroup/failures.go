package telehealthgroup

import (
	"context"
	_ "embed"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/sqlarg"
	"github.com/encoreos/platform-go/internal/telemetry"
	"github.com/encoreos/platform-go/internal/validate"
)

// FailureKind is what failed.
type FailureKind string

// The kinds of technology failure.
const (
	VideoOutage           FailureKind = "video_outage"
	AudioOutage           FailureKind = "audio_outage"
	PlatformOutage        FailureKind = "platform_outage"
	ParticipantConnection FailureKind = "participant_connection"
	OtherFailure          FailureKind = "other"
)

// Action is what was done about a failure.
type Action string

// The actions taken.
const (
	SwitchedToAudio Action = "switched_to_audio"
	Reconnected     Action = "reconnected"
	Continued       Action = "continued"
	Rescheduled     Action = "rescheduled"
	EndedSession    Action = "ended_session"
)

// Failure is one entry of a session's technology-failure log.
type Failure struct {
	OrganizationID           uuid.UUID   `db:"organization_id"`
	ID                       uuid.UUID   `db:"id"`
	SessionID                uuid.UUID   `db:"session_id"`
	Kind                     FailureKind `db:"kind"`
	StartedAt                time.Time   `db:"started_at"`
	EndedAt                  time.Time   `db:"ended_at"`
	AffectedParticipantCount int         `db:"affected_participant_count"`
	ActionTaken              Action      `db:"action_taken"`
	// AffectedAttendanceID is the one attendee the failure affected, when
	// it affected one (nil: the group).
	AffectedAttendanceID *uuid.UUID `db:"affected_attendance_id"`
	RecordedBy           uuid.UUID  `db:"recorded_by"`
	RecordedAt           time.Time  `db:"recorded_at"`
}

// FailureParams describes a failure to log.
type FailureParams struct {
	OrganizationID, SessionID uuid.UUID
	Kind                      FailureKind
	StartedAt, EndedAt        time.Time
	AffectedParticipantCount  int
	ActionTaken               Action
	// AffectedAttendanceID names the one attendee a failure affected (a
	// participant's connection), when it affected one: that attendee's
	// billable minutes lose the failure's span unless the service went on
	// (SwitchedToAudio, Continued). Zero: the group.
	AffectedAttendanceID uuid.UUID
}

// FailureNotice is what a [Notifier] is told: codes, counts and times only.
type FailureNotice struct {
	OrganizationID           uuid.UUID
	SessionID                uuid.UUID
	FailureID                uuid.UUID
	Kind                     FailureKind
	ActionTaken              Action
	AffectedParticipantCount int
	StartedAt, EndedAt       time.Time
}

// Notifier is the optional PF-10 seam (@/platform/notifications) told of
// technology failures.
type Notifier interface {
	TechnologyFailure(ctx context.Context, n FailureNotice) error
}

// ErrNotificationFailed wraps a notifier's error: the failure was logged,
// the notification was not sent.
var ErrNotificationFailed = telemetry.NewError("notification_failed", "telehealthgroup: the failure was logged but the notifier failed")

var (
	//go:embed sql/insert_failure.sql
	insertFailureSQL string
	//go:embed sql/failures.sql
	failuresSQL string
)

// LogFailure appends a technology failure to a session's log (the log is
// never changed, only added to), then tells the Notifier, if one is
// configured. Needs cl.group.virtual.manage.
func (c *Client) LogFailure(ctx context.Context, actingUser uuid.UUID, p FailureParams) (*Failure, error) {
	f, err := c.logFailure(ctx, nil, actingUser, p)
	if err != nil {
		return nil, err
	}
	return f, c.Notify(ctx, f)
}

// LogFailureTx is [Client.LogFailure] inside the caller's transaction,
// without the notification: the transaction may still roll back. Call
// [Client.Notify] once it has committed.
func (c *Client) LogFailureTx(ctx context.Context, tx pgx.Tx, actingUser uuid.UUID, p FailureParams) (*Failure, error) {
	if tx == nil {
		return nil, dbtx.ErrNilTx
	}
	return c.logFailure(ctx, tx, actingUser, p)
}

func (c *Client) logFailure(ctx context.Context, tx pgx.Tx, actingUser uuid.UUID, p FailureParams) (_ *Failure, err error) {
	ctx, span := c.tel.Start(ctx, "telehealthgroup.LogFailure", telemetry.Organization(p.OrganizationID), telemetry.ID(sessionIDKey, p.SessionID))
	defer span.End(&err)
	if err := validate.First(validate.Required("OrganizationID", p.OrganizationID), validate.Required("SessionID", p.SessionID)); err != nil {
		return nil, err
	}
	if !slices.Contains([]FailureKind{VideoOutage, AudioOutage, PlatformOutage, ParticipantConnection, OtherFailure}, p.Kind) {
		return nil, validate.Errorf("Kind", "is not a kind of technology failure")
	}
	if !slices.Contains([]Action{SwitchedToAudio, Reconnected, Continued, Rescheduled, EndedSession}, p.ActionTaken) {
		return nil, validate.Errorf("ActionTaken", "is not an action")
	}
	if p.StartedAt.IsZero() || !p.EndedAt.After(p.StartedAt) || p.EndedAt.After(c.now().Add(time.Minute)) {
		return nil, validate.Errorf("EndedAt", "must be after StartedAt and not in the future")
	}
	if p.AffectedParticipantCount < 0 {
		return nil, validate.Errorf("AffectedParticipantCount", "must not be negative")
	}
	var f *Failure
	err = dbtx.In(ctx, c.db, tx, actingUser, func(tx pgx.Tx) error {
		// The database decides: the policy (the permission), the failure
		// guard (the state), the key to a virtual group.
		rows, _ := tx.Query(ctx, insertFailureSQL, pgx.NamedArgs{"organization_id": p.OrganizationID, "session_id": p.SessionID,
			"kind": p.Kind, "started_at": p.StartedAt, "ended_at": p.EndedAt,
			"affected_participant_count": p.AffectedParticipantCount, "action_taken": p.ActionTaken,
			"affected_attendance_id": sqlarg.UUID(p.AffectedAttendanceID)})
		var err error
		f, err = pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByName[Failure])
		return refusals.Map(err)
	})
	return f, err
}

// Notify tells the Notifier, if one is configured, of a logged failure
// (LogFailure does it itself; after LogFailureTx, call it once the
// transaction has committed). A notifier's error is ErrNotificationFailed.
func (c *Client) Notify(ctx context.Context, f *Failure) error {
	if c.notifier == nil || f == nil {
		return nil
	}
	if err := c.notifier.TechnologyFailure(ctx, FailureNotice{OrganizationID: f.OrganizationID, SessionID: f.SessionID,
		FailureID: f.ID, Kind: f.Kind, ActionTaken: f.ActionTaken, AffectedParticipantCount: f.AffectedParticipantCount,
		StartedAt: f.StartedAt, EndedAt: f.EndedAt}); err != nil {
		return fmt.Errorf("%w: %w", ErrNotificationFailed, err)
	}
	return nil
}

// Failures returns a session's failure log. Needs cl.group.virtual.view.
func (c *Client) Failures(ctx context.Context, actingUser, organizationID, sessionID uuid.UUID) (_ []Failure, err error) {
	ctx, span := c.tel.Start(ctx, "telehealthgroup.Failures", telemetry.Organization(organizationID), telemetry.ID(sessionIDKey, sessionID))
	defer span.End(&err)
	return dbtx.Collect[Failure](ctx, c.db, actingUser, failuresSQL, pgx.NamedArgs{"organization_id": organizationID, "session_id": sessionID})
}
