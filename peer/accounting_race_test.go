package peer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/testdb"
	"github.com/encoreos/platform-go/peer"
)

// A provider's page that stopped at a chart owing a line is read again,
// though the line was written meanwhile by another call of the same user
// (a red-team finding: the walk, which writes the owed lines at its end,
// then wrote nothing, and the library returned the page cut short, its
// Next empty, as if the list had ended).
func TestAProviderPageCutShortIsReadAgain(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	site1, site2 := b.db.NewSite(t, b.org), b.db.NewSite(t, b.org)
	b.db.NewRole(t, "zz_peer_viewer", "test", "cl.peer.encounter.view")
	reader := b.db.NewMember(t, b.org, "zz_peer_viewer")
	b.db.AddSiteRole(t, b.org, reader, site1, "peer_specialist")

	chart := func(part2 bool, site uuid.UUID) uuid.UUID {
		c := b.db.NewChart(t, b.org, part2)
		b.db.Exec(t, `UPDATE public.cl_charts SET site_id = $2 WHERE id = $1`, c, site)
		return c
	}
	x := chart(true, site1)  // Part 2, consent for reader: owes a line
	z := chart(false, site2) // not clinical for reader: skipped
	y := chart(true, site1)  // Part 2 without consent: makes chunk 2 ask about emergencies
	o := chart(false, site1) // open
	b.grant(t, reader, x)
	ins := func(c uuid.UUID, daysAgo, n int) {
		b.db.Exec(t, `INSERT INTO public.cl_peer_encounters (organization_id, chart_id, peer_provider_id, service_date, start_time, end_time,
			duration_minutes, service_type, service_type_source, hcpcs_code, focus_notes, created_by, updated_by)
			SELECT $1::uuid, $2::uuid, $3::uuid, d::date, d, d + interval '45 minutes', 45, 'peer_support', 'pf15', 'H0038', 'notes', $3, $3
			FROM (SELECT pg_catalog.now() - $4::int * interval '1 day' AS d FROM generate_series(1, $5::int)) s`,
			b.org, c, b.peer, daysAgo, n)
	}
	ins(x, 1, 1)
	ins(z, 2, 31)
	ins(y, 3, 1)
	ins(o, 4, 3)

	// Hold the emergency-access table so the walk pauses in chunk 2, after
	// it decided x pending in chunk 1.
	lockTx, err := b.db.Admin.Begin(ctx)
	require.NoError(t, err)
	defer lockTx.Rollback(ctx)
	_, err = lockTx.Exec(ctx, `LOCK TABLE public.cl_part2_emergency_access IN ACCESS EXCLUSIVE MODE`)
	require.NoError(t, err)

	type result struct {
		page *peer.Page
		err  error
	}
	done := make(chan result, 1)
	go func() {
		p, err := b.client.ListByProvider(ctx, reader, b.org, b.peer, peer.ListParams{Limit: 5})
		done <- result{p, err}
	}()
	require.Eventually(t, func() bool {
		var n int
		_ = b.db.Admin.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE NOT granted
			AND relation = 'public.cl_part2_emergency_access'::regclass`).Scan(&n)
		return n > 0
	}, 20*time.Second, 20*time.Millisecond)

	// The same user's other request accounts for x and commits.
	require.NoError(t, testdb.ExecCommitted(ctx, b.db.App, reader,
		`SELECT public.cl_part2_disclosed($1, ARRAY[$2::uuid], 'peer_encounter', 'TREAT', 'display')`, b.org, x))
	require.NoError(t, lockTx.Rollback(ctx))

	r := <-done
	require.NoError(t, r.err)
	// x's row and o's 3 rows are the page (y has no basis, z no clinical access).
	require.Len(t, r.page.Encounters, 4, "the page, not cut short; Next=%q", r.page.Next)
}

// Plain SQL that writes a chart's line and reads in one transaction (a
// join, a read function twice, a line written in the WHERE, a savepoint,
// the provider's page at its largest) sees nothing of it; once the line
// has committed, it does.
func TestAPart2ReadNeverSeesItsOwnTransactionsLine(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.grant(t, b.peer, b.part2)
	e := b.create(t, b.part2, b.fields())
	// Another reader, with no line yet.
	b.grant(t, b.peer2, b.part2)
	u := b.peer2
	probes := []string{
		`SELECT count(*)::int FROM (SELECT public.cl_part2_disclosed($1, ARRAY[$2::uuid], 'peer_encounter','TREAT','display')) d, public.cl_peer_encounter_get($1, $3)`,
		`SELECT (SELECT count(*)::int FROM public.cl_peer_encounter_get($1, $3)) + (SELECT count(*)::int FROM public.cl_peer_encounter_get($1, $3)) + (SELECT count(*)::int FROM public.cl_peer_encounters_by_chart($1, $2, '0001-01-01','9999-12-31','9999-12-31','ffffffff-ffff-ffff-ffff-ffffffffffff', 10))`,
		`SELECT count(*)::int FROM public.cl_peer_encounters WHERE organization_id = $1 AND chart_id = $2 AND public.cl_part2_disclosed($1, ARRAY[$2::uuid], 'peer_encounter','TREAT','display') >= 0 AND $3::uuid IS NOT NULL`,
		`SELECT count(*)::int FROM public.cl_peer_encounters_by_provider($1, (SELECT peer_provider_id FROM public.cl_peer_encounter_get($1, $3) LIMIT 1), '0001-01-01','9999-12-31','9999-12-31','ffffffff-ffff-ffff-ffff-ffffffffffff', 10001) WHERE $2::uuid IS NOT NULL`,
	}
	for i, q := range probes {
		var n int
		require.NoError(t, pgxRun(ctx, b, u, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT public.cl_part2_disclosed($1, ARRAY[$2::uuid], 'peer_encounter','TREAT','display')`, b.org, b.part2); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `SAVEPOINT s`); err != nil {
				return err
			}
			return tx.QueryRow(ctx, q, b.org, b.part2, e.ID).Scan(&n)
		}))
		require.Zero(t, n, "probe %d returned Part 2 rows without a committed line", i)
	}
	// Control: once a line has committed, the same read shows the row.
	require.NoError(t, testdb.ExecCommitted(ctx, b.db.App, u,
		`SELECT public.cl_part2_disclosed($1, ARRAY[$2::uuid], 'peer_encounter','TREAT','display')`, b.org, b.part2))
	var n int
	require.NoError(t, pgxRun(ctx, b, u, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*)::int FROM public.cl_peer_encounter_get($1, $2)`, b.org, e.ID).Scan(&n)
	}))
	require.Equal(t, 1, n, "control")
}

var errRollback = errors.New("rollback")

// pgxRun runs fn as actor in a transaction that is always rolled back.
func pgxRun(ctx context.Context, b *bundle, actor uuid.UUID, fn func(pgx.Tx) error) error {
	err := dbtx.Run(ctx, b.db.App, actor, func(tx pgx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return errRollback
	})
	if errors.Is(err, errRollback) {
		return nil
	}
	return err
}
