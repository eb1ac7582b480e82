package consent_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/internal/dbtx"
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

// TestManyChartsAccountAsEachAlone: the accounting's answer about a chart
// (cl_part2_account: open, or owing a line) is the same asked about the
// chart alone (a probe per chart) and among many (one probe for all), on
// randomized data: charts Part 2 or not, at a site or none; readers
// organization-wide and at one site; consents to a reader or to the
// organization, in force, revoked and for payment only, and an emergency
// access; committed lines for a display, a
// save and an export (which stands for nothing after its transaction),
// some older than the reuse, some followed by a consent granted since;
// and lines this transaction wrote itself, which open nothing.
func TestManyChartsAccountAsEachAlone(t *testing.T) {
	t.Parallel()
	rng := testdb.Rand(t)
	b := setup(t)
	ctx := context.Background()
	sites := []uuid.UUID{b.db.NewSite(t, b.org), b.db.NewSite(t, b.org)}
	readers := append([]uuid.UUID{b.clinician, b.peer, b.manager},
		testdb.SiteScopedReaders(t, b.db, rng, b.org, sites, 2, "", "clinician")...)
	charts := []uuid.UUID{b.part2, b.plain}
	// Enough Part 2 charts that a reader's are many (one probe for all of
	// them from eight on).
	for range 40 {
		chart := testdb.RandomChart(t, b.db, rng, b.org, sites, 2)
		// uuid.Nil: a consent naming the organization, which covers its
		// active members.
		testdb.RandomConsents(t, b.db, rng, b.org, chart, b.manager, []string{"peer_encounter"}, 1,
			append([]uuid.UUID{uuid.Nil}, readers...)...)
		charts = append(charts, chart)
	}
	some := func(in4 int) []uuid.UUID { // about in4 of every 4 charts
		var out []uuid.UUID
		for _, chart := range charts {
			if rng.IntN(4) < in4 {
				out = append(out, chart)
			}
		}
		return out
	}
	const account = `SELECT public.cl_part2_disclosed($1, $2, 'peer_encounter', 'TREAT', $3)`
	accountAs := func(reader uuid.UUID, charts []uuid.UUID, use string) {
		require.NoError(t, dbtx.Run(ctx, b.db.App, reader, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, account, b.org, charts, use)
			return err
		}))
	}
	// Audit rows as superuser maintenance (the log refuses changes).
	backdate := func(which string) {
		require.NoError(t, pgx.BeginFunc(ctx, b.db.Admin, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `UPDATE public.pf_audit_logs SET occurred_at = occurred_at - interval '10 minutes'
				WHERE organization_id = $1 AND `+which, b.org)
			return err
		}))
	}
	// The consents' decisions long before the lines; a quarter of the
	// lines older than the reuse; an emergency access, and its line.
	backdate("true")
	backdate("true")
	for _, reader := range readers {
		for _, use := range []string{"display", "save", "export"} {
			accountAs(reader, some(3), use)
		}
	}
	backdate("action = 'part2.record.disclosed' AND pg_catalog.hashtext(id::text) % 4 = 0")
	_, err := b.store.BreakGlass(ctx, b.clinician, consent.BreakGlassParams{ChartID: b.part2, Reason: "seizure in the waiting room"})
	require.NoError(t, err)
	accountAs(b.clinician, []uuid.UUID{b.part2}, "display")
	// Consents granted since the lines, to some charts (not the one of
	// the emergency access, charts[0]).
	for range 3 {
		testdb.RandomConsents(t, b.db, rng, b.org, charts[1+rng.IntN(len(charts)-1)], b.manager, []string{"peer_encounter"}, 1,
			readers[rng.IntN(len(readers))])
	}
	seen := map[string]int{}
	for _, reader := range readers {
		for _, use := range []string{"display", "save", "export"} {
			// As the superuser with the reader's claims: cl_part2_account is
			// not the client's to call (the lines above were written as the
			// reader, through the client's door).
			tx, err := b.db.Admin.Begin(ctx)
			require.NoError(t, err)
			t.Cleanup(func() { _ = tx.Rollback(context.WithoutCancel(ctx)) })
			_, err = tx.Exec(ctx, `SELECT pg_catalog.set_config('request.jwt.claim.sub', $1, true)`, reader.String())
			require.NoError(t, err)
			_, err = tx.Exec(ctx, account, b.org, some(2), use) // this transaction's own lines
			require.NoError(t, err)
			for _, chart := range charts {
				var part2, aloneOpen, alonePending, amongOpen, amongPending bool
				require.NoError(t, tx.QueryRow(ctx, `
					SELECT coalesce((SELECT c.is_part2 FROM public.cl_charts c WHERE c.id = $3), false),
					       $3 = ANY (a.open_charts), $3 = ANY (a.pending_charts), $3 = ANY (s.open_charts), $3 = ANY (s.pending_charts)
					FROM public.cl_part2_account($1, ARRAY[$3::uuid], 'peer_encounter', 'TREAT', $4, false) a,
					     public.cl_part2_account($1, $2, 'peer_encounter', 'TREAT', $4, false) s`,
					b.org, charts, chart, use).Scan(&part2, &aloneOpen, &alonePending, &amongOpen, &amongPending))
				require.Equal(t, []bool{aloneOpen, alonePending}, []bool{amongOpen, amongPending},
					"reader %s, chart %s, %s: open and owing, alone and among many", reader, chart, use)
				switch {
				case part2 && aloneOpen && chart == b.part2 && reader == b.clinician && use == "display":
					seen["a Part 2 chart open under an emergency access's line"]++
				case part2 && aloneOpen:
					seen["a Part 2 chart open under a committed line"]++
				case part2 && alonePending:
					seen["a Part 2 chart owing a line"]++
				}
			}
			require.NoError(t, tx.Rollback(ctx))
		}
	}
	require.Len(t, seen, 3, "the data did not test every answer: %v", seen)
}
