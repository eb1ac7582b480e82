package peer_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/peer"
)

// BenchmarkCreateFinalizeThroughput: peer specialists creating and
// finalizing encounters from 1, 4 and 16 goroutines (each its own peer
// and chart), through the library, against the same writes without
// security as the superuser (insert the draft; then in one transaction
// finalize it and insert its event), in alternating phases of the same
// number of operations. Reports each side's median operations per second
// and the slowdown (bound/library).
func BenchmarkCreateFinalizeThroughput(b *testing.B) {
	for _, workers := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("goroutines=%d", workers), func(b *testing.B) {
			bb := setup(b)
			ctx := context.Background()
			appCfg := bb.db.AppConfig(b)
			appCfg.MaxConns = int32(workers + 2)
			app, err := pgxpool.NewWithConfig(ctx, appCfg)
			require.NoError(b, err)
			b.Cleanup(app.Close)
			adminCfg := bb.db.Admin.Config()
			adminCfg.MaxConns = int32(workers + 2)
			admin, err := pgxpool.NewWithConfig(ctx, adminCfg)
			require.NoError(b, err)
			b.Cleanup(admin.Close)
			client, err := peer.New(app, nil)
			require.NoError(b, err)
			peers, charts := make([]uuid.UUID, workers), make([]uuid.UUID, workers)
			for i := range workers {
				peers[i], charts[i] = bb.db.NewMember(b, bb.org, "peer_specialist"), bb.db.NewChart(b, bb.org, false)
			}
			perPhase := max(8, workers*4)
			phase := func(op func(w int)) float64 {
				var wg sync.WaitGroup
				start := time.Now()
				for w := range workers {
					wg.Go(func() {
						for range perPhase / workers {
							op(w)
						}
					})
				}
				wg.Wait()
				return float64(perPhase/workers*workers) / time.Since(start).Seconds()
			}
			library := func(w int) {
				f := bb.fields()
				f.PeerProviderID = peers[w]
				e, err := client.Create(ctx, peers[w], peer.CreateParams{OrganizationID: bb.org, ChartID: charts[w], Fields: f})
				require.NoError(b, err)
				_, err = client.Finalize(ctx, peers[w], bb.org, e.ID)
				require.NoError(b, err)
			}
			bound := func(w int) {
				var id uuid.UUID
				require.NoError(b, admin.QueryRow(ctx, `INSERT INTO public.cl_peer_encounters (organization_id, chart_id, peer_provider_id,
					service_date, start_time, end_time, duration_minutes, service_type, service_type_source, hcpcs_code, focus_notes,
					created_by, updated_by)
					VALUES ($1, $2, $3, current_date, now() - interval '2 hours', now() - interval '75 minutes', 45, 'peer_support', 'pf15',
					  'H0038', 'Discussed recovery goals.', $3, $3) RETURNING id`, bb.org, charts[w], peers[w]).Scan(&id))
				require.NoError(b, pgx.BeginFunc(ctx, admin, func(tx pgx.Tx) error {
					if _, err := tx.Exec(ctx, `UPDATE public.cl_peer_encounters SET status = 'finalized', finalized_by = $3, finalized_at = now()
						WHERE organization_id = $1 AND id = $2`, bb.org, id, peers[w]); err != nil {
						return err
					}
					_, err := tx.Exec(ctx, `INSERT INTO public.cl_pm_events (organization_id, id, event_type, aggregate_id, idempotency_key, envelope)
						VALUES ($1, gen_random_uuid(), 'peer_encounter_finalized', $2::uuid, 'peer_encounter_finalized:' || $2::uuid::text,
						  jsonb_build_object('id', gen_random_uuid(), 'data', jsonb_build_object('peer_encounter_id', $2::uuid)))`, bb.org, id)
					return err
				}))
			}
			var lib, plain []float64
			for b.Loop() {
				if len(lib)%2 == 0 {
					lib = append(lib, phase(library))
					plain = append(plain, phase(bound))
				} else {
					plain = append(plain, phase(bound))
					lib = append(lib, phase(library))
				}
			}
			median := func(s []float64) float64 { s = slices.Clone(s); slices.Sort(s); return s[len(s)/2] }
			b.ReportMetric(median(lib), "lib-ops/s")
			b.ReportMetric(median(plain), "bound-ops/s")
			b.ReportMetric(median(plain)/median(lib), "slowdown")
		})
	}
}
