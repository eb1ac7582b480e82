package events_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
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
// reports the medians in events/s and the relay's fraction of the bound,
// and the relay's events/s over the first and the last fifth of a drain.
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
	// The relay's events/s over the first and the last fifth of each drain,
	// from its count of delivered events read every millisecond: whether a
	// claim slows as the delivered rows pile up ahead of the pending ones.
	var firsts, lasts []float64
	relay := func() {
		base, start := r.Metrics().Delivered, time.Now()
		var first, last time.Duration // when a fifth, and four fifths, were delivered
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for first == 0 || last == 0 {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				n := int(r.Metrics().Delivered - base)
				if first == 0 && n >= backlog/5 {
					first = time.Since(start)
				}
				if last == 0 && n >= backlog*4/5 {
					last = time.Since(start)
				}
			}
		})
		require.NoError(b, r.Drain(ctx))
		total := time.Since(start)
		close(stop)
		wg.Wait()
		require.NotZero(b, last, "the drain's progress was not seen")
		firsts = append(firsts, float64(backlog/5)/first.Seconds())
		lasts = append(lasts, float64(backlog/5)/(total-last).Seconds())
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
	b.ReportMetric(median(firsts), "first-fifth-events/s")
	b.ReportMetric(median(lasts), "last-fifth-events/s")
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

// BenchmarkRelayLag: a steady producer (every 10 ms, 1,000 and 5,000
// events/s, as the superuser) for 10 s with PLATFORM_BENCH_SCALE set (2 s
// otherwise) while a relay runs (woken by NOTIFY, batch 1,000) delivering
// to JetStream; reports the lag from an event's creation to its delivery
// (delivered_at - created_at, both the database's clock): median, p99 and
// maximum, in ms, each the median over the rounds.
func BenchmarkRelayLag(b *testing.B) {
	duration := 2 * time.Second
	if testdb.Large() {
		duration = 10 * time.Second
	}
	for _, rate := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) { relayLag(b, duration, rate/100) })
	}
}

func relayLag(b *testing.B, duration time.Duration, per10ms int) {
	var p50s, p99s, maxes, rates []float64
	for b.Loop() {
		b.StopTimer()
		bb := setup(b)
		ctx, cancel := context.WithCancel(context.Background())
		js := jetStream(b)
		stream := fmt.Sprintf("LAG_%d", time.Now().UnixNano())
		_, err := js.CreateStream(ctx, natsjs.StreamConfig(stream, stream))
		require.NoError(b, err)
		b.Cleanup(func() { _ = js.DeleteStream(context.Background(), stream) })
		r := bb.relay(b, natsjs.NewSink(js, &natsjs.Config{SubjectPrefix: stream}),
			&events.RelayConfig{BatchSize: 1000, Logger: slog.New(slog.DiscardHandler)})
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		b.StartTimer()
		tick := time.NewTicker(10 * time.Millisecond)
		produced := 0
		for end := time.Now().Add(duration); time.Now().Before(end); <-tick.C {
			bb.insertEvents(b, newAggregates(per10ms), 1)
			produced += per10ms
		}
		tick.Stop()
		require.Eventually(b, func() bool {
			var left int
			require.NoError(b, bb.db.Admin.QueryRow(ctx, `SELECT pg_catalog.count(*) FROM public.cl_pm_events WHERE status <> 'delivered'`).Scan(&left))
			return left == 0
		}, 30*time.Second, 20*time.Millisecond)
		b.StopTimer()
		cancel()
		require.NoError(b, <-done)
		var p50, p99, maxLag float64
		require.NoError(b, bb.db.Admin.QueryRow(context.Background(), `SELECT
			pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM delivered_at - created_at)) * 1000,
			pg_catalog.percentile_cont(0.99) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM delivered_at - created_at)) * 1000,
			pg_catalog.max(EXTRACT(EPOCH FROM delivered_at - created_at)) * 1000
			FROM public.cl_pm_events`).Scan(&p50, &p99, &maxLag))
		p50s, p99s, maxes = append(p50s, p50), append(p99s, p99), append(maxes, maxLag)
		rates = append(rates, float64(produced)/duration.Seconds())
		b.StartTimer() // b.Loop needs it running
	}
	median := func(s []float64) float64 { s = slices.Clone(s); slices.Sort(s); return s[len(s)/2] }
	b.ReportMetric(median(p50s), "lag-p50-ms")
	b.ReportMetric(median(p99s), "lag-p99-ms")
	b.ReportMetric(median(maxes), "lag-max-ms")
	b.ReportMetric(median(rates), "produced-events/s")
}
