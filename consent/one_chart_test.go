package consent_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/internal/testdb"
)

// TestOneChartFormsGiveTheSetsAnswer: the chart rule's one-chart form
// (cl_chart_clinical, which row policies reach) answers as its set form
// (cl_charts_clinical, which lists ask) about every chart, and the Part 2
// rule about one chart (cl_sud_consent_charts' one-chart path) as about a
// set that holds it, on randomized data: charts Part 2 or not, at one of
// three sites or none; one chart id held by a second organization too; a
// chart of another organization; an id of no chart; readers with
// organization-wide clinical roles, with clinical roles at one site only,
// with none, and another organization's member; consents in force,
// revoked and expired. The accounting of one chart (cl_part2_disclosed's
// one-chart path) writes what the accounting of a set writes for it.
func TestOneChartFormsGiveTheSetsAnswer(t *testing.T) {
	t.Parallel()
	rng := testdb.Rand(t)
	b := setup(t)
	ctx := context.Background()
	other := b.db.NewOrg(t)
	sites := []uuid.UUID{b.db.NewSite(t, b.org), b.db.NewSite(t, b.org), b.db.NewSite(t, b.org)}
	readers := []uuid.UUID{b.clinician, b.peer, b.manager, b.db.NewMember(t, b.org), b.db.NewMember(t, other, "clinician")}
	readers = append(readers, testdb.SiteScopedReaders(t, b.db, rng, b.org, sites, 3, "", "clinician")...)
	charts := []uuid.UUID{b.part2, b.plain, b.db.NewChart(t, other, true), uuid.New()}
	for range 12 {
		chart := testdb.RandomChart(t, b.db, rng, b.org, sites, 2)
		testdb.RandomConsents(t, b.db, rng, b.org, chart, b.manager, []string{"peer_encounter"}, 2, readers...)
		charts = append(charts, chart)
	}
	// One id in two organizations.
	b.db.Exec(t, `INSERT INTO public.cl_charts (organization_id, id, is_part2) VALUES ($1, $2, false)`, other, charts[len(charts)-1])

	lines := 0 // accounting lines written, to know the comparison saw some
	for _, reader := range readers {
		// As the superuser with the reader's claims: neither function is
		// the client's to call.
		tx, err := b.db.Admin.Begin(ctx)
		require.NoError(t, err)
		t.Cleanup(func() { _ = tx.Rollback(context.WithoutCancel(ctx)) })
		_, err = tx.Exec(ctx, `SELECT pg_catalog.set_config('request.jwt.claim.sub', $1, true)`, reader.String())
		require.NoError(t, err)
		for _, chart := range charts {
			var one, inSet *bool
			var found bool
			require.NoError(t, tx.QueryRow(ctx, `SELECT public.cl_chart_clinical($1, $2)`, b.org, chart).Scan(&one))
			err := tx.QueryRow(ctx, `SELECT k.is_part2 FROM public.cl_charts_clinical($1, $2) k WHERE k.chart_id = $3`,
				b.org, append([]uuid.UUID{b.plain, b.part2}, chart), chart).Scan(&inSet)
			if err == nil {
				found = true
			} else {
				require.ErrorIs(t, err, pgx.ErrNoRows)
			}
			require.Equal(t, found, one != nil, "reader %s, chart %s: clinical access", reader, chart)
			if found {
				require.Equal(t, *inSet, *one, "reader %s, chart %s: Part 2", reader, chart)
			}
			// The accounting of one chart alone and of the set that holds it
			// write the same line for it (each in a savepoint rolled back:
			// a line is written once per transaction).
			var alone, among int
			for i, set := range [][]uuid.UUID{{chart}, charts} {
				_, err := tx.Exec(ctx, `SAVEPOINT accounting`)
				require.NoError(t, err)
				_, err = tx.Exec(ctx, `SELECT public.cl_part2_disclosed($1, $2, 'peer_encounter', 'TREAT', 'display')`, b.org, set)
				require.NoError(t, err)
				require.NoError(t, tx.QueryRow(ctx, `SELECT count(*)::int FROM public.pf_audit_logs a WHERE a.organization_id = $1
					AND a.target_id = $2 AND a.action = 'part2.record.disclosed' AND a.transaction_id = pg_catalog.pg_current_xact_id()`,
					b.org, chart).Scan([]*int{&alone, &among}[i]))
				_, err = tx.Exec(ctx, `ROLLBACK TO SAVEPOINT accounting`)
				require.NoError(t, err)
			}
			require.Equal(t, among, alone, "reader %s, chart %s: the accounting", reader, chart)
			lines += alone
			for _, opened := range []bool{false, true} {
				var alone, among bool
				require.NoError(t, tx.QueryRow(ctx, `SELECT $3 = ANY (public.cl_sud_consent_charts($1, ARRAY[$3::uuid], 'peer_encounter', $4)),
					$3 = ANY (public.cl_sud_consent_charts($1, $2, 'peer_encounter', $4))`,
					b.org, charts, chart, opened).Scan(&alone, &among))
				require.Equal(t, among, alone, "reader %s, chart %s, opened %v: the Part 2 rule", reader, chart, opened)
			}
		}
		require.NoError(t, tx.Rollback(ctx))
	}
	require.NotZero(t, lines, "no reader was given a line: the data did not test the accounting")
}
