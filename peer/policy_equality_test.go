package peer_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/testdb"
	"github.com/encoreos/platform-go/peer"
)

// The lists check the seed's policy once per query instead of once per
// row: on randomized data (charts Part 2 or not at several sites and none;
// readers with organization-wide roles and with roles at one site only;
// consents to a reader or to the organization, for treatment or for
// payment only (no accounting opens those for a read), some revoked, some
// expired, some not yet in force; emergency accesses current and past;
// encounters by several peers over the charts) every reader's walk of
// ListByProvider and ListByChart returns exactly the rows plain SQL returns
// through the per-row policy, after the same accounting; and the one rule
// over a set of charts, cl_sud_consent_charts, gives for every chart the
// answer of the seed's rule as it stood before, one chart at a time
// (testdb.InstallSeedRef), with and without the committed accounting.
func TestListsGiveThePolicysAnswer(t *testing.T) {
	t.Parallel()
	rng := testdb.Rand(t)
	bb := setup(t)
	ctx := context.Background()
	sites := []uuid.UUID{bb.db.NewSite(t, bb.org), bb.db.NewSite(t, bb.org), bb.db.NewSite(t, bb.org)}
	// Roles that split the list's permission from clinical access, so that
	// a reader may see peer encounters organization-wide but charts only at
	// one site.
	bb.db.NewRole(t, "zz_peer_viewer", "test", "cl.peer.encounter.view")
	bb.db.NewRole(t, "zz_chart_viewer", "test", "cl.chart.view")
	peers := []uuid.UUID{bb.peer, bb.peer2, bb.db.NewMember(t, bb.org, "peer_specialist")}
	readers := append(slices.Clone(peers), bb.db.NewMember(t, bb.org, "clinician"), bb.db.NewMember(t, bb.org, "peer_supervisor"),
		bb.db.NewMember(t, bb.org, "hr_manager"), bb.db.NewMember(t, bb.org))
	readers = append(readers, testdb.SiteScopedReaders(t, bb.db, rng, bb.org, sites, 3, "zz_peer_viewer", "zz_chart_viewer")...)
	// A peer specialist at one site only.
	sitePeer := bb.db.NewMember(t, bb.org, "zz_peer_viewer")
	bb.db.AddSiteRole(t, bb.org, sitePeer, sites[0], "peer_specialist")
	readers = append(readers, sitePeer)
	charts := make([]uuid.UUID, 16)
	for i := range charts {
		charts[i] = testdb.RandomChart(t, bb.db, rng, bb.org, sites, 2)
		for _, reader := range readers {
			if rng.IntN(3) != 0 {
				continue
			}
			recipient := consent.Recipient{UserID: reader}
			if rng.IntN(6) == 0 {
				recipient = consent.Recipient{OrganizationID: bb.org}
			}
			purpose := consent.PurposeTreatment
			if rng.IntN(5) == 0 {
				purpose = consent.PurposePayment
			}
			switch rng.IntN(8) {
			case 0: // expired, or not yet in force
				from, to := "now() - interval '3 days'", "now() - interval '1 day'"
				if rng.IntN(2) == 0 {
					from, to = "now() + interval '1 day'", "now() + interval '3 days'"
				}
				bb.db.Exec(t, `INSERT INTO public.cl_part2_consents (organization_id, chart_id, disclosing_organization_id, recipient_user_id,
					record_types, purposes, effective_at, expires_at, signed_at, signer, recorded_by)
					VALUES ($1, $2, $1, $3, ARRAY['peer_encounter'], ARRAY[$4::text], `+from+`, `+to+`, now() - interval '4 days', 'patient', $5)`,
					bb.org, charts[i], reader, string(purpose), bb.officer)
				continue
			case 1: // an emergency access, current or past
				from, to := "now() - interval '1 hour'", "now() + interval '1 hour'"
				if rng.IntN(2) == 0 {
					from, to = "now() - interval '3 hours'", "now() - interval '1 hour'"
				}
				bb.db.Exec(t, `INSERT INTO public.cl_part2_emergency_access (organization_id, chart_id, user_id, reason, started_at, expires_at)
					VALUES ($1, $2, $3, 'overdose in the waiting room', `+from+`, `+to+`)`, bb.org, charts[i], reader)
				continue
			}
			c, err := bb.consent.Grant(ctx, bb.officer, consent.GrantParams{
				OrganizationID: bb.org, ChartID: charts[i], Recipient: recipient,
				RecordTypes: []consent.RecordType{consent.RecordPeerEncounter}, Purposes: []consent.Purpose{purpose},
				ExpirationEvent: "end_of_treatment", SignedAt: time.Now(), Signer: consent.SignerPatient,
			})
			require.NoError(t, err)
			if rng.IntN(4) == 0 {
				_, err = bb.consent.Revoke(ctx, bb.officer, bb.org, c.ID)
				require.NoError(t, err)
			}
		}
	}
	// Encounters: 300, each by a random peer on a random chart, on random days.
	bb.db.Exec(t, `INSERT INTO public.cl_peer_encounters (organization_id, chart_id, peer_provider_id, service_date, start_time, end_time,
		duration_minutes, service_type, service_type_source, hcpcs_code, focus_notes, created_by, updated_by)
		SELECT $1::uuid, c, p, d::date, d, d + interval '45 minutes', 45, 'peer_support', 'pf15', 'H0038', 'notes', p, p
		FROM (SELECT pg_catalog.now() - (x.r % 40) * interval '1 day' - interval '3 hours' AS d, x.c, x.p
		      FROM ROWS FROM (pg_catalog.unnest($2::uuid[]), pg_catalog.unnest($3::uuid[]), pg_catalog.unnest($4::int[])) AS x(c, p, r)) s`,
		bb.org, pick(rng, charts, 300), pick(rng, peers, 300), randInts(rng, 300))

	var shown, hidden int // controls: the data shows some rows and hides others
	for _, reader := range readers {
		// Half the readers' charts accounted for beforehand; the others'
		// lists write their pages' lines and read again (plain SQL, asked
		// after each walk, sees what those lines opened).
		if rng.IntN(2) == 0 {
			require.NoError(t, testdb.ExecCommitted(ctx, bb.db.App, reader,
				`SELECT public.cl_part2_disclosed($1, $2::uuid[], 'peer_encounter', 'TREAT', 'display')`, bb.org, charts))
		}
		policy := func(column string, owner uuid.UUID) []uuid.UUID {
			var ids []uuid.UUID
			require.NoError(t, dbtx.Run(ctx, bb.db.App, reader, func(tx pgx.Tx) error {
				rows, _ := tx.Query(ctx, `SELECT id FROM public.cl_peer_encounters WHERE organization_id = $1 AND `+column+` = $2`, bb.org, owner)
				var err error
				ids, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
				return err
			}))
			slices.SortFunc(ids, uuidCompare)
			return ids
		}
		walk := func(list func(peer.ListParams) (*peer.Page, error)) []uuid.UUID {
			ids := []uuid.UUID{}
			p := peer.ListParams{Limit: 1 + rng.IntN(20)}
			for {
				page, err := list(p)
				require.NoError(t, err)
				for _, e := range page.Encounters {
					ids = append(ids, e.ID)
				}
				if page.Next == "" {
					break
				}
				p.After = page.Next
			}
			slices.SortFunc(ids, uuidCompare)
			return ids
		}
		for _, p := range peers {
			got := walk(func(lp peer.ListParams) (*peer.Page, error) {
				return bb.client.ListByProvider(ctx, reader, bb.org, p, lp)
			})
			require.Equal(t, policy("peer_provider_id", p), got, "reader %s, provider %s", reader, p)
		}
		for _, c := range charts {
			got := walk(func(lp peer.ListParams) (*peer.Page, error) {
				return bb.client.ListByChart(ctx, reader, bb.org, c, lp)
			})
			want := policy("chart_id", c)
			require.Equal(t, want, got, "reader %s, chart %s", reader, c)
			var all int
			require.NoError(t, bb.db.Admin.QueryRow(ctx, `SELECT pg_catalog.count(*) FROM public.cl_peer_encounters
				WHERE organization_id = $1 AND chart_id = $2`, bb.org, c).Scan(&all))
			shown += len(want)
			hidden += all - len(want)
		}
	}
	require.Positive(t, shown)
	require.Positive(t, hidden)

	// The one rule over the set of charts against the seed's rule, one
	// chart at a time, for every reader, with and without the accounting
	// (committed above for the charts the readers could be disclosed).
	testdb.InstallSeedRef(t, bb.db)
	var open, closed int
	for _, reader := range readers {
		require.NoError(t, pgx.BeginFunc(ctx, bb.db.Admin, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_catalog.set_config('request.jwt.claim.sub', $1, true)`, reader.String()); err != nil {
				return err
			}
			for _, opened := range []bool{false, true} {
				var set []uuid.UUID
				rows, _ := tx.Query(ctx, `SELECT pg_catalog.unnest(public.cl_sud_consent_charts($1, $2, 'peer_encounter', $3))`, bb.org, charts, opened)
				set, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
				if err != nil {
					return err
				}
				rows, _ = tx.Query(ctx, `SELECT c FROM pg_catalog.unnest($2::uuid[]) c
					WHERE seedref.cl_check_sud_consent(c, 'peer_encounter', $3)
					  AND (NOT $4 OR seedref.cl_part2_opened($1, c, 'peer_encounter'))`, bb.org, charts, reader, opened)
				one, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
				if err != nil {
					return err
				}
				slices.SortFunc(set, uuidCompare)
				slices.SortFunc(one, uuidCompare)
				require.Equal(t, one, set, "reader %s, opened %v", reader, opened)
				open += len(one)
				closed += len(charts) - len(one)
			}
			return nil
		}))
	}
	require.Positive(t, open)
	require.Positive(t, closed)
}

func pick(rng *rand.Rand, from []uuid.UUID, n int) []uuid.UUID {
	out := make([]uuid.UUID, n)
	for i := range out {
		out[i] = from[rng.IntN(len(from))]
	}
	return out
}

func randInts(rng *rand.Rand, n int) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = rng.Int32N(1000)
	}
	return out
}

func uuidCompare(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) }
