package events

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/internal/testdb"
)

// The relay's statements stay on the partial indexes with a large outbox
// (see DESIGN.md: a claim that scans the table is several times slower).
func TestRelayStatementsUseTheIndexes(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	org := db.NewOrg(t)
	db.Exec(t, `INSERT INTO public.cl_pm_events (organization_id, id, event_type, aggregate_id, idempotency_key, envelope, status)
		SELECT $1, pg_catalog.gen_random_uuid(), 'peer_encounter_finalized', pg_catalog.gen_random_uuid(), 'k' || g,
		       '{"data":{}}', CASE WHEN g % 10 = 0 THEN 'pending' ELSE 'delivered' END
		FROM pg_catalog.generate_series(1, 20000) g`, org)
	db.Exec(t, `ANALYZE public.cl_pm_events`)

	r, err := NewRelay(&RelayConfig{Pool: db.App, Sink: nopSink{}, BatchSize: 100})
	require.NoError(t, err)
	args := strings.NewReplacer("@now", "now()", "@limit", "100", "@organization_id", "'"+org.String()+"'::uuid")
	plan := explain(t, db, args.Replace(r.discoverSQL))
	require.Contains(t, plan, "cl_pm_events_due_idx", plan)
	require.NotContains(t, plan, "Seq Scan on cl_pm_events", plan)
	t.Log(plan)
	plan = explain(t, db, args.Replace(claimSQL))
	require.Contains(t, plan, "cl_pm_events_org_due_idx", plan)
	require.Contains(t, plan, "cl_pm_events_aggregate_idx", plan)
	require.NotContains(t, plan, "Seq Scan on cl_pm_events", plan)
	t.Log(plan)
}

// explain plans sql with the relay's settings (asRelay).
func explain(t *testing.T, db *testdb.DB, sql string) string {
	t.Helper()
	var lines []string
	require.NoError(t, pgx.BeginFunc(context.Background(), db.Admin, func(tx pgx.Tx) error {
		if _, err := tx.Exec(context.Background(), `SET LOCAL enable_sort = off; SET LOCAL enable_incremental_sort = off; SET LOCAL enable_bitmapscan = off`); err != nil {
			return err
		}
		rows, _ := tx.Query(context.Background(), "EXPLAIN "+sql)
		var err error
		lines, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	}))
	return strings.Join(lines, "\n")
}

type nopSink struct{}

func (nopSink) Deliver(_ context.Context, batch []Envelope) (int, error) { return len(batch), nil }
