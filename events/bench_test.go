package events_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/events/eventstest"
	"github.com/encoreos/platform-go/events/natsjs"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/natsserver"
)

// BenchmarkOutboxWriteOverhead: one transaction inserting a record (a group
// session) alone, and the same record plus an event (peer_encounter_finalized
// about a finalized encounter made beforehand, untimed), as a member who
// runs groups and may publish (clinician and integration).
func BenchmarkOutboxWriteOverhead(b *testing.B) {
	bb := setup(b)
	user := bb.db.NewMember(b, bb.org, "clinician", "integration")
	ctx := context.Background()
	insert := func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO public.cl_group_sessions (organization_id, facilitator_id, service_type, scheduled_start, scheduled_end)
			VALUES ($1, $2, 'group_therapy', now(), now() + interval '1 hour')`, bb.org, user)
		return err
	}
	b.Run("record", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			require.NoError(b, dbtx.Run(ctx, bb.db.App, user, insert))
		}
	})
	b.Run("record+event", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			e := bb.finalized(b)
			b.StartTimer()
			require.NoError(b, dbtx.Run(ctx, bb.db.App, user, func(tx pgx.Tx) error {
				if err := insert(tx); err != nil {
					return err
				}
				_, err := bb.outbox.PublishTx(ctx, tx, e, nil)
				return err
			}))
		}
	})
}

// fillOutbox inserts n pending events, one aggregate each, as the host's
// superuser (fast; the relay cannot tell), then ANALYZE.
func (b *bundle) fillOutbox(t testing.TB, n int) {
	t.Helper()
	b.insertEvents(t, newAggregates(n), 1)
	// Steady state: autovacuum keeps the statistics current.
	b.db.Exec(t, `ANALYZE public.cl_pm_events`)
}

// newAggregates returns n fresh aggregate ids.
func newAggregates(n int) []uuid.UUID {
	aggs := make([]uuid.UUID, n)
	for i := range aggs {
		aggs[i] = uuid.New()
	}
	return aggs
}

// insertEvents inserts rounds pending events for each of aggs, round by
// round (one event of every aggregate, then the next), in one statement as
// the host's superuser: a producer's insert, without ANALYZE. The database
// numbers each aggregate's events (aggregate_seq) in insertion order.
func (b *bundle) insertEvents(t testing.TB, aggs []uuid.UUID, rounds int) {
	t.Helper()
	b.db.Exec(t, `INSERT INTO public.cl_pm_events (organization_id, id, event_type, aggregate_id, idempotency_key, envelope)
		SELECT $1::uuid, e.id, 'cl_virtual_group_started', e.agg, e.id::text,
		       pg_catalog.jsonb_build_object('specversion', '1.0', 'id', e.id, 'source', 'urn:bench', 'type', 'cl_virtual_group_started',
		         'time', pg_catalog.now(), 'subject', e.agg, 'datacontenttype', 'application/json', 'organizationid', $1::uuid,
		         'data', pg_catalog.jsonb_build_object('session_id', e.agg, 'attendee_count', 8))
		FROM (SELECT pg_catalog.gen_random_uuid() AS id, a.agg
		      FROM pg_catalog.generate_series(1, $3::int) r, pg_catalog.unnest($2::uuid[]) WITH ORDINALITY a(agg, i)
		      ORDER BY r, a.i) e`, b.org, aggs, rounds)
}

// BenchmarkRelayThroughput drains 2,000 events per iteration to a sink.
func BenchmarkRelayThroughput(b *testing.B) {
	const perIteration = 2000
	sinks := map[string]func(b *testing.B) events.Sink{
		"fake": func(*testing.B) events.Sink { return eventstest.NewSink() },
		"jetstream": func(b *testing.B) events.Sink {
			srv, err := natsserver.Start()
			require.NoError(b, err)
			b.Cleanup(srv.Stop)
			nc, err := nats.Connect(srv.URL())
			require.NoError(b, err)
			b.Cleanup(nc.Close)
			js, err := jetstream.New(nc)
			require.NoError(b, err)
			_, err = js.CreateStream(context.Background(), natsjs.StreamConfig("BENCH", ""))
			require.NoError(b, err)
			return natsjs.NewSink(js, nil)
		},
	}
	for _, name := range []string{"fake", "jetstream"} {
		for _, batch := range []int{1, 100, 1000} {
			b.Run(fmt.Sprintf("%s/batch=%d", name, batch), func(b *testing.B) {
				bb := setup(b)
				r := bb.relay(b, sinks[name](b), &events.RelayConfig{BatchSize: batch, Logger: slog.New(slog.DiscardHandler)})
				ctx := context.Background()
				var total time.Duration
				for b.Loop() {
					b.StopTimer()
					bb.fillOutbox(b, perIteration)
					b.StartTimer()
					start := time.Now()
					require.NoError(b, r.Drain(ctx))
					total += time.Since(start)
				}
				b.ReportMetric(float64(perIteration*b.N)/total.Seconds(), "events/s")
			})
		}
	}
}

// BenchmarkRelayBacklog drains a backlog of 100,000 events (batch 1000, the
// fake sink) and reports the time to drain and the lag seen on the way.
func BenchmarkRelayBacklog(b *testing.B) {
	const backlog = 100_000
	for b.Loop() {
		b.StopTimer()
		bb := setup(b)
		bb.fillOutbox(b, backlog)
		sink := eventstest.NewSink()
		r := bb.relay(b, sink, &events.RelayConfig{BatchSize: 1000, Logger: slog.New(slog.DiscardHandler)})
		b.StartTimer()
		start := time.Now()
		var firstLag, maxLag time.Duration
		for {
			n, err := r.RunOnce(context.Background())
			require.NoError(b, err)
			if n == 0 {
				break
			}
			lag := r.Metrics().Lag
			if firstLag == 0 {
				firstLag = lag
			}
			maxLag = max(maxLag, lag)
		}
		elapsed := time.Since(start)
		require.Len(b, sink.Events(), backlog)
		b.ReportMetric(elapsed.Seconds(), "drain-s")
		b.ReportMetric(backlog/elapsed.Seconds(), "events/s")
		b.ReportMetric(maxLag.Seconds(), "max-lag-s")
	}
}

// BenchmarkPublishTx is the publish path's cap: one producer publishing
// through Outbox.PublishTx as an acting user (an integration principal),
// one event per transaction (peer_encounter_finalized about a finalized
// encounter made beforehand, untimed), on a connection of its own. It
// reports events/s and where an event's time goes: building the envelope
// in Go (Outbox.Wrap, timed apart), the publish statement
// (cl_pm_events_publish, from Go), the rest of the acting-user transaction
// (begin, role and claims, commit), and the database functions the
// statement ran (pg_stat_user_functions with track_functions, logged).
func BenchmarkPublishTx(b *testing.B) {
	bb := setup(b)
	ctx := context.Background()
	bb.db.Exec(b, `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET track_functions = ''all''', pg_catalog.current_database()); END $$`)
	bb.db.Exec(b, `SELECT pg_catalog.pg_stat_reset()`)
	// A new session takes the database's track_functions; its statistics
	// reach the views when it ends.
	conn, err := pgx.ConnectConfig(ctx, bb.db.App.Config().ConnConfig)
	require.NoError(b, err)
	var wrap, publish, total time.Duration
	n := 0
	for b.Loop() {
		b.StopTimer()
		e := bb.finalized(b)
		start := time.Now()
		_, err := bb.outbox.Wrap(e)
		require.NoError(b, err)
		wrap += time.Since(start)
		b.StartTimer()
		start = time.Now()
		require.NoError(b, dbtx.Run(ctx, conn, bb.user, func(tx pgx.Tx) error {
			p := time.Now()
			_, err := bb.outbox.PublishTx(ctx, tx, e, nil)
			publish += time.Since(p)
			return err
		}))
		total += time.Since(start)
		n++
	}
	require.NoError(b, conn.Close(ctx))
	ms := func(d time.Duration) float64 { return d.Seconds() * 1000 / float64(n) }
	b.ReportMetric(float64(n)/total.Seconds(), "events/s")
	b.ReportMetric(ms(wrap), "envelope-ms")
	b.ReportMetric(ms(publish), "statement-ms")
	b.ReportMetric(ms(total-publish), "tx-rest-ms")
	// The backend's statistics arrive shortly after it exits.
	time.Sleep(500 * time.Millisecond)
	rows, _ := bb.db.Admin.Query(ctx, `SELECT funcname, calls, total_time, self_time FROM pg_catalog.pg_stat_user_functions
		WHERE calls > 0 ORDER BY total_time DESC LIMIT 12`)
	for rows.Next() {
		var name string
		var calls int64
		var totalMs, selfMs float64
		require.NoError(b, rows.Scan(&name, &calls, &totalMs, &selfMs))
		b.Logf("%-40s %5.1f calls/event  total %.3f ms/event  self %.3f ms/event", name, float64(calls)/float64(n), totalMs/float64(n), selfMs/float64(n))
	}
	require.NoError(b, rows.Err())
}
