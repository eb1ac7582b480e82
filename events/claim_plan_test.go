package events

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/internal/testdb"
)

// The relay's statements stay on the indexes with a large outbox (see
// DESIGN.md: a claim that scans the table is several times slower), and
// whatever the statistics say: before the first ANALYZE of a table that
// grew (a steady producer, autovacuum not there yet) as after it.
func TestRelayStatementsUseTheIndexes(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	org := db.NewOrg(t)
	db.Exec(t, `INSERT INTO public.cl_pm_events (organization_id, id, event_type, aggregate_id, idempotency_key, envelope, status)
		SELECT $1, pg_catalog.gen_random_uuid(), 'peer_encounter_finalized', pg_catalog.gen_random_uuid(), 'k' || g,
		       '{"data":{}}', CASE WHEN g % 10 = 0 THEN 'pending' ELSE 'delivered' END
		FROM pg_catalog.generate_series(1, 20000) g`, org)

	r, err := NewRelay(&RelayConfig{Pool: db.App, Sink: nopSink{}, BatchSize: 100})
	require.NoError(t, err)
	args := strings.NewReplacer("@now", "now()", "@limit", "100", "@organization_id", "'"+org.String()+"'::uuid",
		"@ids::uuid[]", "'{00000000-0000-0000-0000-000000000001,00000000-0000-0000-0000-000000000002}'::uuid[]", "@delivered_at", "now()")
	for _, stats := range []string{"no statistics", "analyzed"} {
		if stats == "analyzed" {
			db.Exec(t, `ANALYZE public.cl_pm_events`)
		}
		plan := explain(t, r, args.Replace(r.discoverSQL))
		require.Contains(t, plan, "cl_pm_events_due_idx", stats+"\n"+plan)
		require.NotContains(t, plan, "Seq Scan on cl_pm_events", stats+"\n"+plan)
		plan = explain(t, r, args.Replace(claimSQL))
		require.Contains(t, plan, "cl_pm_events_org_due_idx", stats+"\n"+plan)
		require.Contains(t, plan, "cl_pm_events_aggregate_idx", stats+"\n"+plan)
		require.NotContains(t, plan, "Seq Scan on cl_pm_events", stats+"\n"+plan)
		require.NotContains(t, plan, "Sort", stats+"\n"+plan)
		plan = explain(t, r, args.Replace(markDeliveredSQL))
		require.Contains(t, plan, "cl_pm_events_pkey", stats+"\n"+plan)
		require.NotContains(t, plan, "Seq Scan on cl_pm_events", stats+"\n"+plan)
		t.Log(stats, plan)
	}
}

// explain plans sql in a relay transaction (asRelay: its role and its
// planner settings).
func explain(t *testing.T, r *Relay, sql string) string {
	t.Helper()
	var lines []string
	require.NoError(t, r.asRelay(context.Background(), func(tx pgx.Tx, _ time.Time) error {
		rows, _ := tx.Query(context.Background(), "EXPLAIN "+sql)
		var err error
		lines, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	}))
	return strings.Join(lines, "\n")
}

type nopSink struct{}

func (nopSink) Deliver(_ context.Context, batch []Envelope) (int, error) { return len(batch), nil }
