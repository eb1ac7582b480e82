package telehealthgroup

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/encoreos/platform-go/billing"
	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/sqlarg"
	"github.com/encoreos/platform-go/internal/telemetry"
	"github.com/encoreos/platform-go/internal/validate"
)

// transition is what cl_virtual_group_transition returns.
type transition struct {
	State                 State      `db:"state"`
	StartedAt             *time.Time `db:"started_at"`
	ConcludedAt           *time.Time `db:"concluded_at"`
	StartCorrelationID    *uuid.UUID `db:"start_correlation_id"`
	ConcludeCorrelationID *uuid.UUID `db:"conclude_correlation_id"`
	Changed               bool       `db:"changed"`
	ExpectedOrPresent     int        `db:"expected_or_present"`
	Present               int        `db:"present"`
}

// move calls the database's transition, the only way a session's state
// changes (it checks the permission, the Part 2 participation consents and
// the dates, and counts attendees over every row).
func move(ctx context.Context, tx pgx.Tx, org, session uuid.UUID, to State, correlation uuid.UUID, concludedAt time.Time, schedule uuid.UUID) (*transition, error) {
	var at *time.Time
	if !concludedAt.IsZero() {
		at = &concludedAt
	}
	rows, _ := tx.Query(ctx, transitionSQL, pgx.NamedArgs{"organization_id": org, "session_id": session, "to": to,
		"correlation_id": sqlarg.UUID(correlation), "concluded_at": at, "schedule_id": sqlarg.UUID(schedule)})
	t, err := pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByName[transition])
	switch {
	case dbtx.IsNoDataFound(err):
		return nil, ErrNotFound
	case dbtx.IsInvalidParameter(err):
		return nil, validate.Errorf("ConcludedAt", "must be after the start and not in the future")
	}
	return t, dbtx.MapError(err)
}

// Start starts a virtual or hybrid group: the facilitator's action. It
// needs cl.group.virtual.start, consults the host's Scheduling (PM-13 must
// not report the telehealth session ended, failed or cancelled), requires
// every expected or present Part 2 attendee's consent to group
// participation (checked over every attendee, seen or not), and publishes
// cl_virtual_group_started (counts only) in the same transaction.
//
// Starting again with the same correlation id returns the event published
// then and publishes nothing; with another (or none), ErrAlreadyStarted.
func (c *Client) Start(ctx context.Context, actingUser, organizationID, sessionID, correlationID uuid.UUID) (*events.VirtualGroupStarted, error) {
	return c.start(ctx, nil, actingUser, organizationID, sessionID, correlationID)
}

// StartTx is [Client.Start] inside the caller's transaction.
func (c *Client) StartTx(ctx context.Context, tx pgx.Tx, actingUser, organizationID, sessionID, correlationID uuid.UUID) (*events.VirtualGroupStarted, error) {
	if tx == nil {
		return nil, dbtx.ErrNilTx
	}
	return c.start(ctx, tx, actingUser, organizationID, sessionID, correlationID)
}

func (c *Client) start(ctx context.Context, tx pgx.Tx, actingUser, org, session, correlation uuid.UUID) (_ *events.VirtualGroupStarted, err error) {
	ctx, span := c.tel.Start(ctx, "telehealthgroup.Start", telemetry.Organization(org), telemetry.ID(sessionIDKey, session))
	defer span.End(&err)
	if err := validate.First(validate.Required("OrganizationID", org), validate.Required("SessionID", session)); err != nil {
		return nil, err
	}
	var started *events.VirtualGroupStarted
	err = dbtx.In(ctx, c.db, tx, actingUser, func(tx pgx.Tx) error {
		// Asked first, although the transition refuses too: the host's
		// Scheduling is not consulted for a caller who may not start.
		if err := require(ctx, tx, org, PermissionStart); err != nil {
			return err
		}
		s, err := get(ctx, tx, org, session)
		if err != nil {
			return err
		}
		var info SessionContext
		if s.State == Scheduled && c.scheduling != nil {
			if info, err = c.scheduling.SessionContext(ctx, org, session); err != nil {
				return err
			}
			switch info.TelehealthStatus {
			case "ended", "failed", "cancelled":
				return ErrTelehealthUnavailable
			}
		}
		t, err := move(ctx, tx, org, session, Started, correlation, time.Time{}, info.ScheduleID)
		if err != nil {
			return err
		}
		if !t.Changed {
			if correlation == uuid.Nil || t.StartCorrelationID == nil || *t.StartCorrelationID != correlation {
				if t.State == Concluded {
					return ErrAlreadyConcluded
				}
				return ErrAlreadyStarted
			}
		}
		e := &events.VirtualGroupStarted{
			Header:                events.Header{OrganizationID: org, Timestamp: *t.StartedAt, CorrelationID: sqlarg.UUID(correlation)},
			SessionID:             session,
			ScheduleID:            sqlarg.UUID(info.ScheduleID),
			PMTelehealthSessionID: s.PMTelehealthSessionID,
			Modality:              s.Modality,
			StartedAt:             *t.StartedAt,
			FacilitatorID:         s.FacilitatorID,
			AttendeeCount:         t.ExpectedOrPresent,
		}
		// A retry gets the event stored by the first call (same key).
		stored, err := c.publish(ctx, tx, org, session, e)
		if err != nil {
			return err
		}
		started = stored.(*events.VirtualGroupStarted)
		return nil
	})
	return started, err
}

// Conclude concludes a started group at concludedAt (zero: now): the
// facilitator's action. It needs cl.group.virtual.conclude, and publishes
// cl_virtual_group_concluded with every figure computed by the database
// (cl_virtual_group_concluded_data): the billable minutes (start to
// conclusion less the interruptions in the failure log), the count of
// present attendees, the PF-96 profile's modifier suggestions for the
// session's remote lines on the service date, the profile and the schedule
// named at the start; the result also holds one suggestion per present
// attendee, by attendance id, for PM-07's charge lines (this only suggests).
//
// Concluding again with the same correlation id returns the event published
// then and publishes nothing; a session never started is ErrNotStarted, one
// concluded under another correlation id ErrAlreadyConcluded.
func (c *Client) Conclude(ctx context.Context, actingUser, organizationID, sessionID, correlationID uuid.UUID, concludedAt time.Time) (*Conclusion, error) {
	return c.conclude(ctx, nil, actingUser, organizationID, sessionID, correlationID, concludedAt)
}

// ConcludeTx is [Client.Conclude] inside the caller's transaction.
func (c *Client) ConcludeTx(ctx context.Context, tx pgx.Tx, actingUser, organizationID, sessionID, correlationID uuid.UUID, concludedAt time.Time) (*Conclusion, error) {
	if tx == nil {
		return nil, dbtx.ErrNilTx
	}
	return c.conclude(ctx, tx, actingUser, organizationID, sessionID, correlationID, concludedAt)
}

type line struct {
	AttendanceID   uuid.UUID `db:"attendance_id"`
	Mode           Mode      `db:"mode"`
	AtHome         bool      `db:"at_home"`
	Modifiers      []string  `db:"modifiers"`
	PlaceOfService *string   `db:"place_of_service"`
}

func (c *Client) conclude(ctx context.Context, tx pgx.Tx, actingUser, org, session, correlation uuid.UUID, concludedAt time.Time) (_ *Conclusion, err error) {
	ctx, span := c.tel.Start(ctx, "telehealthgroup.Conclude", telemetry.Organization(org), telemetry.ID(sessionIDKey, session))
	defer span.End(&err)
	if err := validate.First(validate.Required("OrganizationID", org), validate.Required("SessionID", session)); err != nil {
		return nil, err
	}
	if concludedAt.IsZero() {
		concludedAt = c.now()
	}
	if concludedAt.After(c.now().Add(time.Minute)) {
		return nil, validate.Errorf("ConcludedAt", "is in the future")
	}
	// The charge lines name the present attendees: accounted for first.
	if err := c.disclose(ctx, actingUser, org, session, uuid.Nil, consent.UseSave); err != nil {
		return nil, err
	}
	var out *Conclusion
	err = dbtx.In(ctx, c.db, tx, actingUser, func(tx pgx.Tx) error {
		// The transition refuses a caller without the permission (no
		// asking first).
		s, err := get(ctx, tx, org, session)
		if err != nil {
			return err
		}
		if s.State == Scheduled {
			return ErrNotStarted
		}
		t, err := move(ctx, tx, org, session, Concluded, correlation, concludedAt, uuid.Nil)
		if err != nil {
			return err
		}
		if !t.Changed && (correlation == uuid.Nil || t.ConcludeCorrelationID == nil || *t.ConcludeCorrelationID != correlation) {
			return ErrAlreadyConcluded
		}
		rows, _ := tx.Query(ctx, presentLinesSQL, pgx.NamedArgs{"organization_id": org, "session_id": session})
		lines, err := pgx.CollectRows(rows, pgx.RowToStructByName[line])
		if err != nil {
			return dbtx.MapError(err)
		}
		if out, err = concluded(ctx, tx, org, session, lines, correlation); err != nil {
			return err
		}
		stored, err := c.publish(ctx, tx, org, session, out.Event)
		if err != nil {
			return err
		}
		out.Event = stored.(*events.VirtualGroupConcluded)
		return nil
	})
	return out, err
}

// publish hands a lifecycle event to cl_virtual_group_publish, the only
// way these events enter the outbox, and returns the stored event.
func (c *Client) publish(ctx context.Context, tx pgx.Tx, org, session uuid.UUID, e events.Event) (events.Event, error) {
	env, key, err := c.outbox.Prepare(e, nil)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	var stored []byte
	if err := tx.QueryRow(ctx, `SELECT public.cl_virtual_group_publish($1, $2, $3, $4, $5, $6)`,
		org, session, env.ID, env.Type, key, raw).Scan(&stored); err != nil {
		return nil, dbtx.MapError(err)
	}
	var out events.Envelope
	if err := json.Unmarshal(stored, &out); err != nil {
		return nil, err
	}
	return events.Decode(&out)
}

// concluded builds the conclusion from the database's figures
// (cl_virtual_group_concluded_data, which cl_virtual_group_publish compares
// the event with) and the per-attendee lines.
func concluded(ctx context.Context, tx pgx.Tx, org, session uuid.UUID, lines []line, correlation uuid.UUID) (*Conclusion, error) {
	var data []byte
	if err := tx.QueryRow(ctx, `SELECT public.cl_virtual_group_concluded_data($1, $2)`, org, session).Scan(&data); err != nil {
		return nil, dbtx.MapError(err)
	}
	e := &events.VirtualGroupConcluded{}
	if err := json.Unmarshal(data, e); err != nil {
		return nil, err
	}
	e.Header = events.Header{OrganizationID: org, Timestamp: e.ConcludedAt, CorrelationID: sqlarg.UUID(correlation)}
	out := &Conclusion{Event: e}
	for _, l := range lines {
		a := AttendeeSuggestion{AttendanceID: l.AttendanceID}
		for _, m := range l.Modifiers {
			a.Modifiers = append(a.Modifiers, billing.Modifier(m))
		}
		if l.PlaceOfService != nil {
			a.PlaceOfService = *l.PlaceOfService
		}
		out.Attendees = append(out.Attendees, a)
	}
	return out, nil
}
