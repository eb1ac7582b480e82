package events

import (
	"context"
	"errors"
	"reflect"
	"regexp"
)

// Sink delivers envelopes to a message broker. The relay hands it batches
// of pending events; events/natsjs has the NATS JetStream sink and
// events/eventstest a recording fake, and both pass eventstest.RunSinkSuite.
type Sink interface {
	// Deliver sends batch in order and returns how many of its leading
	// envelopes were delivered; when that is fewer than len(batch) it also
	// returns the error that stopped it. The relay may deliver an envelope
	// again (after a crash, say): consumers deduplicate by Envelope.ID, and
	// a sink that can (JetStream) drops such duplicates itself.
	Deliver(ctx context.Context, batch []Envelope) (int, error)
}

// Kinded is implemented by sink errors that name their kind; the relay
// records the kind (never the message, which might hold payload content)
// as an event's last error.
type Kinded interface {
	error
	Kind() string
}

var unsafeKindChars = regexp.MustCompile(`[^A-Za-z0-9_.:*/-]`)

// ErrorKind returns the kind of a delivery error: "canceled", "timeout",
// the Kind of a [Kinded] error, or the error's Go type, reduced to code
// characters; "unknown" for a Kinded error of no kind. It is never empty
// for an error: it is what the relay stores and logs.
func ErrorKind(err error) string {
	var k Kinded
	kind := ""
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled):
		kind = "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		kind = "timeout"
	case errors.As(err, &k):
		kind = k.Kind()
	default:
		kind = "error:" + reflect.TypeOf(err).String()
	}
	kind = unsafeKindChars.ReplaceAllString(kind, "_")
	if len(kind) > 120 {
		kind = kind[:120]
	}
	if kind == "" {
		kind = "unknown" // a kind is always stored, so the event is always dead-lettered in the end
	}
	return kind
}

// SinkFunc adapts a function to a [Sink], for a broker without an adapter
// of its own.
type SinkFunc func(ctx context.Context, batch []Envelope) (int, error)

// Deliver calls f.
func (f SinkFunc) Deliver(ctx context.Context, batch []Envelope) (int, error) { return f(ctx, batch) }
