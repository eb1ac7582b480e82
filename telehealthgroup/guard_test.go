package telehealthgroup_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/telehealthgroup"
)

// What the database refuses around a virtual group, whatever SQL a member
// writes: the group session's lifecycle columns, attendance by anyone but a
// manager (and so no consent probing through refusals), a Part 2 attendee
// without participation consent, and a present attendee without a
// recording grant while recording (a withdrawal stops the recording).
func TestTheDatabaseGuardsVirtualGroups(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.configure(t, telehealthgroup.Virtual, "")
	as := func(user uuid.UUID, stmt string, args ...any) error {
		return dbtx.Run(ctx, b.db.App, user, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, stmt, args...); return err })
	}
	err := as(b.peer, `INSERT INTO public.cl_group_sessions (organization_id, facilitator_id, service_type, scheduled_start, scheduled_end, pm_telehealth_session_id)
		VALUES ($1, $2, 'group_therapy', now(), now() + interval '1 hour', gen_random_uuid())`, b.org, b.facilitator)
	require.True(t, dbtx.IsCheckViolation(err), "the PM-13 reference is not the members': %v", err)
	err = as(b.facilitator, `UPDATE public.cl_group_sessions SET status = 'completed', ended_at = now() WHERE id = $1`, b.session)
	require.True(t, dbtx.IsPermissionDenied(err), "the lifecycle is Start's and Conclude's: %v", err)

	part2 := b.db.NewChart(t, b.org, true)
	plain := b.db.NewChart(t, b.org, false)
	err = as(b.peer, `INSERT INTO public.cl_group_attendance (organization_id, session_id, chart_id, status) VALUES ($1, $2, $3, 'present')`, b.org, b.session, plain)
	require.True(t, dbtx.IsPermissionDenied(err), "only managers handle a virtual group's attendance: %v", err)
	err = as(b.facilitator, `INSERT INTO public.cl_group_attendance (organization_id, session_id, chart_id, status) VALUES ($1, $2, $3, 'absent')`, b.org, b.session, part2)
	require.Error(t, err, "no consent to see the Part 2 attendee at all")

	// Recording: a late arrival without a grant cannot be made present, and a
	// withdrawal stops the recording.
	one := b.attendee(t, plain, telehealthgroup.Video, true)
	late := b.attendee(t, b.db.NewChart(t, b.org, false), telehealthgroup.Video, false)
	require.NoError(t, b.client.SetAttendance(ctx, b.facilitator, b.org, one.AttendanceID, telehealthgroup.Present, time.Now(), time.Time{}))
	require.NoError(t, b.client.SetAttendance(ctx, b.facilitator, b.org, late.AttendanceID, telehealthgroup.Absent, time.Time{}, time.Time{}))
	_, err = b.client.Start(ctx, b.facilitator, b.org, b.session, uuid.New())
	require.NoError(t, err)
	require.NoError(t, b.client.RecordConsent(ctx, b.facilitator, b.org, one.AttendanceID, telehealthgroup.Granted, telehealthgroup.Verbal))
	require.NoError(t, b.client.StartRecording(ctx, b.facilitator, b.org, b.session))
	err = b.client.SetAttendance(ctx, b.facilitator, b.org, late.AttendanceID, telehealthgroup.Present, time.Now(), time.Time{})
	require.True(t, dbtx.IsCheckViolation(err), "recording: a present attendee needs a grant: %v", err)
	require.NoError(t, b.client.RecordConsent(ctx, b.facilitator, b.org, one.AttendanceID, telehealthgroup.Withdrawn, telehealthgroup.Verbal))
	var recording string
	require.NoError(t, b.db.Admin.QueryRow(ctx, `SELECT recording_state FROM public.cl_group_session_telehealth_metadata WHERE session_id = $1`, b.session).Scan(&recording))
	require.Equal(t, "stopped", recording, "a withdrawal stops the recording")
}

// The virtual-group writes do not ask the database first: each is one
// statement the database refuses, and the refusal reaches the caller as the
// package's error (the one mapping, refusals), through the API and as raw
// SQL alike.
func TestTheDatabaseRefusesAndTheCallerLearnsWhy(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var field *telehealthgroup.ValidationError

	_, err := b.client.Configure(ctx, b.facilitator, telehealthgroup.ConfigureParams{OrganizationID: b.org, SessionID: b.session,
		Modality: telehealthgroup.Virtual, PMTelehealthSessionID: b.db.NewTelehealthSession(t, b.db.NewOrg(t))})
	require.ErrorAs(t, err, &field)
	require.Equal(t, "PMTelehealthSessionID", field.Field, "another organization's telehealth session")
	_, err = b.client.Configure(ctx, b.facilitator, telehealthgroup.ConfigureParams{OrganizationID: b.org, SessionID: uuid.New(),
		Modality: telehealthgroup.Virtual})
	require.ErrorAs(t, err, &field)
	require.Equal(t, "SessionID", field.Field)
	b.configure(t, telehealthgroup.Virtual, "")

	chart := b.db.NewChart(t, b.org, false)
	_, err = b.client.AddAttendee(ctx, b.facilitator, telehealthgroup.AttendeeParams{OrganizationID: b.org, SessionID: b.session,
		ChartID: chart, Mode: telehealthgroup.InPerson})
	require.ErrorAs(t, err, &field)
	require.Equal(t, "Mode", field.Field, "nobody attends a virtual group in person")
	a := b.attendee(t, chart, telehealthgroup.Video, true)
	_, err = b.client.AddAttendee(ctx, b.facilitator, telehealthgroup.AttendeeParams{OrganizationID: b.org, SessionID: b.session,
		ChartID: chart, Mode: telehealthgroup.Video})
	require.ErrorAs(t, err, &field)
	require.Equal(t, "ChartID", field.Field, "already an attendee")

	require.ErrorIs(t, b.client.SetAttendance(ctx, b.peer, b.org, a.AttendanceID, telehealthgroup.Present, time.Time{}, time.Time{}),
		telehealthgroup.ErrPermissionDenied, "a viewer may not manage attendance")
	require.ErrorIs(t, b.client.SetAttendance(ctx, b.facilitator, b.org, uuid.New(), telehealthgroup.Present, time.Time{}, time.Time{}),
		telehealthgroup.ErrNotFound)
	now := time.Now()
	failure := telehealthgroup.FailureParams{OrganizationID: b.org, SessionID: b.session, Kind: telehealthgroup.AudioOutage,
		StartedAt: now.Add(-3 * time.Minute), EndedAt: now.Add(-time.Minute), AffectedParticipantCount: 1, ActionTaken: telehealthgroup.Reconnected}
	_, err = b.client.LogFailure(ctx, b.peer, failure)
	require.ErrorIs(t, err, telehealthgroup.ErrPermissionDenied)

	_, err = b.client.Start(ctx, b.facilitator, b.org, b.session, uuid.New())
	require.NoError(t, err)
	_, err = b.client.Configure(ctx, b.facilitator, telehealthgroup.ConfigureParams{OrganizationID: b.org, SessionID: b.session,
		Modality: telehealthgroup.Hybrid})
	require.ErrorIs(t, err, telehealthgroup.ErrAlreadyStarted, "the modality is fixed at the start")
	require.NoError(t, b.client.SetAttendance(ctx, b.facilitator, b.org, a.AttendanceID, telehealthgroup.Present, now, time.Time{}))
	_, err = b.client.Conclude(ctx, b.facilitator, b.org, b.session, uuid.New(), time.Time{})
	require.NoError(t, err)

	// After the conclusion: every write is refused for the state, through
	// the API and as raw SQL by the same manager.
	require.ErrorIs(t, b.client.SetAttendance(ctx, b.facilitator, b.org, a.AttendanceID, telehealthgroup.Absent, time.Time{}, time.Time{}),
		telehealthgroup.ErrAlreadyConcluded)
	_, err = b.client.AddAttendee(ctx, b.facilitator, telehealthgroup.AttendeeParams{OrganizationID: b.org, SessionID: b.session,
		ChartID: b.db.NewChart(t, b.org, false), Mode: telehealthgroup.Video})
	require.ErrorIs(t, err, telehealthgroup.ErrAlreadyConcluded)
	_, err = b.client.LogFailure(ctx, b.facilitator, failure)
	require.ErrorIs(t, err, telehealthgroup.ErrAlreadyConcluded)
	for _, stmt := range []string{
		`UPDATE public.cl_group_attendance SET status = 'absent' WHERE organization_id = $1 AND session_id = $2`,
		`INSERT INTO public.cl_group_technology_failures (organization_id, session_id, kind, started_at, ended_at,
		   affected_participant_count, action_taken, recorded_by)
		 VALUES ($1, $2, 'other', now() - interval '2 minutes', now() - interval '1 minute', 0, 'continued', auth.uid())`,
		`UPDATE public.cl_group_session_telehealth_metadata SET vendor_session_ref = 'later1', updated_by = auth.uid()
		 WHERE organization_id = $1 AND session_id = $2`,
		`UPDATE public.cl_group_attendance_modes SET joined_at = now() - interval '10 hours', left_at = now(), updated_by = auth.uid()
		 WHERE organization_id = $1 AND session_id = $2`,
	} {
		err := dbtx.Run(ctx, b.db.App, b.facilitator, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, stmt, b.org, b.session)
			return err
		})
		require.True(t, dbtx.IsWrongState(err), "%s: %v", stmt, err)
	}
}

// Found by a review of the raw-SQL door: a virtual group keeps no attendee
// in the room, clinical times stay readable, and nobody learns a session's
// lifecycle from the guard's helper.
func TestTheReviewFindingsStayFixed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.configure(t, telehealthgroup.Hybrid, "")
	b.attendee(t, b.db.NewChart(t, b.org, false), telehealthgroup.InPerson, false)
	_, err := b.client.Configure(ctx, b.facilitator, telehealthgroup.ConfigureParams{OrganizationID: b.org, SessionID: b.session,
		Modality: telehealthgroup.Virtual})
	var field *telehealthgroup.ValidationError
	require.ErrorAs(t, err, &field, "a hybrid group with an attendee in the room does not become virtual")
	require.Equal(t, "Modality", field.Field)

	for _, stmt := range []string{
		`INSERT INTO public.cl_group_technology_failures (organization_id, session_id, kind, started_at, ended_at,
		   affected_participant_count, action_taken, recorded_by)
		 VALUES ($1, $2, 'other', '-infinity', now() - interval '1 minute', 0, 'continued', auth.uid())`,
		`UPDATE public.cl_group_attendance_modes SET joined_at = '-infinity', left_at = 'infinity', updated_by = auth.uid()
		 WHERE organization_id = $1 AND session_id = $2`,
	} {
		err := dbtx.Run(ctx, b.db.App, b.facilitator, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, stmt, b.org, b.session)
			return err
		})
		require.True(t, dbtx.IsCheckViolation(err), "%s: %v", stmt, err)
	}

	outsider := b.db.NewMember(t, b.db.NewOrg(t), "clinician")
	err = dbtx.Run(ctx, b.db.App, outsider, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SELECT public.cl_group_lifecycle_follows($1, $2, 'scheduled', NULL, NULL, NULL)`, b.org, b.session)
		return err
	})
	require.True(t, dbtx.IsPermissionDenied(err), "%v", err)
}
