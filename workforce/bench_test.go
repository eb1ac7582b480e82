package workforce_test

import (
	"context"
	_ "embed"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/internal/testdb"
	"github.com/encoreos/platform-go/workforce"
)

//go:embed testdata/plain_aggregate.sql
var plainAggregateSQL string

// bigOrg fills an organization with a year of work: providers, three
// sites, 1,200 appointments per provider (about 60,000 for 50 providers),
// a signed note for each completed one, spread over 2,000 charts.
func bigOrg(b testing.TB, db *testdb.DB, providers int) (org uuid.UUID, hr uuid.UUID) {
	b.Helper()
	ctx := context.Background()
	org = db.NewOrg(b)
	sites := []uuid.UUID{db.NewSite(b, org), db.NewSite(b, org), db.NewSite(b, org)}
	hr = db.NewMember(b, org, "hr_manager")
	var ps []uuid.UUID
	for range providers {
		ps = append(ps, db.NewMember(b, org, "clinician"))
	}
	var charts []uuid.UUID
	rows, _ := db.Admin.Query(ctx, `INSERT INTO public.cl_charts (organization_id, site_id)
		SELECT $1, ($2::uuid[])[1 + g % 3] FROM pg_catalog.generate_series(1, 2000) g RETURNING id`, org, sites)
	charts, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	require.NoError(b, err)
	db.Exec(b, `INSERT INTO public.pm_appointments (organization_id, site_id, chart_id, provider_id, service_type, status, starts_at, ends_at)
		SELECT $1, ($2::uuid[])[1 + g % 3], ($3::uuid[])[1 + (g::bigint * 7919) % 2000], ($4::uuid[])[1 + g % $5],
		       (ARRAY['individual_therapy','group_therapy','case_management','peer_support','intake_assessment','medication_management'])[1 + g % 6],
		       (ARRAY['completed','completed','completed','completed','no_show','cancelled'])[1 + (g / 7) % 6],
		       t, t + interval '50 minutes'
		FROM (SELECT g, timestamptz '2026-01-01' + (g % 8760) * interval '1 hour' AS t
		      FROM pg_catalog.generate_series(1, $5 * 1200) g) s`, org, sites, charts, ps, providers)
	db.Exec(b, `INSERT INTO public.cl_progress_notes (organization_id, site_id, chart_id, author_id, session_start, session_end, status, finalized_at)
		SELECT a.organization_id, a.site_id, a.chart_id, a.provider_id, a.starts_at, a.ends_at, 'signed',
		       a.ends_at + ((pg_catalog.hashtext(a.id::text) & 255) % 96) * interval '1 hour'
		FROM public.pm_appointments a WHERE a.organization_id = $1 AND a.status = 'completed'`, org)
	db.Exec(b, `ANALYZE`)
	return org, hr
}

func quarter() workforce.Options {
	return workforce.Options{PeriodStart: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), PeriodEnd: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)}
}

// BenchmarkGetProviderProductivity: a quarter for one organization of 50
// providers (and for one of 10 organizations of 100 providers each, 1,000
// in all), against the plain aggregate with no security as the lower
// bound, interleaved call by call so that both see the same machine.
// Reports the medians and their ratio, and the library's p95. The larger
// cases (10 organizations; one of 200 and of 1,000 providers, for how the
// time grows) run only with PLATFORM_BENCH_SCALE set (testdb.Large).
func BenchmarkGetProviderProductivity(b *testing.B) {
	for _, size := range []struct{ orgs, providers int }{{1, 50}, {10, 100}, {1, 200}, {1, 1000}} {
		if size.orgs*size.providers > 50 && !testdb.Large() {
			continue // up to 1.2 million appointments: with PLATFORM_BENCH_SCALE set only
		}
		b.Run(fmt.Sprintf("orgs=%d/providers=%d", size.orgs, size.providers), func(b *testing.B) {
			db := testdb.New(b)
			var org, hr uuid.UUID
			for range size.orgs {
				org, hr = bigOrg(b, db, size.providers) // the last one is measured; the others share the tables
			}
			ctx := context.Background()
			q := quarter()
			var library, plain []time.Duration
			for b.Loop() {
				start := time.Now()
				got, err := workforce.GetProviderProductivity(ctx, db.App, hr, org, q)
				library = append(library, time.Since(start))
				require.NoError(b, err)
				require.Len(b, got, size.providers)

				start = time.Now()
				rows, _ := db.Admin.Query(ctx, plainAggregateSQL, org, q.PeriodStart, q.PeriodEnd)
				n := 0
				for rows.Next() {
					n++
				}
				plain = append(plain, time.Since(start))
				require.NoError(b, rows.Err())
				require.Equal(b, size.providers, n)
			}
			slices.Sort(library)
			slices.Sort(plain)
			median := func(d []time.Duration) float64 { return float64(d[len(d)/2].Microseconds()) / 1000 }
			b.ReportMetric(median(library), "library-median-ms")
			b.ReportMetric(float64(library[len(library)*95/100].Microseconds())/1000, "library-p95-ms")
			b.ReportMetric(median(plain), "plain-median-ms")
			b.ReportMetric(median(library)/median(plain), "ratio")
		})
	}
}
