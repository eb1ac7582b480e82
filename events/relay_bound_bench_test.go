package events_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/events/natsjs"
	"github.com/encoreos/platform-go/internal/natsserver"
	"github.com/encoreos/platform-go/internal/testdb"
)

// BenchmarkRelayVersusPlainLoop drains a backlog (100,000 events with
// PLATFORM_BENCH_SCALE set, 5,000 otherwise; one aggregate each) to
// JetStream (an in-process server, or NATS_URL) through the relay, batch
// 1,000, and the same backlog through the plain claim-and-mark loop, its
// lower bound: as the superuser, claim 1,000 pending events oldest first
// (FOR UPDATE SKIP LOCKED) and mark them delivered, with no sink, no order
// per aggregate and no retry bookkeeping. Alternates which goes first and
// reports the medians in events/s and the relay's fraction of the bound.
func BenchmarkRelayVersusPlainLoop(b *testing.B) {
	backlog := 5_000
	if testdb.Large() {
		backlog = 100_000
	}
	bb := setup(b)
	ctx := context.Background()
	js := jetStream(b)
	// A stream and subjects of its own: a shared server may hold others.
	stream := fmt.Sprintf("BENCH_%d", time.Now().UnixNano())
	_, err := js.CreateStream(ctx, natsjs.StreamConfig(stream, stream))
	require.NoError(b, err)
	b.Cleanup(func() { _ = js.DeleteStream(context.Background(), stream) })
	r := bb.relay(b, natsjs.NewSink(js, &natsjs.Config{SubjectPrefix: stream}),
		&events.RelayConfig{BatchSize: 1000, Logger: slog.New(slog.DiscardHandler)})
	relay := func() {
		require.NoError(b, r.Drain(ctx))
	}
	plain := func() {
		for {
			var n int64
			require.NoError(b, pgx.BeginFunc(ctx, bb.db.Admin, func(tx pgx.Tx) error {
				tag, err := tx.Exec(ctx, `UPDATE public.cl_pm_events SET status = 'delivered', delivered_at = pg_catalog.now()
					WHERE (organization_id, id) IN (
					  SELECT organization_id, id FROM public.cl_pm_events
					  WHERE status = 'pending' AND next_attempt_at <= pg_catalog.now()
					  ORDER BY next_attempt_at LIMIT 1000 FOR UPDATE SKIP LOCKED)`)
				n = tag.RowsAffected()
				return err
			}))
			if n == 0 {
				return
			}
		}
	}
	drain := func(f func()) float64 {
		b.StopTimer()
		bb.fillOutbox(b, backlog)
		b.StartTimer()
		start := time.Now()
		f()
		return float64(backlog) / time.Since(start).Seconds()
	}
	var lib, bound []float64
	for b.Loop() {
		if len(lib)%2 == 0 {
			lib = append(lib, drain(relay))
			bound = append(bound, drain(plain))
		} else {
			bound = append(bound, drain(plain))
			lib = append(lib, drain(relay))
		}
	}
	var left int
	require.NoError(b, bb.db.Admin.QueryRow(ctx, `SELECT pg_catalog.count(*) FROM public.cl_pm_events WHERE status <> 'delivered'`).Scan(&left))
	require.Zero(b, left)
	median := func(s []float64) float64 { s = slices.Clone(s); slices.Sort(s); return s[len(s)/2] }
	b.ReportMetric(median(lib), "relay-events/s")
	b.ReportMetric(median(bound), "bound-events/s")
	b.ReportMetric(median(lib)/median(bound), "fraction")
}

// jetStream connects to NATS_URL when it is set, else to an in-process
// server, and returns its JetStream context.
func jetStream(b *testing.B) jetstream.JetStream {
	b.Helper()
	url := natsURL()
	if url == "" {
		srv, err := natsserver.Start()
		require.NoError(b, err)
		b.Cleanup(srv.Stop)
		url = srv.URL()
	}
	nc, err := nats.Connect(url)
	require.NoError(b, err)
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(b, err)
	return js
}

func natsURL() string { return os.Getenv("NATS_URL") }
