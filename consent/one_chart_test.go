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
// (cl_part2_account: open, or owing a line) and its basis (cl_part2_basis,
// also without a user) are the same asked about the chart alone (its
// one-chart form, cl_part2_chart_standing) and among many (one probe for
// all, cl_part2_bases), on randomized data. Record types asked: a peer
// encounter and a SUD counseling note (which only a consent naming it
// covers). Charts Part 2 or not, at a site or none; readers
// organization-wide and at one site; consents of one record type, of
// another and of all ('*'), to a reader, to the organization or to a
// partner organization (of which a reader is a member, and another was),
// in force, revoked and for payment only; an emergency access, and a
// consent and an emergency access to one chart; committed lines for a
// display, a save and an export (which stands for nothing after its
// transaction) and for a payment, some older than the reuse, some
// followed by a consent granted since; and lines this transaction wrote
// itself, which open nothing.
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
		// Record types: the one asked, all ('*', which covers no SUD
		// counseling note), another, a SUD counseling note; uuid.Nil: a
		// consent naming the organization, which covers its active members.
		types := [][]string{{"peer_encounter"}, {"peer_encounter"}, {"*"}, {"progress_note"}, {"sud_counseling_note"}}[rng.IntN(5)]
		testdb.RandomConsents(t, b.db, rng, b.org, chart, b.manager, types, 1, append([]uuid.UUID{uuid.Nil}, readers...)...)
		charts = append(charts, chart)
	}
	// Consents naming a partner organization, of which one reader is an
	// active member and another no longer is, to some charts.
	partner := b.db.NewOrg(t)
	b.db.AddMember(t, partner, readers[len(readers)-1])
	b.db.AddMember(t, partner, readers[len(readers)-2])
	b.db.Exec(t, `UPDATE public.pf_members SET status = 'inactive' WHERE organization_id = $1 AND user_id = $2`,
		partner, readers[len(readers)-2])
	for _, chart := range charts[2:] {
		if rng.IntN(3) == 0 {
			p := b.grantParams(uuid.Nil, consent.RecordPeerEncounter)
			p.ChartID, p.Recipient = chart, consent.Recipient{OrganizationID: partner}
			_, err := b.store.Grant(ctx, b.manager, p)
			require.NoError(t, err)
		}
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
	accountFor := func(reader uuid.UUID, charts []uuid.UUID, purpose, use string) {
		require.NoError(t, dbtx.Run(ctx, b.db.App, reader, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `SELECT public.cl_part2_disclosed($1, $2, 'peer_encounter', $3, $4)`, b.org, charts, purpose, use)
			return err
		}))
	}
	accountAs := func(reader uuid.UUID, charts []uuid.UUID, use string) { accountFor(reader, charts, "TREAT", use) }
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
		// Lines for a payment, which stand for no treatment.
		accountFor(reader, some(2), "HPAYMT", "display")
	}
	backdate("action = 'part2.record.disclosed' AND pg_catalog.hashtext(id::text) % 4 = 0")
	_, err := b.store.BreakGlass(ctx, b.clinician, consent.BreakGlassParams{ChartID: b.part2, Reason: "seizure in the waiting room"})
	require.NoError(t, err)
	accountAs(b.clinician, []uuid.UUID{b.part2}, "display")
	// A chart the clinician holds a consent and an emergency access to:
	// the consent is the basis (the emergency's line stands for nothing).
	both := b.db.NewChart(t, b.org, true)
	treatment := b.grantParams(b.clinician, consent.RecordPeerEncounter)
	treatment.ChartID = both
	_, err = b.store.Grant(ctx, b.manager, treatment)
	require.NoError(t, err)
	_, err = b.store.BreakGlass(ctx, b.clinician, consent.BreakGlassParams{ChartID: both, Reason: "overdose reversal in the lobby"})
	require.NoError(t, err)
	accountAs(b.clinician, []uuid.UUID{both}, "display")
	charts = append(charts, both)
	// Consents granted since the lines, to some charts (not the one of
	// the emergency access, charts[0]).
	for range 3 {
		testdb.RandomConsents(t, b.db, rng, b.org, charts[1+rng.IntN(len(charts)-1)], b.manager, []string{"peer_encounter"}, 1,
			readers[rng.IntN(len(readers))])
	}
	seen := map[string]int{}
	questions := []struct{ recordType, use string }{
		{"peer_encounter", "display"}, {"peer_encounter", "save"}, {"peer_encounter", "export"}, {"sud_counseling_note", "display"},
	}
	for _, reader := range readers {
		for _, q := range questions {
			// As the superuser with the reader's claims: cl_part2_account is
			// not the client's to call (the lines above were written as the
			// reader, through the client's door).
			tx, err := b.db.Admin.Begin(ctx)
			require.NoError(t, err)
			t.Cleanup(func() { _ = tx.Rollback(context.WithoutCancel(ctx)) })
			_, err = tx.Exec(ctx, `SELECT pg_catalog.set_config('request.jwt.claim.sub', $1, true)`, reader.String())
			require.NoError(t, err)
			_, err = tx.Exec(ctx, account, b.org, some(2), q.use) // this transaction's own lines
			require.NoError(t, err)
			for _, chart := range charts {
				var part2, aloneOpen, alonePending, amongOpen, amongPending bool
				require.NoError(t, tx.QueryRow(ctx, `
					SELECT coalesce((SELECT c.is_part2 FROM public.cl_charts c WHERE c.id = $3), false),
					       $3 = ANY (a.open_charts), $3 = ANY (a.pending_charts), $3 = ANY (s.open_charts), $3 = ANY (s.pending_charts)
					FROM public.cl_part2_account($1, ARRAY[$3::uuid], $5, 'TREAT', $4, false) a,
					     public.cl_part2_account($1, $2, $5, 'TREAT', $4, false) s`,
					b.org, charts, chart, q.use, q.recordType).Scan(&part2, &aloneOpen, &alonePending, &amongOpen, &amongPending))
				require.Equal(t, []bool{aloneOpen, alonePending}, []bool{amongOpen, amongPending},
					"reader %s, chart %s, %v: open and owing, alone and among many", reader, chart, q)
				switch {
				case part2 && aloneOpen && chart == b.part2 && reader == b.clinician && q.use == "display":
					seen["a Part 2 chart open under an emergency access's line"]++
				case part2 && aloneOpen:
					seen["a Part 2 chart open under a committed line"]++
				case part2 && alonePending:
					seen["a Part 2 chart owing a line"]++
				}
				// The basis alone (cl_part2_decide's question), and without a
				// user (a disclosure to the organization itself).
				for _, user := range []*uuid.UUID{&reader, nil} {
					var alone, among string
					require.NoError(t, tx.QueryRow(ctx, `
						SELECT public.cl_part2_basis($1, $3, $5, $6, pg_catalog.statement_timestamp(), 'TREAT', $4),
						       coalesce((SELECT k.basis FROM public.cl_part2_bases($1, $2, $5, $6, pg_catalog.statement_timestamp(), 'TREAT', $4) k
						                 WHERE k.chart_id = $3), 'denied')`,
						b.org, charts, chart, q.use, q.recordType, user).Scan(&alone, &among))
					require.Equal(t, among, alone, "user %v, chart %s, %v: the basis, alone and among many", user, chart, q)
					if user == nil && alone == "consent" {
						seen["a consent to the organization, without a user"]++
					}
				}
				if part2 && q.recordType == "sud_counseling_note" && alonePending {
					seen["a SUD counseling note under a consent naming it"]++
				}
			}
			require.NoError(t, tx.Rollback(ctx))
		}
	}
	require.Len(t, seen, 5, "the data did not test every answer: %v", seen)
}
