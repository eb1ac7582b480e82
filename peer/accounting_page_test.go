package peer_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/testdb"
)

// On randomized data (charts at two sites and none, Part 2 or not, consents
// and emergency accesses, site-scoped readers, random page sizes and
// cursors), a provider page's first call, by plain SQL, returns exactly the
// rows of the page before the first row of a chart that owed a line, and
// writes lines for the charts on the page that owed one and no others; the
// second call writes nothing (a red team's test).
func TestAProviderPagesFirstCallIsItsPrefix(t *testing.T) {
	t.Parallel()
	rng := testdb.Rand(t)
	bb := setup(t)
	ctx := context.Background()
	sites := []uuid.UUID{bb.db.NewSite(t, bb.org), bb.db.NewSite(t, bb.org)}
	bb.db.NewRole(t, "page_peer_viewer", "test", "cl.peer.encounter.view")
	bb.db.NewRole(t, "page_chart_viewer", "test", "cl.chart.view")
	peers := []uuid.UUID{bb.peer, bb.peer2}
	readers := append(slices.Clone(peers), bb.db.NewMember(t, bb.org, "clinician"))
	readers = append(readers, testdb.SiteScopedReaders(t, bb.db, rng, bb.org, sites, 3, "page_peer_viewer", "page_chart_viewer")...)
	charts := make([]uuid.UUID, 24)
	for i := range charts {
		charts[i] = testdb.RandomChart(t, bb.db, rng, bb.org, sites, 2)
		for _, reader := range readers {
			switch rng.IntN(4) {
			case 0:
				_, err := bb.consent.Grant(ctx, bb.officer, consent.GrantParams{
					OrganizationID: bb.org, ChartID: charts[i], Recipient: consent.Recipient{UserID: reader},
					RecordTypes: []consent.RecordType{consent.RecordPeerEncounter}, Purposes: []consent.Purpose{consent.PurposeTreatment},
					ExpirationEvent: "end_of_treatment", SignedAt: time.Now(), Signer: consent.SignerPatient,
				})
				require.NoError(t, err)
			case 1:
				bb.db.Exec(t, `INSERT INTO public.cl_part2_emergency_access (organization_id, chart_id, user_id, reason, started_at, expires_at)
					VALUES ($1, $2, $3, 'overdose in the waiting room', now() - interval '1 hour', now() + interval '1 hour')`, bb.org, charts[i], reader)
			}
		}
	}
	bb.db.Exec(t, `INSERT INTO public.cl_peer_encounters (organization_id, chart_id, peer_provider_id, service_date, start_time, end_time,
		duration_minutes, service_type, service_type_source, hcpcs_code, focus_notes, created_by, updated_by)
		SELECT $1::uuid, c, p, d::date, d, d + interval '45 minutes', 45, 'peer_support', 'pf15', 'H0038', 'notes', p, p
		FROM (SELECT pg_catalog.now() - (x.r % 30) * interval '1 day' - interval '3 hours' AS d, x.c, x.p
		      FROM ROWS FROM (pg_catalog.unnest($2::uuid[]), pg_catalog.unnest($3::uuid[]), pg_catalog.unnest($4::int[])) AS x(c, p, r)) s`,
		bb.org, pick(rng, charts, 400), pick(rng, peers, 400), randInts(rng, 400))

	type row struct {
		ID    uuid.UUID
		Chart uuid.UUID
	}
	call := func(reader, provider uuid.UUID, limit int, afterDate string, afterID uuid.UUID) (out []row) {
		require.NoError(t, dbtx.Run(ctx, bb.db.App, reader, func(tx pgx.Tx) error {
			rows, _ := tx.Query(ctx, `SELECT id, chart_id FROM public.cl_peer_encounters_by_provider($1, $2, '0001-01-01', '9999-12-31', $3::date, $4, $5)`,
				bb.org, provider, afterDate, afterID, limit)
			var err error
			out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
				var x row
				return x, r.Scan(&x.ID, &x.Chart)
			})
			return err
		}))
		return out
	}
	linesSince := func(reader uuid.UUID, since time.Time) map[uuid.UUID]bool {
		rows, _ := bb.db.Admin.Query(ctx, `SELECT target_id FROM public.pf_audit_logs WHERE organization_id = $1
			AND action = 'part2.record.disclosed' AND actor_user_id = $2 AND occurred_at >= $3`, bb.org, reader, since)
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		require.NoError(t, err)
		m := map[uuid.UUID]bool{}
		for _, id := range ids {
			m[id] = true
		}
		return m
	}
	var stopped, checked int
	for _, reader := range readers {
		for _, provider := range peers {
			for iter := 0; iter < 4; iter++ {
				limit := []int{1, 2, 3, 5, 8, 33, 40}[rng.IntN(7)]
				afterDate, afterID := "9999-12-31", uuid.Max
				if rng.IntN(3) == 0 {
					var d time.Time
					require.NoError(t, bb.db.Admin.QueryRow(ctx, `SELECT service_date, id FROM public.cl_peer_encounters WHERE organization_id = $1
						AND peer_provider_id = $2 ORDER BY random() LIMIT 1`, bb.org, provider).Scan(&d, &afterID))
					afterDate = d.Format(time.DateOnly)
				}
				t0 := time.Now()
				r1 := call(reader, provider, limit, afterDate, afterID)
				l1 := linesSince(reader, t0)
				t1 := time.Now()
				r2 := call(reader, provider, limit, afterDate, afterID)
				l2 := linesSince(reader, t1)
				require.Empty(t, l2, "second call wrote lines")
				// r1 is r2 up to the first row of a chart in l1.
				cut := len(r2)
				for i, x := range r2 {
					if l1[x.Chart] {
						cut = i
						break
					}
				}
				require.Equal(t, r2[:cut], append([]row{}, r1...), "reader %s provider %s limit %d", reader, provider, limit)
				onPage := map[uuid.UUID]bool{}
				for _, x := range r2 {
					onPage[x.Chart] = true
				}
				for c := range l1 {
					require.True(t, onPage[c], "line written for a chart not on the page")
				}
				if cut < len(r2) {
					stopped++
				}
				checked++
			}
		}
	}
	t.Logf("checked %d, stopped %d", checked, stopped)
	require.Positive(t, stopped)
}
