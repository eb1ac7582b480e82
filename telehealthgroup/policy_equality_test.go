package telehealthgroup_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/testdb"
	"github.com/encoreos/platform-go/telehealthgroup"
)

// The attendee list decides once per query (cl_group_attendees) what the
// attendance and mode policies decide per row: on randomized data (charts
// Part 2 or not at several sites and none, consents to a reader or to the
// organization, for treatment or for payment only, some revoked; readers
// with organization-wide and site-scoped roles) every reader's list is
// exactly the rows plain SQL returns through the policies, after the same
// committed accounting.
func TestAttendeesGiveThePolicysAnswer(t *testing.T) {
	t.Parallel()
	rng := testdb.Rand(t)
	b := setup(t)
	ctx := context.Background()
	b.configure(t, telehealthgroup.Hybrid, "")
	sites := []uuid.UUID{b.db.NewSite(t, b.org), b.db.NewSite(t, b.org)}
	b.db.NewRole(t, "zz_group_viewer", "test", "cl.group.view", "cl.group.virtual.view")
	b.db.NewRole(t, "zz_chart_viewer", "test", "cl.chart.view")
	readers := []uuid.UUID{b.facilitator, b.peer, b.officer, b.db.NewMember(t, b.org, "clinician"), b.db.NewMember(t, b.org)}
	readers = append(readers, testdb.SiteScopedReaders(t, b.db, rng, b.org, sites, 3, "zz_group_viewer", "zz_chart_viewer")...)
	charts := make([]uuid.UUID, 24)
	for i := range charts {
		charts[i] = testdb.RandomChart(t, b.db, rng, b.org, sites, 2)
		var id uuid.UUID
		require.NoError(t, b.db.Admin.QueryRow(ctx, `INSERT INTO public.cl_group_attendance (organization_id, session_id, chart_id, status)
			VALUES ($1, $2, $3, 'present') RETURNING id`, b.org, b.session, charts[i]).Scan(&id))
		mode := []string{"in_person", "video", "audio_only"}[rng.IntN(3)]
		b.db.Exec(t, `INSERT INTO public.cl_group_attendance_modes (organization_id, attendance_id, session_id, mode, at_home, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6)`, b.org, id, b.session, mode, mode == "video", b.facilitator)
		testdb.RandomConsents(t, b.db, rng, b.org, charts[i], b.officer, []string{"group_session", "virtual_group_participation"}, 3, append(readers, uuid.Nil)...)
	}
	var shown, hidden int
	for _, reader := range readers {
		require.NoError(t, testdb.ExecCommitted(ctx, b.db.App, reader, `SELECT public.cl_group_disclose($1, $2, NULL, 'display')`, b.org, b.session))
		var lib, policy []telehealthgroup.Attendee
		require.NoError(t, dbtx.Run(ctx, b.db.App, reader, func(tx pgx.Tx) error {
			rows, _ := tx.Query(ctx, `SELECT * FROM public.cl_group_attendees($1, $2)`, b.org, b.session)
			var err error
			if lib, err = pgx.CollectRows(rows, pgx.RowToStructByName[telehealthgroup.Attendee]); err != nil {
				return err
			}
			rows, _ = tx.Query(ctx, `SELECT a.id AS attendance_id, a.chart_id, a.status, m.mode, m.at_home, m.joined_at, m.left_at
				FROM public.cl_group_attendance a
				JOIN public.cl_group_attendance_modes m ON m.organization_id = a.organization_id AND m.attendance_id = a.id
				WHERE a.organization_id = $1 AND a.session_id = $2 AND m.organization_id = $1 AND m.session_id = $2
				ORDER BY a.id`, b.org, b.session)
			policy, err = pgx.CollectRows(rows, pgx.RowToStructByName[telehealthgroup.Attendee])
			return err
		}))
		require.Equal(t, policy, lib, "reader %s", reader)
		shown += len(lib)
		hidden += len(charts) - len(lib)
	}
	require.Positive(t, shown)
	require.Positive(t, hidden)
}
