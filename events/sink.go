package events

import (
	"context"

	"github.com/encoreos/platform-go/internal/telemetry"
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

// ErrorKind returns the kind of a delivery error: "canceled", "timeout",
// the Kind of a [Kinded] error, the SQLSTATE of a database error
// ("sqlstate_XXXXX"), or the error's Go type, reduced to code characters;
// "unknown" for a Kinded error of no kind. It is never empty for an error:
// it is what the relay stores, logs and records in its spans and metrics,
// and what every library span records of a failed call.
func ErrorKind(err error) string { return telemetry.ErrorKind(err) }

// SinkFunc adapts a function to a [Sink], for a broker without an adapter
// of its own.
type SinkFunc func(ctx context.Context, batch []Envelope) (int, error)

// Deliver calls f.
func (f SinkFunc) Deliver(ctx context.Context, batch []Envelope) (int, error) { return f(ctx, batch) }
