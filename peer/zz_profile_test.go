package peer_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/peer"
)

func BenchmarkZZProfile(b *testing.B) {
	ctx := context.Background()
	bb := setupScale(b, 0)
	what := os.Getenv("ZZ")
	run := func() {
		switch what {
		case "provider":
			_, err := bb.client.ListByProvider(ctx, bb.peer, bb.org, bb.peer, peer.ListParams{Limit: 50})
			require.NoError(b, err)
		case "chart":
			_, err := bb.client.ListByChart(ctx, bb.peer, bb.org, bb.part2, peer.ListParams{Limit: 50})
			require.NoError(b, err)
		case "finalize":
			e := bb.create(b, bb.chart, bb.fields())
			_, err := bb.client.Finalize(ctx, bb.peer, bb.org, e.ID)
			require.NoError(b, err)
		case "create":
			bb.create(b, bb.chart, bb.fields())
		}
	}
	for range 20 {
		run()
	}
	bb.db.Exec(b, `SELECT pg_stat_reset()`)
	bb.db.Exec(b, `ALTER SYSTEM SET track_functions = 'all'`)
	bb.db.Exec(b, `SELECT pg_reload_conf()`)
	time.Sleep(200 * time.Millisecond)
	const n = 200
	start := time.Now()
	for range n {
		run()
	}
	el := time.Since(start)
	time.Sleep(11 * time.Second)
	rows, err := bb.db.Admin.Query(ctx, `SELECT funcname, calls, round(total_time::numeric/ $1, 4), round(self_time::numeric / $1, 4) FROM pg_stat_user_functions ORDER BY self_time DESC LIMIT 25`, n)
	require.NoError(b, err)
	var sb strings.Builder
	fmt.Fprintf(&sb, "per op %s\n", el/n)
	for rows.Next() {
		var name string
		var calls int
		var tot, self float64
		require.NoError(b, rows.Scan(&name, &calls, &tot, &self))
		fmt.Fprintf(&sb, "%-50s %6.1f calls/op total %.4f self %.4f ms/op\n", name, float64(calls)/n, tot, self)
	}
	b.Log(sb.String())
	if what == "provider" || what == "chart" {
		for _, sql := range []string{
			`EXPLAIN (ANALYZE, BUFFERS) SELECT public.cl_peer_encounters_by_provider_disclose($1, $2, '0001-01-01', '9999-12-31', '9999-12-31', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 51)`,
			`EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM public.cl_peer_encounters_by_provider($1, $2, '0001-01-01', '9999-12-31', '9999-12-31', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 51)`,
		} {
			for range 5 {
				require.NoError(b, dbtx.Run(ctx, bb.db.App, bb.peer, func(tx pgx.Tx) error {
					rows, _ := tx.Query(ctx, sql, bb.org, bb.peer)
					lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
					require.NoError(b, err)
					b.Log(strings.Join(lines, "\n"))
					return nil
				}))
			}
		}
	}
}

func BenchmarkZZMicro(b *testing.B) {
	ctx := context.Background()
	bb := setupScale(b, 0)
	exprs := strings.Split(os.Getenv("ZZE"), ";;")
	tx, err := bb.db.Admin.Begin(ctx)
	require.NoError(b, err)
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, fmt.Sprintf(`SET LOCAL request.jwt.claim.sub = '%s'; SET LOCAL request.jwt.claims = '{"sub":"%s","role":"authenticated"}'`, bb.peer, bb.peer))
	require.NoError(b, err)
	if pre := os.Getenv("ZZPRE"); pre != "" {
		b2, err := os.ReadFile(pre)
		require.NoError(b, err)
		_, err = tx.Exec(ctx, string(b2))
		require.NoError(b, err)
	}
	const n = 2000
	var sb strings.Builder
	for _, e := range exprs {
		e = strings.NewReplacer("$org", "'"+bb.org.String()+"'::uuid", "$chart", "'"+bb.chart.String()+"'::uuid",
			"$part2", "'"+bb.part2.String()+"'::uuid", "$peer", "'"+bb.peer.String()+"'::uuid").Replace(e)
		for round := range 2 {
			start := time.Now()
			_, err := tx.Exec(ctx, fmt.Sprintf(`DO $zz$ DECLARE x record; BEGIN FOR i IN 1..%d LOOP PERFORM %s; END LOOP; END $zz$`, n, e))
			require.NoError(b, err, e)
			if round == 1 {
				fmt.Fprintf(&sb, "%8.2f µs  %s\n", float64(time.Since(start).Microseconds())/n, e[:min(len(e), 140)])
			}
		}
	}
	b.Log("\n" + sb.String())
}

func BenchmarkZZExplain(b *testing.B) {
	ctx := context.Background()
	bb := setupScale(b, 0)
	tx, err := bb.db.Admin.Begin(ctx)
	require.NoError(b, err)
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, fmt.Sprintf(`SET LOCAL request.jwt.claim.sub = '%s'; SET LOCAL request.jwt.claims = '{"sub":"%s","role":"authenticated"}'`, bb.peer, bb.peer))
	require.NoError(b, err)
	for _, e := range strings.Split(os.Getenv("ZZE"), ";;") {
		e = strings.NewReplacer("$org", "'"+bb.org.String()+"'::uuid", "$chart", "'"+bb.chart.String()+"'::uuid",
			"$part2", "'"+bb.part2.String()+"'::uuid", "$peer", "'"+bb.peer.String()+"'::uuid").Replace(e)
		for range 2 {
			rows, _ := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+e)
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			require.NoError(b, err)
			b.Log("\n" + strings.Join(lines, "\n"))
		}
	}
	rows, _ := tx.Query(ctx, `SELECT relname, n_live_tup FROM pg_stat_user_tables WHERE relname IN ('pf_members','pf_member_roles','pf_role_permissions','cl_charts') `)
	lines, _ := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) { var a string; var n int64; err := r.Scan(&a, &n); return fmt.Sprint(a, n), err })
	b.Log(lines)
}
