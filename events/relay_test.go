package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/events/eventstest"
	"github.com/encoreos/platform-go/internal/testdb"
)

// publishMany puts n finalized events spread over aggregates aggregates in
// the outbox, in one transaction, and returns them in publish order. An
// encounter has one event through the publishing doors, so a history of
// several per aggregate (what ordering is about) is written as the host's
// superuser, the way fillOutbox is: the relay cannot tell.
func (b *bundle) publishMany(t testing.TB, n, aggregates int) []*events.PeerEncounterFinalized {
	t.Helper()
	ctx := context.Background()
	aggs := make([]uuid.UUID, aggregates)
	for i := range aggs {
		aggs[i] = uuid.New()
	}
	out := make([]*events.PeerEncounterFinalized, n)
	tx, err := b.db.Admin.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	for i := range n {
		e := &events.PeerEncounterFinalized{
			Header:          events.Header{OrganizationID: b.org},
			PeerEncounterID: aggs[i%aggregates], ChartID: uuid.New(),
			PeerProviderID: uuid.New(), ServiceDate: events.NewDate(time.Now()), HCPCSCode: "H0038",
			DurationMinutes: i, // the sequence within the test
		}
		key := fmt.Sprintf("seq:%d:%s", i, e.PeerEncounterID)
		env, _, err := b.outbox.Prepare(e, &events.PublishOpts{IdempotencyKey: key})
		require.NoError(t, err)
		raw, err := json.Marshal(env)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, `INSERT INTO public.cl_pm_events (organization_id, id, event_type, aggregate_id, idempotency_key, envelope)
			VALUES ($1, $2, $3, $4, $5, $6)`, b.org, env.ID, events.TypePeerEncounterFinalized, e.PeerEncounterID, key, raw)
		require.NoError(t, err)
		out[i] = e
	}
	require.NoError(t, tx.Commit(ctx))
	return out
}

func (b *bundle) relay(t testing.TB, sink events.Sink, cfg *events.RelayConfig) *events.Relay {
	t.Helper()
	c := events.RelayConfig{}
	if cfg != nil {
		c = *cfg
	}
	c.Pool, c.Sink = b.db.App, sink
	if c.RetryBackoff == 0 {
		c.RetryBackoff = 5 * time.Millisecond
	}
	if c.PollInterval == 0 {
		c.PollInterval = 20 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(testLog{t}, nil))
	}
	r, err := events.NewRelay(&c)
	require.NoError(t, err)
	return r
}

// runRelays runs relays until the sink has n distinct events and the
// outbox has recorded n deliveries, then stops them.
func (b *bundle) runRelays(t testing.TB, sink *eventstest.Sink, n int, relays ...*events.Relay) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var g errgroup.Group
	for _, r := range relays {
		g.Go(func() error { return r.Run(ctx) })
	}
	sink.WaitFor(t, n, 30*time.Second)
	require.Eventually(t, func() bool { return b.statusCounts(t)["delivered"] >= n }, 10*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, g.Wait())
}

// requireOrderedPerAggregate checks that each aggregate's events arrived in
// publish order.
func requireOrderedPerAggregate(t testing.TB, got []events.Envelope) {
	t.Helper()
	last := map[string]int{}
	for _, env := range got {
		e, err := events.Decode(&env)
		require.NoError(t, err)
		seq := e.(*events.PeerEncounterFinalized).DurationMinutes
		if prev, ok := last[env.Subject]; ok {
			require.Greater(t, seq, prev, "aggregate %s out of order", env.Subject)
		}
		last[env.Subject] = seq
	}
}

func (b *bundle) statusCounts(t testing.TB) map[string]int {
	t.Helper()
	rows, _ := b.db.Admin.Query(context.Background(), `SELECT status, count(*)::int FROM public.cl_pm_events GROUP BY status`)
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		require.NoError(t, rows.Scan(&s, &n))
		out[s] = n
	}
	require.NoError(t, rows.Err())
	return out
}

func TestRelayDeliversInOrderPerAggregate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.publishMany(t, 300, 7)
	sink := eventstest.NewSink()
	r := b.relay(t, sink, &events.RelayConfig{BatchSize: 50})
	b.runRelays(t, sink, 300, r)
	requireOrderedPerAggregate(t, sink.Events())
	require.Equal(t, 300, sink.Deliveries(), "nothing delivered twice in the normal path")
	require.Equal(t, map[string]int{"delivered": 300}, b.statusCounts(t))
	m := r.Metrics()
	require.EqualValues(t, 300, m.Delivered)
	require.Positive(t, m.Batches)
}

func TestRelaysInParallelNeverDeliverTwice(t *testing.T) {
	t.Parallel()
	for _, relays := range []int{2, 4} {
		t.Run(fmt.Sprintf("%d relays", relays), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.publishMany(t, 2000, 40)
			sink := eventstest.NewSink()
			var rs []*events.Relay
			for range relays {
				// A broker that takes a moment per batch keeps each claim
				// open long enough that the relays' batches overlap (on a
				// loaded machine one relay could otherwise drain them all).
				rs = append(rs, b.relay(t, slowSink{sink, 2 * time.Millisecond}, &events.RelayConfig{BatchSize: 25}))
			}
			b.runRelays(t, sink, 2000, rs...)
			require.Equal(t, 2000, sink.Deliveries(), "an event was delivered twice")
			requireOrderedPerAggregate(t, sink.Events())
			var total int64
			for _, r := range rs {
				total += r.Metrics().Delivered
				require.Positive(t, r.Metrics().Delivered, "every relay took part")
			}
			require.EqualValues(t, 2000, total)
		})
	}
}

// slowSink delivers to its Sink after a pause.
type slowSink struct {
	*eventstest.Sink
	pause time.Duration
}

func (s slowSink) Deliver(ctx context.Context, batch []events.Envelope) (int, error) {
	time.Sleep(s.pause)
	return s.Sink.Deliver(ctx, batch)
}

func TestSinkFailsForAWhileThenRecovers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	published := b.publishMany(t, 50, 5)
	sink := eventstest.NewSink()
	// The error text carries payload content: it must reach neither the
	// database nor the logs.
	leak := published[0].ChartID.String()
	sink.FailNext(4, fmt.Errorf("broker rejected chart %s", leak))
	var logs bytes.Buffer
	r := b.relay(t, sink, &events.RelayConfig{BatchSize: 10, Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	b.runRelays(t, sink, 50, r)

	require.Len(t, sink.Events(), 50, "no event lost")
	require.Equal(t, 50, sink.Deliveries())
	requireOrderedPerAggregate(t, sink.Events())
	require.EqualValues(t, 4, r.Metrics().Retried)
	require.Contains(t, logs.String(), "will retry")
	requireNoPayloadIn(t, logs.String(), published)

	var lastErrors []string
	rows, _ := b.db.Admin.Query(context.Background(), `SELECT last_error FROM public.cl_pm_events WHERE last_error IS NOT NULL`)
	lastErrors, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.NotEmpty(t, lastErrors)
	for _, le := range lastErrors {
		require.True(t, strings.HasPrefix(le, "error:*"), "the error's kind, not its message: %s", le)
		require.NotContains(t, le, leak)
	}
}

func requireNoPayloadIn(t testing.TB, logs string, published []*events.PeerEncounterFinalized) {
	t.Helper()
	for _, e := range published {
		for _, v := range []string{e.ChartID.String(), e.PeerProviderID.String(), e.PeerEncounterID.String()} {
			require.NotContains(t, logs, v, "payload content in the relay's logs")
		}
	}
}

func TestEventsAreDeadLetteredAfterTheLastAttempt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.publishMany(t, 1, 1)
	sink := eventstest.NewSink()
	sink.FailNext(1000, errors.New("down"))
	r := b.relay(t, sink, &events.RelayConfig{MaxAttempts: 3, RetryBackoff: time.Millisecond, MaxRetryBackoff: 2 * time.Millisecond})
	ctx := context.Background()
	require.Eventually(t, func() bool {
		_, _ = r.RunOnce(ctx)
		return b.statusCounts(t)["dead"] == 1
	}, 10*time.Second, 5*time.Millisecond)
	m := r.Metrics()
	require.EqualValues(t, 1, m.DeadLettered)
	require.EqualValues(t, 2, m.Retried)
	var attempts int
	var lastError string
	require.NoError(t, b.db.Admin.QueryRow(ctx, `SELECT attempts, last_error FROM public.cl_pm_events`).Scan(&attempts, &lastError))
	require.Equal(t, 3, attempts)
	require.Equal(t, "error:*errors.errorString", lastError)
	n, err := r.RunOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "a dead event is not claimed again")
}

// kindless is a sink error that names no kind.
type kindless struct{}

func (kindless) Error() string { return "no kind" }
func (kindless) Kind() string  { return "" }

// Whatever the sink's error, its event ends dead-lettered with a stored kind:
// nothing is retried forever.
func TestAKindlessErrorIsDeadLetteredToo(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.publishMany(t, 1, 1)
	sink := eventstest.NewSink()
	sink.FailNext(1000, kindless{})
	r := b.relay(t, sink, &events.RelayConfig{MaxAttempts: 2, RetryBackoff: time.Millisecond, MaxRetryBackoff: 2 * time.Millisecond})
	ctx := context.Background()
	require.Eventually(t, func() bool {
		_, _ = r.RunOnce(ctx)
		return b.statusCounts(t)["dead"] == 1
	}, 10*time.Second, 5*time.Millisecond)
	var lastError string
	require.NoError(t, b.db.Admin.QueryRow(ctx, `SELECT last_error FROM public.cl_pm_events`).Scan(&lastError))
	require.Equal(t, "unknown", lastError)
	require.Equal(t, "unknown", events.ErrorKind(kindless{}))
	require.Equal(t, "a_b", events.ErrorKind(kinded("a b")))
}

type kinded string

func (k kinded) Error() string { return string(k) }
func (k kinded) Kind() string  { return string(k) }

// cancelAfterDelivery succeeds, then cancels the relay's context before the
// relay can commit "delivered".
type cancelAfterDelivery struct {
	*eventstest.Sink
	cancel context.CancelFunc
	once   sync.Once
}

func (s *cancelAfterDelivery) Deliver(ctx context.Context, batch []events.Envelope) (int, error) {
	n, err := s.Sink.Deliver(ctx, batch)
	s.once.Do(s.cancel)
	return n, err
}

// A stop is graceful: a batch the sink accepted before the cancellation
// is still recorded as delivered, so it is not delivered twice.
func TestStopAfterTheHandOverRecordsTheDelivery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.publishMany(t, 20, 20) // one event per aggregate: one batch takes all
	fake := eventstest.NewSink()
	ctx, cancel := context.WithCancel(context.Background())
	r := b.relay(t, &cancelAfterDelivery{Sink: fake, cancel: cancel}, &events.RelayConfig{BatchSize: 20})
	n, err := r.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 20, n)
	require.Equal(t, 20, fake.Deliveries())
	require.Equal(t, map[string]int{"delivered": 20}, b.statusCounts(t), "recorded although the relay was stopping")
	require.EqualValues(t, 20, r.Metrics().Delivered)

	// A relay stopped before the hand-over claims nothing and spends no
	// attempt.
	b.publishMany(t, 5, 5)
	_, err = r.RunOnce(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, map[string]int{"delivered": 20, "pending": 5}, b.statusCounts(t))
}

// dropConnection terminates the relay's database session while the relay
// waits for the sink, once.
type dropConnection struct {
	*eventstest.Sink
	db      *testdb.DB
	dropped atomic.Bool
}

func (s *dropConnection) Deliver(ctx context.Context, batch []events.Envelope) (int, error) {
	n, err := s.Sink.Deliver(ctx, batch)
	if s.dropped.CompareAndSwap(false, true) {
		_, terr := s.db.Admin.Exec(context.Background(), `SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity
			WHERE datname = current_database() AND usename = $1 AND state = 'idle in transaction'`, testdb.AppRole)
		if terr != nil {
			return 0, terr
		}
	}
	return n, err
}

func TestConnectionDropInTheMiddleOfABatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.publishMany(t, 30, 30)
	fake := eventstest.NewSink()
	sink := &dropConnection{Sink: fake, db: b.db}
	r := b.relay(t, sink, &events.RelayConfig{BatchSize: 10})
	_, err := r.RunOnce(context.Background())
	require.Error(t, err, "marking delivered fails on the dropped connection")
	require.True(t, sink.dropped.Load())

	b.runRelays(t, fake, 30, r)
	require.Len(t, fake.Events(), 30, "no event lost")
	require.Equal(t, 40, fake.Deliveries(), "the interrupted batch was delivered again")
	requireOrderedPerAggregate(t, fake.Events())
}

func TestNotifyWakesTheRelay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sink := eventstest.NewSink()
	r := b.relay(t, sink, &events.RelayConfig{PollInterval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	time.Sleep(200 * time.Millisecond) // let it drain the empty outbox and LISTEN

	start := time.Now()
	b.publishMany(t, 1, 1)
	sink.WaitFor(t, 1, 5*time.Second)
	t.Logf("commit to sink: %s", time.Since(start))
	require.Less(t, time.Since(start), 2*time.Second, "NOTIFY, not the hourly poll, woke the relay")
	cancel()
	require.NoError(t, <-done)
}

func TestRelayConfigIsChecked(t *testing.T) {
	_, err := events.NewRelay(nil)
	require.Error(t, err)
	_, err = events.NewRelay(&events.RelayConfig{Sink: eventstest.NewSink()})
	require.Error(t, err)
	pool := testdb.New(t).App
	for _, cfg := range []events.RelayConfig{{BatchSize: 10001}, {MaxAttempts: -1}, {Workers: 17}, {Workers: -1}} {
		cfg.Pool, cfg.Sink = pool, eventstest.NewSink()
		_, err = events.NewRelay(&cfg)
		require.Error(t, err, "%+v", cfg)
	}
}

// testLog sends a relay's log lines to the test's log.
type testLog struct{ t testing.TB }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// Pruning compacts old delivered events to tombstones: their payload goes,
// their keys stay, so the same event can never be stored (and charged)
// again.
func TestPruneCompactsOnlyOldDeliveredEvents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.publishMany(t, 6, 6)
	sink := eventstest.NewSink()
	r := b.relay(t, sink, &events.RelayConfig{Retention: 24 * time.Hour})
	require.NoError(t, r.Drain(ctx))
	b.publishMany(t, 2, 2) // still pending
	b.db.Exec(t, `UPDATE public.cl_pm_events SET delivered_at = delivered_at - interval '2 days'
		WHERE status = 'delivered' AND id IN (SELECT id FROM public.cl_pm_events WHERE status = 'delivered' LIMIT 4)`)
	n, err := r.Prune(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 4, n)
	require.Equal(t, map[string]int{"delivered": 6, "pending": 2}, b.statusCounts(t))
	var compacted, emptied int
	require.NoError(t, b.db.Admin.QueryRow(ctx, `SELECT count(*) FILTER (WHERE compacted_at IS NOT NULL),
		count(*) FILTER (WHERE envelope = '{}'::jsonb) FROM public.cl_pm_events`).Scan(&compacted, &emptied))
	require.Equal(t, 4, compacted)
	require.Equal(t, 4, emptied, "the payload is gone")
	n, err = r.Prune(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "a tombstone is compacted once")

	keep := b.relay(t, sink, nil) // no retention: keeps everything
	n, err = keep.Prune(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestDeadEventsHoldBackTheirAggregateUntilRetried(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	published := b.publishMany(t, 3, 1) // one aggregate: events 0, 1, 2
	sink := eventstest.NewSink()
	sink.FailNext(2, errors.New("down"))
	r := b.relay(t, sink, &events.RelayConfig{MaxAttempts: 2, RetryBackoff: time.Millisecond, MaxRetryBackoff: time.Millisecond})
	require.Eventually(t, func() bool {
		_, _ = r.RunOnce(ctx)
		return b.statusCounts(t)["dead"] == 1
	}, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, r.Drain(ctx))
	require.Empty(t, sink.Events(), "the later events wait behind the dead one")
	require.Equal(t, map[string]int{"dead": 1, "pending": 2}, b.statusCounts(t))

	var deadID uuid.UUID
	require.NoError(t, b.db.Admin.QueryRow(ctx, `SELECT id FROM public.cl_pm_events WHERE status = 'dead'`).Scan(&deadID))
	ok, err := r.Retry(ctx, b.org, deadID)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, r.Drain(ctx))
	require.Len(t, sink.Events(), 3)
	requireOrderedPerAggregate(t, sink.Events())
	first, err := events.Decode(&sink.Events()[0])
	require.NoError(t, err)
	require.Equal(t, published[0].PeerEncounterID, first.AggregateID())
}

func TestAnUndecodableEventIsDeadLetteredAndTheRestFlow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.publishMany(t, 2, 2)
	// A host's superuser writes garbage straight into the table.
	b.db.Exec(t, `INSERT INTO public.cl_pm_events (organization_id, id, event_type, aggregate_id, idempotency_key, envelope)
		VALUES ($1, pg_catalog.gen_random_uuid(), 'peer_encounter_finalized', pg_catalog.gen_random_uuid(), 'garbage', '{"id": 5}')`, b.org)
	b.publishMany(t, 2, 2)
	sink := eventstest.NewSink()
	r := b.relay(t, sink, nil)
	require.NoError(t, r.Drain(ctx))
	require.NoError(t, r.Drain(ctx))
	require.Len(t, sink.Events(), 4, "the other organizations' and aggregates' events are not stuck")
	require.Equal(t, map[string]int{"delivered": 4, "dead": 1}, b.statusCounts(t))
	require.EqualValues(t, 1, r.Metrics().DeadLettered)
}
