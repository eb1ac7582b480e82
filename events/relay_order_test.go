package events_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/encoreos/platform-go/events"
)

// handOverSink records every envelope it accepts, duplicates included, in
// the order it accepted them across all relays; every seventh call accepts
// only the first half of its batch and fails the rest (a broker that fails
// part-way), so that retries and partial batches happen under load too.
type handOverSink struct {
	mu       sync.Mutex
	calls    int
	accepted []uuid.UUID
}

var errPartWay = errors.New("broker failed part-way")

func (s *handOverSink) Deliver(_ context.Context, batch []events.Envelope) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	n, err := len(batch), error(nil)
	if s.calls%7 == 0 {
		n, err = len(batch)/2, errPartWay
	}
	for _, e := range batch[:n] {
		s.accepted = append(s.accepted, e.ID)
	}
	return n, err
}

func (s *handOverSink) handedOver() []uuid.UUID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]uuid.UUID(nil), s.accepted...)
}

// Per-aggregate order under load: 1,000 aggregates with 10 events each,
// stored round by round (so that every batch mixes aggregates), then 5
// more rounds stored while 3 relays drain them concurrently (so that new
// events arrive for aggregates whose earlier events are in flight), to a
// sink that fails part-way through every seventh batch. In the order the
// sink accepted them, no event of an aggregate is handed over before every
// earlier event of that aggregate (by aggregate_seq, the database's
// numbering) was, redeliveries of an event already handed over aside, and
// every event is handed over.
func TestRelaysKeepEachAggregatesOrderUnderLoad(t *testing.T) {
	t.Parallel()
	const aggregates, rounds, laterRounds = 1000, 10, 5
	b := setup(t)
	aggs := newAggregates(aggregates)
	b.insertEvents(t, aggs, rounds)

	sink := &handOverSink{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var g errgroup.Group
	relays := make([]*events.Relay, 3)
	for i := range relays {
		// MaxAttempts high: a dead-lettered event would (rightly) hold its
		// aggregate back, and this test is about order, not dead letters.
		relays[i] = b.relay(t, sink, &events.RelayConfig{BatchSize: 200 + 100*i, MaxAttempts: 1000})
		g.Go(func() error { return relays[i].Run(ctx) })
	}
	for range laterRounds {
		time.Sleep(20 * time.Millisecond)
		b.insertEvents(t, aggs, 1)
	}
	total := aggregates * (rounds + laterRounds)
	require.Eventually(t, func() bool { return b.statusCounts(t)["delivered"] == total }, 60*time.Second, 20*time.Millisecond,
		"every event delivered")
	cancel()
	require.NoError(t, g.Wait())

	type place struct {
		aggregate uuid.UUID
		seq       int
	}
	places := map[uuid.UUID]place{}
	rows, err := b.db.Admin.Query(context.Background(), `SELECT id, aggregate_id, aggregate_seq FROM public.cl_pm_events`)
	require.NoError(t, err)
	for rows.Next() {
		var id uuid.UUID
		var p place
		require.NoError(t, rows.Scan(&id, &p.aggregate, &p.seq))
		places[id] = p
	}
	require.NoError(t, rows.Err())
	require.Len(t, places, total)

	highest := map[uuid.UUID]int{} // per aggregate, the last seq handed over in order
	for i, id := range sink.handedOver() {
		p, ok := places[id]
		require.True(t, ok, "hand-over %d: an event not in the outbox", i)
		require.LessOrEqual(t, p.seq, highest[p.aggregate]+1,
			"hand-over %d: event %d of aggregate %s before event %d", i, p.seq, p.aggregate, highest[p.aggregate]+1)
		highest[p.aggregate] = max(highest[p.aggregate], p.seq)
	}
	require.Len(t, highest, aggregates)
	for agg, h := range highest {
		require.Equal(t, rounds+laterRounds, h, "aggregate %s", agg)
	}
	var retried, delivered int64
	for _, r := range relays {
		retried += r.Metrics().Retried
		delivered += r.Metrics().Delivered
		require.Positive(t, r.Metrics().Delivered, "every relay took part")
	}
	require.Positive(t, retried, "the sink's failures were retried")
	require.EqualValues(t, total, delivered)
}
