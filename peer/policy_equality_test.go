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
	"github.com/encoreos/platform-go/peer"
)

// The lists check the seed's policy once per chart instead of once per
// row: on randomized data (charts Part 2 or not, consents granted to some
// peers and to the organization, some revoked, encounters by several
// peers over the charts) every reader's walk of ListByProvider and
// ListByChart returns exactly the rows plain SQL returns through the
// per-row policy, after the same accounting.
func TestListsGiveThePolicysAnswer(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	bb := setup(t)
	ctx := context.Background()
	peers := []uuid.UUID{bb.peer, bb.peer2, bb.db.NewMember(t, bb.org, "peer_specialist")}
	readers := append(slices.Clone(peers), bb.db.NewMember(t, bb.org, "clinician"), bb.db.NewMember(t, bb.org, "peer_supervisor"),
		bb.db.NewMember(t, bb.org, "hr_manager"), bb.db.NewMember(t, bb.org))
	charts := make([]uuid.UUID, 12)
	for i := range charts {
		charts[i] = bb.db.NewChart(t, bb.org, rng.IntN(2) == 0)
		for _, reader := range readers {
			if rng.IntN(3) != 0 {
				continue
			}
			c, err := bb.consent.Grant(ctx, bb.officer, consent.GrantParams{
				OrganizationID: bb.org, ChartID: charts[i], Recipient: consent.Recipient{UserID: reader},
				RecordTypes: []consent.RecordType{consent.RecordPeerEncounter}, Purposes: []consent.Purpose{consent.PurposeTreatment},
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
		require.NoError(t, dbtx.ExecCommitted(ctx, bb.db.App, reader,
			`SELECT public.cl_part2_disclosed($1, $2::uuid[], 'peer_encounter', 'TREAT', 'display')`, bb.org, charts))
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
			require.Equal(t, policy("peer_provider_id", p), walk(func(lp peer.ListParams) (*peer.Page, error) {
				return bb.client.ListByProvider(ctx, reader, bb.org, p, lp)
			}), "reader %s, provider %s", reader, p)
		}
		for _, c := range charts {
			want := policy("chart_id", c)
			require.Equal(t, want, walk(func(lp peer.ListParams) (*peer.Page, error) {
				return bb.client.ListByChart(ctx, reader, bb.org, c, lp)
			}), "reader %s, chart %s", reader, c)
			var all int
			require.NoError(t, bb.db.Admin.QueryRow(ctx, `SELECT pg_catalog.count(*) FROM public.cl_peer_encounters
				WHERE organization_id = $1 AND chart_id = $2`, bb.org, c).Scan(&all))
			shown += len(want)
			hidden += all - len(want)
		}
	}
	require.Positive(t, shown)
	require.Positive(t, hidden)
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
