package eventstest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/events"
)

// SinkHarness is one sink under test and a way to read what it delivered.
type SinkHarness struct {
	// Sink is the implementation under test.
	Sink events.Sink
	// Received waits until at least n distinct events have arrived (or
	// timeout passes) and returns every event received, in arrival order,
	// as a consumer that deduplicates by event id sees them.
	Received func(t testing.TB, n int, timeout time.Duration) []events.Envelope
}

// RunSinkSuite checks that a sink delivers in order per aggregate, can
// deliver again after a failure, lets duplicates be dropped by event id, and
// honours context cancellation. newHarness is called once per subtest and
// must return a sink whose consumer has received nothing yet.
func RunSinkSuite(t *testing.T, newHarness func(t *testing.T) SinkHarness) {
	ctx := context.Background()
	const timeout = 10 * time.Second

	t.Run("DeliversInOrderPerAggregate", func(t *testing.T) {
		h := newHarness(t)
		org := uuid.New()
		aggregates := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
		var batch []events.Envelope
		for i := range 30 {
			batch = append(batch, envelope(t, org, aggregates[i%3], i))
		}
		n, err := h.Sink.Deliver(ctx, batch)
		if err != nil || n != len(batch) {
			t.Fatalf("Deliver = %d, %v; want %d, nil", n, err, len(batch))
		}
		got := h.Received(t, len(batch), timeout)
		if len(got) != len(batch) {
			t.Fatalf("received %d events, want %d", len(got), len(batch))
		}
		last := map[string]int{}
		for _, e := range got {
			seq := sequence(t, e)
			if prev, ok := last[e.Subject]; ok && seq < prev {
				t.Fatalf("aggregate %s: event %d arrived after %d", e.Subject, seq, prev)
			}
			last[e.Subject] = seq
		}
	})

	t.Run("DeliveringAgainIsDeduplicatedByEventID", func(t *testing.T) {
		h := newHarness(t)
		org, agg := uuid.New(), uuid.New()
		batch := []events.Envelope{envelope(t, org, agg, 0), envelope(t, org, agg, 1)}
		for range 3 {
			if n, err := h.Sink.Deliver(ctx, batch); err != nil || n != 2 {
				t.Fatalf("Deliver = %d, %v", n, err)
			}
		}
		extra := envelope(t, org, agg, 2)
		if _, err := h.Sink.Deliver(ctx, []events.Envelope{extra}); err != nil {
			t.Fatal(err)
		}
		got := h.Received(t, 3, timeout)
		if len(got) != 3 || got[2].ID != extra.ID {
			t.Fatalf("received %d events (%v), want the 3 distinct ones", len(got), ids(got))
		}
	})

	t.Run("CancelledContextDeliversNothingAndRedeliveryWorks", func(t *testing.T) {
		h := newHarness(t)
		org := uuid.New()
		batch := []events.Envelope{envelope(t, org, uuid.New(), 0), envelope(t, org, uuid.New(), 1)}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		n, err := h.Sink.Deliver(cancelled, batch)
		if err == nil || n != 0 {
			t.Fatalf("Deliver with a cancelled context = %d, %v; want 0 and an error", n, err)
		}
		// The relay redelivers what was not confirmed.
		if n, err := h.Sink.Deliver(ctx, batch); err != nil || n != 2 {
			t.Fatalf("redelivery = %d, %v", n, err)
		}
		if got := h.Received(t, 2, timeout); len(got) != 2 {
			t.Fatalf("received %d events, want 2", len(got))
		}
	})

	t.Run("EnvelopeArrivesIntact", func(t *testing.T) {
		h := newHarness(t)
		sent := envelope(t, uuid.New(), uuid.New(), 7)
		if _, err := h.Sink.Deliver(ctx, []events.Envelope{sent}); err != nil {
			t.Fatal(err)
		}
		got := h.Received(t, 1, timeout)
		a, _ := json.Marshal(sent)
		b, _ := json.Marshal(got[0])
		if string(a) != string(b) {
			t.Fatalf("sent %s\nreceived %s", a, b)
		}
	})
}

// envelope builds a test envelope whose data carries its sequence number.
func envelope(t testing.TB, org, aggregate uuid.UUID, seq int) events.Envelope {
	t.Helper()
	return events.Envelope{
		SpecVersion:     events.SpecVersion,
		ID:              uuid.Must(uuid.NewV7()),
		Source:          events.DefaultSource,
		Type:            "eventstest_sequence",
		Time:            time.Now().UTC().Truncate(time.Microsecond),
		Subject:         aggregate.String(),
		DataContentType: "application/json",
		OrganizationID:  org,
		Data:            json.RawMessage(fmt.Sprintf(`{"seq":%d}`, seq)),
	}
}

func sequence(t testing.TB, e events.Envelope) int {
	t.Helper()
	var d struct{ Seq int }
	if err := json.Unmarshal(e.Data, &d); err != nil {
		t.Fatalf("event %s: %v", e.ID, err)
	}
	return d.Seq
}

func ids(es []events.Envelope) []uuid.UUID {
	out := make([]uuid.UUID, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}
