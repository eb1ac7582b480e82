package telehealthgroup_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/telehealthgroup"
	"github.com/encoreos/platform-go/telehealthgroup/telehealthgrouptest"
)

func TestRecordingNeedsEveryPresentAttendeesGrant(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.configure(t, telehealthgroup.Virtual, "")
	one := b.attendee(t, b.db.NewChart(t, b.org, false), telehealthgroup.Video, true)
	two := b.attendee(t, b.db.NewChart(t, b.org, false), telehealthgroup.Video, false)
	gone := b.attendee(t, b.db.NewChart(t, b.org, false), telehealthgroup.Video, false)
	for _, a := range []*telehealthgroup.Attendee{one, two} {
		require.NoError(t, b.client.SetAttendance(ctx, b.facilitator, b.org, a.AttendanceID, telehealthgroup.Present, time.Now(), time.Time{}))
	}
	require.NoError(t, b.client.SetAttendance(ctx, b.facilitator, b.org, gone.AttendanceID, telehealthgroup.Absent, time.Time{}, time.Time{}))
	require.ErrorIs(t, b.client.StartRecording(ctx, b.facilitator, b.org, b.session), telehealthgroup.ErrNotStarted)
	_, err := b.client.Start(ctx, b.facilitator, b.org, b.session, uuid.New())
	require.NoError(t, err)
	require.ErrorIs(t, b.client.StartRecording(ctx, b.peer, b.org, b.session), telehealthgroup.ErrPermissionDenied)
	require.NoError(t, err)

	require.NoError(t, b.client.RecordConsent(ctx, b.facilitator, b.org, one.AttendanceID, telehealthgroup.Granted, telehealthgroup.Verbal))
	require.ErrorIs(t, b.client.StartRecording(ctx, b.facilitator, b.org, b.session), telehealthgroup.ErrRecordingNotConsented)
	require.NoError(t, b.client.RecordConsent(ctx, b.facilitator, b.org, two.AttendanceID, telehealthgroup.Declined, telehealthgroup.Electronic))
	require.ErrorIs(t, b.client.StartRecording(ctx, b.facilitator, b.org, b.session), telehealthgroup.ErrRecordingNotConsented)
	require.NoError(t, b.client.RecordConsent(ctx, b.facilitator, b.org, two.AttendanceID, telehealthgroup.Granted, telehealthgroup.Electronic))
	require.NoError(t, b.client.StartRecording(ctx, b.facilitator, b.org, b.session), "the absent attendee does not count")
	require.NoError(t, b.client.StopRecording(ctx, b.facilitator, b.org, b.session))
	require.NoError(t, b.client.RecordConsent(ctx, b.facilitator, b.org, one.AttendanceID, telehealthgroup.Withdrawn, telehealthgroup.Verbal))
	require.ErrorIs(t, b.client.StartRecording(ctx, b.facilitator, b.org, b.session), telehealthgroup.ErrRecordingNotConsented, "the latest decision counts")

	// A peer specialist may not capture consent.
	require.ErrorIs(t, b.client.RecordConsent(ctx, b.peer, b.org, one.AttendanceID, telehealthgroup.Granted, telehealthgroup.Verbal), telehealthgroup.ErrPermissionDenied)

	// The evidence is append-only, even for the facilitator who captured it,
	// and each decision left an audit row.
	for _, stmt := range []string{
		`UPDATE public.cl_group_recording_consents SET decision = 'granted' WHERE attendance_id = $1`,
		`DELETE FROM public.cl_group_recording_consents WHERE attendance_id = $1`,
	} {
		err := dbtx.Run(ctx, b.db.App, b.facilitator, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, stmt, one.AttendanceID); return err })
		require.True(t, dbtx.IsPermissionDenied(err), "%s: %v", stmt, err)
	}
	// The decision's time and number are the database's, whatever the
	// insert says.
	var captured time.Time
	var number int
	err = dbtx.Run(ctx, b.db.App, b.facilitator, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO public.cl_group_recording_consents (organization_id, session_id, attendance_id, decision, method,
			captured_by, captured_at, decision_no)
			VALUES ($1, $2, $3, 'granted', 'verbal', $4, '2099-01-01', 1) RETURNING captured_at, decision_no`,
			b.org, b.session, one.AttendanceID, b.facilitator).Scan(&captured, &number)
	})
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), captured, time.Minute)
	require.Equal(t, 3, number, "the attendee's third decision")
	var audits int
	require.NoError(t, b.db.Admin.QueryRow(ctx, `SELECT count(*) FROM public.pf_audit_logs WHERE action = 'cl.group.recording_consent.recorded'`).Scan(&audits))
	require.Equal(t, 5, audits)
}

func TestFailuresAreLoggedAndNotified(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	notifier := &telehealthgrouptest.Notifier{}
	client, err := telehealthgroup.New(b.db.App, &telehealthgroup.Config{Notifier: notifier})
	require.NoError(t, err)
	b.client = client
	b.configure(t, telehealthgroup.Virtual, "")
	now := time.Now()
	p := telehealthgroup.FailureParams{OrganizationID: b.org, SessionID: b.session, Kind: telehealthgroup.VideoOutage,
		StartedAt: now.Add(-10 * time.Minute), EndedAt: now.Add(-7 * time.Minute), AffectedParticipantCount: 6,
		ActionTaken: telehealthgroup.SwitchedToAudio}
	f, err := b.client.LogFailure(ctx, b.facilitator, p)
	require.NoError(t, err)
	require.Equal(t, []telehealthgroup.FailureNotice{{OrganizationID: b.org, SessionID: b.session, FailureID: f.ID,
		Kind: telehealthgroup.VideoOutage, ActionTaken: telehealthgroup.SwitchedToAudio, AffectedParticipantCount: 6,
		StartedAt: f.StartedAt, EndedAt: f.EndedAt}}, notifier.Notices(), "codes, counts and times only")

	notifier.Fail(errors.New("pager down"))
	_, err = b.client.LogFailure(ctx, b.facilitator, p)
	require.ErrorIs(t, err, telehealthgroup.ErrNotificationFailed)
	log, err := b.client.Failures(ctx, b.peer, b.org, b.session)
	require.NoError(t, err)
	require.Len(t, log, 2, "logged even when the notification failed")

	// Inside the caller's transaction nothing is notified: a rollback
	// leaves neither a log entry nor a notice; after a commit the caller
	// notifies.
	notifier.Fail(nil)
	notices := len(notifier.Notices())
	tx, err := b.db.App.Begin(ctx)
	require.NoError(t, err)
	_, err = b.client.LogFailureTx(ctx, tx, b.facilitator, p)
	require.NoError(t, err)
	require.NoError(t, tx.Rollback(ctx))
	log, err = b.client.Failures(ctx, b.peer, b.org, b.session)
	require.NoError(t, err)
	require.Len(t, log, 2)
	require.Len(t, notifier.Notices(), notices)
	tx, err = b.db.App.Begin(ctx)
	require.NoError(t, err)
	logged, err := b.client.LogFailureTx(ctx, tx, b.facilitator, p)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))
	require.NoError(t, b.client.Notify(ctx, logged))
	require.Len(t, notifier.Notices(), notices+1)

	bad := p
	bad.EndedAt = bad.StartedAt
	_, err = b.client.LogFailure(ctx, b.facilitator, bad)
	require.ErrorIs(t, err, telehealthgroup.ErrInvalid)
	bad = p
	bad.Kind = "gremlins"
	_, err = b.client.LogFailure(ctx, b.facilitator, bad)
	require.ErrorIs(t, err, telehealthgroup.ErrInvalid)
	_, err = b.client.LogFailure(ctx, b.peer, p)
	require.ErrorIs(t, err, telehealthgroup.ErrPermissionDenied)
	err = dbtx.Run(ctx, b.db.App, b.facilitator, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM public.cl_group_technology_failures WHERE id = $1`, f.ID)
		return err
	})
	require.True(t, dbtx.IsPermissionDenied(err), "the log is append-only: %v", err)
}

// The billable minutes are the database's (cl_virtual_group_billable_minutes,
// read here as the event's duration): start to conclusion less the union of
// the interruptions, clipped to the session.
func TestBillableMinutes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	start := time.Now().Add(-3 * time.Hour).Truncate(time.Minute)
	at := func(m int) time.Time { return start.Add(time.Duration(m) * time.Minute) }
	type failure struct {
		kind     telehealthgroup.FailureKind
		action   telehealthgroup.Action
		from, to int
	}
	cases := map[string]struct {
		failures []failure
		want     int
	}{
		"no failures":                  {nil, 90},
		"video lost, went on by audio": {[]failure{{telehealthgroup.VideoOutage, telehealthgroup.SwitchedToAudio, 10, 25}}, 90},
		"one participant dropped":      {[]failure{{telehealthgroup.ParticipantConnection, telehealthgroup.Reconnected, 10, 25}}, 90},
		"platform down 15 minutes":     {[]failure{{telehealthgroup.PlatformOutage, telehealthgroup.Reconnected, 10, 25}}, 75},
		"overlapping interruptions": {[]failure{{telehealthgroup.PlatformOutage, telehealthgroup.Reconnected, 10, 25},
			{telehealthgroup.VideoOutage, telehealthgroup.EndedSession, 20, 30}}, 70},
		"clipped to the session": {[]failure{{telehealthgroup.PlatformOutage, telehealthgroup.Continued, -30, 5},
			{telehealthgroup.OtherFailure, telehealthgroup.Rescheduled, 80, 100}}, 75},
		"all of it": {[]failure{{telehealthgroup.PlatformOutage, telehealthgroup.EndedSession, -1, 91}}, 0},
	}
	for name, tc := range cases {
		// A session the host concluded by its own maintenance, with its log.
		var session uuid.UUID
		require.NoError(t, b.db.Admin.QueryRow(ctx, `INSERT INTO public.cl_group_sessions
			(organization_id, facilitator_id, service_type, scheduled_start, scheduled_end)
			VALUES ($1, $2, 'group_therapy', $3, $4) RETURNING id`, b.org, b.facilitator, at(0), at(90)).Scan(&session))
		b.db.Exec(t, `INSERT INTO public.cl_group_session_telehealth_metadata (organization_id, session_id, modality, state,
			started_at, concluded_at, updated_by) VALUES ($1, $2, 'virtual', 'concluded', $3, $4, $5)`, b.org, session, at(0), at(90), b.facilitator)
		for _, f := range tc.failures {
			b.db.Exec(t, `INSERT INTO public.cl_group_technology_failures (organization_id, session_id, kind, started_at, ended_at,
				affected_participant_count, action_taken, recorded_by) VALUES ($1, $2, $3, $4, $5, 1, $6, $7)`,
				b.org, session, f.kind, at(f.from), at(f.to), f.action, b.facilitator)
		}
		var minutes int
		require.NoError(t, dbtx.Run(ctx, b.db.App, b.facilitator, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT (public.cl_virtual_group_concluded_data($1, $2)->>'duration_minutes')::int`, b.org, session).Scan(&minutes)
		}))
		require.Equal(t, tc.want, minutes, name)
	}
}
