package peer_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/testdb"
	"github.com/encoreos/platform-go/peer"
)

// scaleBundle is a database with history of a given size beside a fixed
// set of rows the benchmarks read: the Part 2 chart bb.part2 with 1,000
// encounters (by peer2; bb.peer holds a consent to it), and bb.peer's own
// 1,000 encounters over 200 charts, 40 of them Part 2 with a consent.
type scaleBundle struct {
	*bundle
	integration uuid.UUID
	outbox      *events.Outbox
}

const scaleRows = 1000

func setupScale(b *testing.B, history int) *scaleBundle {
	b.Helper()
	bb := &scaleBundle{bundle: setup(b), outbox: events.NewOutbox(nil)}
	bb.integration = bb.db.NewMember(b, bb.org, "integration")
	start := time.Now()
	testdb.Fill(b, bb.db, bb.org, history, history)
	b.Logf("history of %d encounters and %d events filled in %s", history, history, time.Since(start).Round(time.Millisecond))
	bb.grant(b, bb.peer, bb.part2)
	insert := `INSERT INTO public.cl_peer_encounters (organization_id, chart_id, peer_provider_id, service_date, start_time, end_time,
		duration_minutes, service_type, service_type_source, hcpcs_code, focus_notes, created_by, updated_by)
		SELECT $1::uuid, c, $3::uuid, d::date, d, d + interval '45 minutes', 45, 'peer_support', 'pf15', 'H0038', 'notes', $3::uuid, $3::uuid
		FROM (SELECT pg_catalog.now() - g * interval '1 day' - interval '3 hours' AS d,
		             ($2::uuid[])[1 + g % pg_catalog.array_length($2::uuid[], 1)] AS c
		      FROM pg_catalog.generate_series(1, $4::int) g) s`
	bb.db.Exec(b, insert, bb.org, []uuid.UUID{bb.part2}, bb.peer2, scaleRows)
	charts := make([]uuid.UUID, 200)
	for i := range charts {
		charts[i] = bb.db.NewChart(b, bb.org, i%5 == 0)
		if i%5 == 0 {
			bb.grant(b, bb.peer, charts[i])
		}
	}
	bb.db.Exec(b, insert, bb.org, charts, bb.peer, scaleRows)
	bb.db.Exec(b, `CREATE TABLE public.bench_plain (id uuid PRIMARY KEY, at timestamptz NOT NULL, data jsonb NOT NULL)`)
	// Vacuumed as autovacuum keeps a table in steady state (the visibility
	// map lets a provider's page learn its charts from the index alone).
	bb.db.Exec(b, `VACUUM ANALYZE public.cl_peer_encounters`)
	return bb
}

// plainInsert is the lower bound of a write: a transaction inserting one
// row into a table without policies, triggers or checks, as the superuser.
func (bb *scaleBundle) plainInsert(b *testing.B) {
	ctx := context.Background()
	require.NoError(b, pgx.BeginFunc(ctx, bb.db.Admin, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO public.bench_plain VALUES (pg_catalog.gen_random_uuid(), pg_catalog.now(), '{"data": {}}')`)
		return err
	}))
}

// plainList is the lower bound of a list: the same keyset SELECT on the
// table without RLS (as the superuser), in pages of limit, until n rows.
func (bb *scaleBundle) plainList(b *testing.B, column string, owner uuid.UUID, limit, n int) {
	ctx := context.Background()
	afterDate, afterID := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), uuid.Max
	for got := 0; got < n; {
		rows, _ := bb.db.Admin.Query(ctx, `SELECT * FROM public.cl_peer_encounters WHERE organization_id = $1 AND `+column+` = $2
			AND (service_date, id) < ($3, $4) ORDER BY service_date DESC, id DESC LIMIT $5`, bb.org, owner, afterDate, afterID, limit+1)
		page, err := pgx.CollectRows(rows, pgx.RowToStructByName[peer.Encounter])
		require.NoError(b, err)
		page = page[:min(limit, len(page))]
		got += len(page)
		afterDate, afterID = page[len(page)-1].ServiceDate, page[len(page)-1].ID
	}
}

// libList walks a list through the library in pages of limit until n rows.
func libList(b *testing.B, list func(peer.ListParams) (*peer.Page, error), limit, n int) {
	p := peer.ListParams{Limit: limit}
	for got := 0; got < n; {
		page, err := list(p)
		require.NoError(b, err)
		got += len(page.Encounters)
		require.True(b, got == n || page.Next != "", "a page short of the rows")
		p.After = page.Next
	}
}

// BenchmarkAtScale runs the hot paths against a history of 0 and more
// encounters and events (testdb.Scales: 0 and 1,000 by default;
// PLATFORM_BENCH_SCALE=1m for 0, 100,000 and 1,000,000), each beside its
// lower bound in the same loop: finalize and publish against a one-row
// INSERT transaction, lists against the same SELECT without RLS. The rows
// read are the same 1,000 whatever the history, so every figure should be
// flat: its slope is what this measures.
func BenchmarkAtScale(b *testing.B) {
	ctx := context.Background()
	for _, history := range testdb.Scales() {
		bb := setupScale(b, history)
		b.Run(fmt.Sprintf("history=%d/finalize", history), func(b *testing.B) {
			var p testdb.Pair
			for b.Loop() {
				b.StopTimer()
				e := bb.create(b, bb.chart, bb.fields())
				b.StartTimer()
				p.Run(func() {
					_, err := bb.client.Finalize(ctx, bb.peer, bb.org, e.ID)
					require.NoError(b, err)
				}, func() { bb.plainInsert(b) })
			}
			p.Report(b)
		})
		b.Run(fmt.Sprintf("history=%d/publish", history), func(b *testing.B) {
			var p testdb.Pair
			for b.Loop() {
				b.StopTimer()
				pe := bb.db.NewFinalizedPeerEncounter(b, bb.org)
				b.StartTimer()
				p.Run(func() {
					require.NoError(b, dbtx.Run(ctx, bb.db.App, bb.integration, func(tx pgx.Tx) error {
						_, err := bb.outbox.PublishTx(ctx, tx, &events.PeerEncounterFinalized{
							Header:          events.Header{OrganizationID: bb.org, Timestamp: pe.FinalizedAt},
							PeerEncounterID: pe.ID, ChartID: pe.ChartID, PeerProviderID: pe.PeerProviderID,
							ServiceDate: events.NewDate(pe.ServiceDate), HCPCSCode: events.Code(pe.HCPCSCode), DurationMinutes: pe.DurationMinutes,
						}, nil)
						return err
					}))
				}, func() { bb.plainInsert(b) })
			}
			p.Report(b)
		})
		for _, walk := range []struct {
			name     string
			limit, n int
		}{{"page=50", 50, 50}, {"all=1000", 500, scaleRows}} {
			b.Run(fmt.Sprintf("history=%d/by-chart/%s", history, walk.name), func(b *testing.B) {
				var p testdb.Pair
				for b.Loop() {
					p.Run(func() {
						libList(b, func(lp peer.ListParams) (*peer.Page, error) {
							return bb.client.ListByChart(ctx, bb.peer, bb.org, bb.part2, lp)
						}, walk.limit, walk.n)
					}, func() { bb.plainList(b, "chart_id", bb.part2, walk.limit, walk.n) })
				}
				p.Report(b)
			})
			b.Run(fmt.Sprintf("history=%d/by-provider/%s", history, walk.name), func(b *testing.B) {
				var p testdb.Pair
				for b.Loop() {
					p.Run(func() {
						libList(b, func(lp peer.ListParams) (*peer.Page, error) {
							return bb.client.ListByProvider(ctx, bb.peer, bb.org, bb.peer, lp)
						}, walk.limit, walk.n)
					}, func() { bb.plainList(b, "peer_provider_id", bb.peer, walk.limit, walk.n) })
				}
				p.Report(b)
			})
		}
	}
}
