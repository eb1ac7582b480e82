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
