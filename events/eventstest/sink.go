// Package eventstest helps hosts test code that publishes events: [Sink]
// is a recording fake sink for a [events.Relay], [RequirePublished] and
// [RequirePublishedTx] assert that an event is in the outbox (inside the
// caller's transaction, as River's rivertest does for jobs), and
// [RunSinkSuite] is the conformance suite every sink passes.
package eventstest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/events"
)

// Sink is a recording fake [events.Sink]. Like a JetStream stream with a
// duplicate window, it keeps one copy of each event id. Faults can be
// injected with [Sink.FailNext]. Safe for concurrent use.
type Sink struct {
	mu       sync.Mutex
	cond     *sync.Cond
	events   []events.Envelope
	seen     map[uuid.UUID]bool
	attempts int // every envelope handed to Deliver, duplicates included
	failures []error
}

// NewSink returns an empty fake sink.
func NewSink() *Sink {
	s := &Sink{seen: map[uuid.UUID]bool{}}
	s.cond = sync.NewCond(&s.mu)
	return s
}

var _ events.Sink = (*Sink)(nil)

// Deliver records the batch in order, dropping envelopes it has seen. It
// fails with ctx's error when ctx is done, and with the next injected
// fault, if any, before recording anything.
func (s *Sink) Deliver(ctx context.Context, batch []events.Envelope) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) > 0 {
		err := s.failures[0]
		s.failures = s.failures[1:]
		return 0, err
	}
	for _, e := range batch {
		s.attempts++
		if !s.seen[e.ID] {
			s.seen[e.ID] = true
			s.events = append(s.events, e)
		}
	}
	s.cond.Broadcast()
	return len(batch), nil
}

// FailNext makes the next n calls to Deliver fail with err.
func (s *Sink) FailNext(n int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, err)
	}
}

// Events returns the distinct events received so far, in order.
func (s *Sink) Events() []events.Envelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// OfType returns the distinct events of one type received so far.
func (s *Sink) OfType(eventType string) []events.Envelope {
	var out []events.Envelope
	for _, e := range s.Events() {
		if e.Type == eventType {
			out = append(out, e)
		}
	}
	return out
}

// Deliveries returns how many envelopes were handed to Deliver and
// accepted, duplicates included.
func (s *Sink) Deliveries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// WaitFor waits until at least n distinct events have arrived and returns
// them, failing t after timeout.
func (s *Sink) WaitFor(t testing.TB, n int, timeout time.Duration) []events.Envelope {
	t.Helper()
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer timer.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.events) < n {
		if time.Now().After(deadline) {
			t.Fatalf("eventstest: %d of %d events after %s", len(s.events), n, timeout)
		}
		s.cond.Wait()
	}
	return slices.Clone(s.events)
}
