package peer_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/testdb"
	"github.com/encoreos/platform-go/peer"
)

// plans collects the plan of every statement a pool runs, nested ones
// included (the statements inside the library's PL/pgSQL functions and
// triggers), from auto_explain in JSON.
type plans struct {
	mu    sync.Mutex
	plans []map[string]any
}

// scans returns "Seq Scan on <table>" for every sequential scan of tables
// among the plans collected since the last call, and forgets them.
func (p *plans) scans(tables ...string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var found []string
	var walk func(node map[string]any)
	walk = func(node map[string]any) {
		if node["Node Type"] == "Seq Scan" {
			for _, t := range tables {
				if node["Relation Name"] == t {
					found = append(found, "Seq Scan on "+t)
				}
			}
		}
		children, _ := node["Plans"].([]any)
		for _, c := range children {
			if m, ok := c.(map[string]any); ok {
				walk(m)
			}
		}
	}
	for _, plan := range p.plans {
		if root, ok := plan["Plan"].(map[string]any); ok {
			walk(root)
		}
	}
	p.plans = nil
	return found
}

// explainedPool connects as the superuser with auto_explain logging every
// plan, nested statements included, to the client. The library switches to
// `authenticated` in every transaction as it does on the app role's pool,
// so the policies and plans are those the application meets.
func explainedPool(t *testing.T, admin *pgxpool.Pool) (*pgxpool.Pool, *plans) {
	t.Helper()
	p := &plans{}
	cfg := admin.Config()
	cfg.ConnConfig.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		_, plan, ok := strings.Cut(n.Message, "plan:")
		if !ok {
			return
		}
		var m map[string]any
		if json.Unmarshal([]byte(plan), &m) != nil {
			return
		}
		p.mu.Lock()
		p.plans = append(p.plans, m)
		p.mu.Unlock()
	}
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on;
			SET auto_explain.log_format = json; SET client_min_messages = log`)
		return err
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool, p
}

// The hot paths' statements, the library's nested ones included, never
// scan cl_pm_events or cl_peer_encounters sequentially once they hold
// history (20,000 of each, VACUUM ANALYZEd): a create (of a Part 2 chart, with
// its accounting), finalize with its event, a
// publish, a get, and pages and walks of the lists by chart and by
// provider.
func TestHotPathsDoNotScanGrowingTables(t *testing.T) {
	t.Parallel()
	bb := setup(t)
	testdb.Fill(t, bb.db, bb.org, 20_000, 20_000)
	bb.grant(t, bb.peer, bb.part2)
	for range 3 {
		bb.create(t, bb.part2, bb.fields())
		bb.create(t, bb.chart, bb.fields())
	}
	bb.db.Exec(t, `ANALYZE public.cl_peer_encounters`)
	integration := bb.db.NewMember(t, bb.org, "integration")
	pool, collected := explainedPool(t, bb.db.Admin)
	client, err := peer.New(pool, nil)
	require.NoError(t, err)
	outbox := events.NewOutbox(nil)
	ctx := context.Background()
	draft := bb.create(t, bb.chart, bb.fields())
	pe := bb.db.NewFinalizedPeerEncounter(t, bb.org)

	// The control: a statement that must scan is seen scanning.
	_, err = pool.Exec(ctx, `SELECT pg_catalog.count(*) FROM public.cl_pm_events WHERE envelope IS NOT NULL`)
	require.NoError(t, err)
	require.Equal(t, []string{"Seq Scan on cl_pm_events"}, collected.scans("cl_pm_events", "cl_peer_encounters"))

	for _, path := range []struct {
		name string
		run  func() error
	}{
		{"create", func() error {
			_, err := client.Create(ctx, bb.peer, peer.CreateParams{OrganizationID: bb.org, ChartID: bb.part2, Fields: bb.fields()})
			return err
		}},
		{"finalize", func() error { _, err := client.Finalize(ctx, bb.peer, bb.org, draft.ID); return err }},
		{"get", func() error { _, err := client.Get(ctx, bb.peer, bb.org, draft.ID); return err }},
		{"publish", func() error {
			return dbtx.Run(ctx, pool, integration, func(tx pgx.Tx) error {
				_, err := outbox.PublishTx(ctx, tx, &events.PeerEncounterFinalized{
					Header:          events.Header{OrganizationID: bb.org, Timestamp: pe.FinalizedAt},
					PeerEncounterID: pe.ID, ChartID: pe.ChartID, PeerProviderID: pe.PeerProviderID,
					ServiceDate: events.NewDate(pe.ServiceDate), HCPCSCode: events.Code(pe.HCPCSCode), DurationMinutes: pe.DurationMinutes,
				}, nil)
				return err
			})
		}},
		{"list by chart", func() error {
			page, err := client.ListByChart(ctx, bb.peer, bb.org, bb.part2, peer.ListParams{Limit: 2})
			if err == nil {
				_, err = client.ListByChart(ctx, bb.peer, bb.org, bb.part2, peer.ListParams{Limit: 2, After: page.Next})
			}
			return err
		}},
		{"list by provider", func() error {
			page, err := client.ListByProvider(ctx, bb.peer, bb.org, bb.peer, peer.ListParams{Limit: 2})
			if err == nil {
				_, err = client.ListByProvider(ctx, bb.peer, bb.org, bb.peer, peer.ListParams{Limit: 500, After: page.Next})
			}
			return err
		}},
	} {
		collected.scans() // forget what came before
		require.NoError(t, path.run(), path.name)
		collected.mu.Lock()
		n := len(collected.plans)
		collected.mu.Unlock()
		require.NotZero(t, n, "%s: auto_explain reported no plan", path.name)
		require.Empty(t, collected.scans("cl_pm_events", "cl_peer_encounters"), "%s: %d statements", path.name, n)
		t.Logf("%s: %d statements planned, none scans a growing table", path.name, n)
	}
}
