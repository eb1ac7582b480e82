package testdb

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ScaleEnv names the environment variable that picks the history sizes of
// the at-scale benchmarks (see [Scales]).
const ScaleEnv = "PLATFORM_BENCH_SCALE"

// Scales returns the history sizes (stored encounters, stored events) the
// at-scale benchmarks run at: 0 and 1,000 by default, so that a run with
// -benchtime=1x in the suite stays quick; 0 and 100,000 with
// PLATFORM_BENCH_SCALE=100k; 0, 100,000 and 1,000,000 with
// PLATFORM_BENCH_SCALE=1m.
func Scales() []int {
	switch strings.ToLower(os.Getenv(ScaleEnv)) {
	case "1m":
		return []int{0, 100_000, 1_000_000}
	case "100k":
		return []int{0, 100_000}
	default:
		return []int{0, 1_000}
	}
}

// Large reports whether PLATFORM_BENCH_SCALE asks for the large sizes
// (any value): benchmarks whose data takes long to build run their large
// cases only then, so that -benchtime=1x in the suite stays quick.
func Large() bool { return os.Getenv(ScaleEnv) != "" }

// History is what [Fill] stored.
type History struct {
	// Charts and Providers are the new charts (one in ten Part 2) and
	// peer specialists the encounters are spread over.
	Charts, Providers int
}

// Fill stores history in org of db the way a host's maintenance would load it:
// set-based SQL as the superuser, with triggers and foreign-key checks off
// for the transaction (session_replication_role = replica; CHECK
// constraints still apply). It adds encounters finalized peer encounters,
// spread over encounters/100 new charts and encounters/1,000 new peer
// specialists (at least one each), service dates over three years, and
// events delivered events, one per aggregate, then VACUUM ANALYZEs both
// tables (autovacuum's steady state) and checkpoints. Nothing it adds names a chart or a
// user the caller made, so a benchmark's own rows stay the same size
// whatever the history. About 25 s for a million of each on the
// throwaway cluster.
//
// A function rather than a method of DB, so that it stays one whichever
// package defines DB.
func Fill(t testing.TB, db *DB, org uuid.UUID, encounters, events int) History {
	t.Helper()
	ctx := context.Background()
	f := History{Charts: max(1, encounters/100), Providers: max(1, encounters/1000)}
	err := pgx.BeginFunc(ctx, db.Admin, func(tx pgx.Tx) error {
		for _, sql := range []string{
			`SET LOCAL session_replication_role = replica`,
			`CREATE TEMP TABLE fill_charts ON COMMIT DROP AS
			   SELECT g - 1 AS i, pg_catalog.gen_random_uuid() AS id, g % 10 = 0 AS part2
			   FROM pg_catalog.generate_series(1, @charts::int) g`,
			`CREATE TEMP TABLE fill_providers ON COMMIT DROP AS
			   SELECT g - 1 AS i, pg_catalog.gen_random_uuid() AS id FROM pg_catalog.generate_series(1, @providers::int) g`,
			`INSERT INTO public.cl_charts (organization_id, id, is_part2) SELECT @org, id, part2 FROM pg_temp.fill_charts`,
			`INSERT INTO public.pf_members (organization_id, user_id) SELECT @org, id FROM pg_temp.fill_providers`,
			`INSERT INTO public.pf_member_roles (organization_id, user_id, role) SELECT @org, id, 'peer_specialist' FROM pg_temp.fill_providers`,
			`INSERT INTO public.cl_peer_encounters (organization_id, chart_id, peer_provider_id, service_date, start_time, end_time,
			   duration_minutes, service_type, service_type_source, hcpcs_code, focus_notes, status, created_by, updated_by,
			   finalized_by, finalized_at)
			 SELECT @org, c.id, p.id, (s.d AT TIME ZONE 'UTC')::date, s.d, s.d + interval '45 minutes', 45, 'peer_support', 'pf15',
			        'H0038', 'Discussed recovery goals.', 'finalized', p.id, p.id, p.id, s.d + interval '1 hour'
			 FROM (SELECT g, pg_catalog.date_trunc('hour', pg_catalog.now()) - (g % 1095) * interval '1 day' - interval '3 hours' AS d
			       FROM pg_catalog.generate_series(0, @encounters::int - 1) g) s
			 JOIN pg_temp.fill_charts c ON c.i = s.g % @charts::int
			 JOIN pg_temp.fill_providers p ON p.i = (s.g / 7) % @providers::int`,
			`INSERT INTO public.cl_pm_events (organization_id, id, aggregate_seq, event_type, aggregate_id, idempotency_key, envelope,
			   status, attempts, delivered_at)
			 SELECT @org, e.id, 1, 'peer_encounter_finalized', pg_catalog.gen_random_uuid(), 'fill:' || e.id, '{"data": {}}',
			        'delivered', 1, pg_catalog.now()
			 FROM (SELECT pg_catalog.gen_random_uuid() AS id FROM pg_catalog.generate_series(1, @events::int)) e`,
		} {
			if _, err := tx.Exec(ctx, sql, pgx.NamedArgs{"org": org, "charts": f.Charts, "providers": f.Providers,
				"encounters": encounters, "events": events}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("testdb: filling history: %v", err)
	}
	db.Exec(t, `VACUUM ANALYZE public.cl_peer_encounters, public.cl_pm_events, public.cl_charts, public.pf_members, public.pf_member_roles`)
	// Write the fill out now, not during the measurements that follow.
	db.Exec(t, `CHECKPOINT`)
	return f
}
