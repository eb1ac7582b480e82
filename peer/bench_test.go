package peer_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/testdb"
	"github.com/encoreos/platform-go/peer"
)

// seedChart gives a Part 2 chart 10,000 encounters and the peer a consent
// to them.
func seedChart(b *testing.B) *bundle {
	bb := setup(b)
	bb.grant(b, bb.peer, bb.part2)
	bb.db.Exec(b, `INSERT INTO public.cl_peer_encounters (organization_id, chart_id, peer_provider_id, service_date, start_time, end_time,
		duration_minutes, service_type, service_type_source, hcpcs_code, focus_notes, created_by, updated_by)
		SELECT $1::uuid, $2::uuid, $3::uuid, d::date, d, d + interval '45 minutes', 45, 'peer_support', 'pf15', 'H0038', 'notes', $3::uuid, $3::uuid
		FROM (SELECT pg_catalog.now() - g * interval '1 hour' AS d FROM pg_catalog.generate_series(1, 10000) g) s`, bb.org, bb.part2, bb.peer)
	bb.db.Exec(b, `ANALYZE public.cl_peer_encounters`)
	return bb
}

// BenchmarkListByChart lists a Part 2 chart with 10,000 encounters (the
// peer holds a consent): the library's ListByChart (the seed's policy
// checked once for the chart) against the same query on the table with RLS
// off (as the owner), for the API's largest page (500) and for all 10,000.
func BenchmarkListByChart(b *testing.B) {
	bb := seedChart(b)
	ctx := context.Background()
	b.Run("page=500/library", func(b *testing.B) {
		for b.Loop() {
			page, err := bb.client.ListByChart(ctx, bb.peer, bb.org, bb.part2, peer.ListParams{Limit: 500})
			require.NoError(b, err)
			require.Len(b, page.Encounters, 500)
		}
	})
	const raw = `SELECT * FROM public.cl_peer_encounters WHERE organization_id = $1 AND chart_id = $2
		ORDER BY service_date DESC, id DESC LIMIT $3`
	// Plain SQL as the application has no privilege on the clinical text
	// (the readers return it to holders of its permission): the same
	// columns with the text empty.
	const rawRLS = `SELECT organization_id, id, site_id, chart_id, encounter_id, peer_provider_id, service_date, start_time, end_time,
		duration_minutes, service_type, service_type_source, hcpcs_code, ''::text AS focus_notes, status, created_by, created_at,
		updated_by, updated_at, finalized_by, finalized_at, cosigned_by, cosigned_at
		FROM public.cl_peer_encounters WHERE organization_id = $1 AND chart_id = $2
		ORDER BY service_date DESC, id DESC LIMIT $3`
	for _, n := range []int{500, 10000} {
		b.Run(fmt.Sprintf("rows=%d/policy-once", n), func(b *testing.B) {
			for b.Loop() {
				require.NoError(b, dbtx.Run(ctx, bb.db.App, bb.peer, func(tx pgx.Tx) error {
					rows, _ := tx.Query(ctx, `SELECT * FROM public.cl_peer_encounters_by_chart($1, $2, '0001-01-01', '9999-12-31', '9999-12-31', 'ffffffff-ffff-ffff-ffff-ffffffffffff', $3)`, bb.org, bb.part2, n)
					got, err := pgx.CollectRows(rows, pgx.RowToStructByName[peer.Encounter])
					require.Len(b, got, n)
					return err
				}))
			}
		})
		b.Run(fmt.Sprintf("rows=%d/policy-per-row", n), func(b *testing.B) {
			for b.Loop() {
				// Plain SQL sees a Part 2 chart's rows once the disclosure
				// is accounted for, by a transaction committed before.
				require.NoError(b, testdb.ExecCommitted(ctx, bb.db.App, bb.peer,
					`SELECT public.cl_part2_disclosed($1, ARRAY[$2::uuid], 'peer_encounter', 'TREAT', 'display')`, bb.org, bb.part2))
				require.NoError(b, dbtx.Run(ctx, bb.db.App, bb.peer, func(tx pgx.Tx) error {
					rows, _ := tx.Query(ctx, rawRLS, bb.org, bb.part2, n)
					got, err := pgx.CollectRows(rows, pgx.RowToStructByName[peer.Encounter])
					require.NoError(b, err)
					require.Len(b, got, n)
					return nil
				}))
			}
		})
		b.Run(fmt.Sprintf("rows=%d/no-rls", n), func(b *testing.B) {
			for b.Loop() {
				rows, _ := bb.db.Admin.Query(ctx, raw, bb.org, bb.part2, n)
				got, err := pgx.CollectRows(rows, pgx.RowToStructByName[peer.Encounter])
				require.NoError(b, err)
				require.Len(b, got, n)
			}
		})
	}
}
