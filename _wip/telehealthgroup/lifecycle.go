package telehealthgroup

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/encoreos/platform-go/billing"
	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/validate"
)

// Start starts a virtual or hybrid group: the facilitator's action. It
// needs cl.group.virtual.start, consults the host's Scheduling (PM-13 must
// not report the telehealth session ended, failed or cancelled), checks
// again that every Part 2 attendee consents to group participation, and
// publishes cl_virtual_group_started (counts only) in the same transaction.
//
// Starting again with the same correlation id returns the started session
// and publishes nothing; with another (or none), ErrAlreadyStarted.
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

func (c *Client) start(ctx context.Context, tx pgx.Tx, actingUser, org, session, correlation uuid.UUID) (*events.VirtualGroupStarted, error) {
	if err := validate.First(validate.Required("OrganizationID", org), validate.Required("SessionID", session)); err != nil {
		return nil, err
	}
	var ctxInfo SessionContext
	if c.scheduling != nil {
		var err error
		if ctxInfo, err = c.scheduling.SessionContext(ctx, org, session); err != nil {
			return nil, err
		}
		switch ctxInfo.TelehealthStatus {
		case "ended", "failed", "cancelled":
			return nil, ErrTelehealthUnavailable
		}
	}
	var started *events.VirtualGroupStarted
	err := dbtx.In(ctx, c.db, tx, actingUser, func(tx pgx.Tx) error {
		if err := require(ctx, tx, org, PermissionStart); err != nil {
			return err
		}
		s, err := get(ctx, tx, getLockedSQL, org, session)
		if err != nil {
			return err
		}
		attendees, err := listAttendees(ctx, tx, org, session)
		if err != nil {
			return err
		}
		if s.State != Scheduled {
			if correlation != uuid.Nil && s.StartCorrelationID != nil && *s.StartCorrelationID == correlation {
				started = startedEvent(s, ctxInfo, attendees, correlation)
				return nil // a retry of the same start
			}
			if s.State == Concluded {
				return ErrAlreadyConcluded
			}
			return ErrAlreadyStarted
		}
		var withoutConsent int
		if err := tx.QueryRow(ctx, participationSQL, pgx.NamedArgs{"organization_id": org, "session_id": session}).Scan(&withoutConsent); err != nil {
			return dbtx.MapError(err)
		}
		if withoutConsent > 0 {
			return ErrPermissionDenied
		}
		var at time.Time
		if err := tx.QueryRow(ctx, startSQL, pgx.NamedArgs{"organization_id": org, "session_id": session,
			"correlation_id": uuidOrNil(correlation)}).Scan(&at); err != nil {
			return dbtx.MapError(err)
		}
		s.StartedAt = &at
		started = startedEvent(s, ctxInfo, attendees, correlation)
		_, err = c.publisher.PublishTx(ctx, tx, started, nil)
		return err
	})
	return started, err
}

func startedEvent(s *sessionRow, info SessionContext, attendees []Attendee, correlation uuid.UUID) *events.VirtualGroupStarted {
	count := 0
	for _, a := range attendees {
		if a.Status == string(Expected) || a.Status == string(Present) {
			count++
		}
	}
	return &events.VirtualGroupStarted{
		Header:                events.Header{OrganizationID: s.OrganizationID, Timestamp: *s.StartedAt, CorrelationID: uuidOrNil(correlation)},
		SessionID:             s.SessionID,
		ScheduleID:            uuidOrNil(info.ScheduleID),
		PMTelehealthSessionID: s.PMTelehealthSessionID,
		Modality:              s.Modality,
		StartedAt:             *s.StartedAt,
		FacilitatorID:         s.FacilitatorID,
		AttendeeCount:         count,
	}
}

// Conclude concludes a started group at concludedAt (zero: now): the
// facilitator's action. It needs cl.group.virtual.conclude, and publishes
// cl_virtual_group_concluded with the documented duration ([BillableMinutes]:
// start to conclusion less interruptions from the failure log), the count
// of present attendees and the
// jurisdiction profile's modifier suggestions for the session's remote
// lines; the result also holds the suggestion for each present attendee's
// charge line (PM-07 creates charges; this only suggests).
//
// Concluding again with the same correlation id returns the same
// conclusion and publishes nothing; a session never started is
// ErrNotStarted, one concluded under another correlation id
// ErrAlreadyConcluded.
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

func (c *Client) conclude(ctx context.Context, tx pgx.Tx, actingUser, org, session, correlation uuid.UUID, concludedAt time.Time) (*Conclusion, error) {
	if err := validate.First(validate.Required("OrganizationID", org), validate.Required("SessionID", session)); err != nil {
		return nil, err
	}
	if concludedAt.IsZero() {
		concludedAt = c.now()
	}
	if concludedAt.After(c.now().Add(time.Minute)) {
		return nil, validate.Errorf("ConcludedAt", "is in the future")
	}
	var out *Conclusion
	err := dbtx.In(ctx, c.db, tx, actingUser, func(tx pgx.Tx) error {
		if err := require(ctx, tx, org, PermissionConclude); err != nil {
			return err
		}
		s, err := get(ctx, tx, getLockedSQL, org, session)
		if err != nil {
			return err
		}
		attendees, err := listAttendees(ctx, tx, org, session)
		if err != nil {
			return err
		}
		failures, err := listFailures(ctx, tx, org, session)
		if err != nil {
			return err
		}
		switch s.State {
		case Scheduled:
			return ErrNotStarted
		case Concluded:
			if correlation != uuid.Nil && s.ConcludeCorrelationID != nil && *s.ConcludeCorrelationID == correlation {
				out, err = c.conclusion(s, attendees, failures, correlation)
				return err // a retry of the same conclusion
			}
			return ErrAlreadyConcluded
		}
		if !concludedAt.After(*s.StartedAt) {
			return validate.Errorf("ConcludedAt", "must be after the start")
		}
		var at time.Time
		if err := tx.QueryRow(ctx, concludeSQL, pgx.NamedArgs{"organization_id": org, "session_id": session,
			"correlation_id": uuidOrNil(correlation), "concluded_at": concludedAt}).Scan(&at); err != nil {
			return dbtx.MapError(err)
		}
		s.ConcludedAt = &at
		if out, err = c.conclusion(s, attendees, failures, correlation); err != nil {
			return err
		}
		_, err = c.publisher.PublishTx(ctx, tx, out.Event, nil)
		return err
	})
	return out, err
}

// conclusion computes the event and the per-attendee suggestions of a
// concluded session; a retry computes the same.
func (c *Client) conclusion(s *sessionRow, attendees []Attendee, failures []Failure, correlation uuid.UUID) (*Conclusion, error) {
	code := billing.Default.Code
	if s.JurisdictionProfile != nil {
		code = *s.JurisdictionProfile
	}
	profile := c.profiles[code]
	if profile == nil {
		return nil, validate.Errorf("JurisdictionProfile", "is not a profile this client knows")
	}
	day := *s.StartedAt
	out := &Conclusion{}
	present := 0
	for _, a := range attendees {
		if a.Status != string(Present) {
			continue
		}
		present++
		out.Attendees = append(out.Attendees, AttendeeSuggestion{
			AttendanceID: a.AttendanceID, ChartID: a.ChartID,
			Suggestion: profile.Suggest(billing.Service{Date: day, Group: true, Delivery: delivery(a.Mode), PatientAtHome: a.AtHome}),
		})
	}
	// The session's suggestion is that of its remote lines: a video
	// attendee of this group (in a hybrid group, in-person lines differ and
	// are in Attendees).
	session := profile.Suggest(billing.Service{Date: day, Group: true, Delivery: billing.Video})
	mods := make(events.Codes, 0, len(session.Modifiers))
	for _, m := range session.Modifiers {
		mods = append(mods, events.Code(m))
	}
	profileID := profile.ID
	out.Event = &events.VirtualGroupConcluded{
		Header:                events.Header{OrganizationID: s.OrganizationID, Timestamp: *s.ConcludedAt, CorrelationID: uuidOrNil(correlation)},
		SessionID:             s.SessionID,
		PMTelehealthSessionID: s.PMTelehealthSessionID,
		Modality:              s.Modality,
		ConcludedAt:           *s.ConcludedAt,
		DurationMinutes:       BillableMinutes(*s.StartedAt, *s.ConcludedAt, failures),
		ParticipantCount:      present,
		ModifierSuggestions:   mods,
		JurisdictionProfileID: &profileID,
	}
	return out, nil
}

func delivery(m Mode) billing.Delivery {
	switch m {
	case Video:
		return billing.Video
	case AudioOnly:
		return billing.AudioOnly
	}
	return billing.InPerson
}

func uuidOrNil(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}
