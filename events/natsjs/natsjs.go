// Package natsjs delivers events to NATS JetStream: the [Sink] a host gives
// its [events.Relay] when its broker is NATS.
//
// # Subjects
//
// Each event is published to
//
//	<prefix>.<organization_id>.<event_type>
//
// with the prefix "cl_pm_events" by default, e.g.
// cl_pm_events.6f1c…e2.peer_encounter_finalized. A consumer subscribes to
// one event type across organizations (cl_pm_events.*.peer_encounter_finalized)
// or to one organization (cl_pm_events.6f1c…e2.>). [StreamConfig] returns
// a stream configuration that captures them all.
//
// # Messages
//
// The message body is the CloudEvents 1.0 structured-mode JSON envelope
// (Content-Type application/cloudevents+json), and the Nats-Msg-Id header
// is the event id, so JetStream drops a redelivered event within the
// stream's duplicate window. Consumers still deduplicate by event id
// (CloudEvents id) for redeliveries older than that window.
package natsjs

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/encoreos/platform-go/events"
)

// Config configures a [Sink]; nil means the defaults.
type Config struct {
	// SubjectPrefix is the first subject token; default events.Channel.
	SubjectPrefix string
	// AckTimeout bounds the wait for the stream's acknowledgements of one
	// batch; default 10s.
	AckTimeout time.Duration
}

// Sink publishes events to JetStream. It implements [events.Sink].
type Sink struct {
	js         jetstream.JetStream
	prefix     string
	ackTimeout time.Duration
}

var _ events.Sink = (*Sink)(nil)

// NewSink returns a Sink publishing through js. The stream that stores the
// subjects must exist (see [StreamConfig]).
func NewSink(js jetstream.JetStream, cfg *Config) *Sink {
	s := &Sink{js: js, prefix: events.Channel, ackTimeout: 10 * time.Second}
	if cfg != nil {
		if cfg.SubjectPrefix != "" {
			s.prefix = cfg.SubjectPrefix
		}
		if cfg.AckTimeout > 0 {
			s.ackTimeout = cfg.AckTimeout
		}
	}
	return s
}

// StreamConfig is a stream for every event under prefix ("" means
// events.Channel), keeping a 10-minute duplicate window.
func StreamConfig(name, prefix string) jetstream.StreamConfig {
	if prefix == "" {
		prefix = events.Channel
	}
	return jetstream.StreamConfig{
		Name:       name,
		Subjects:   []string{prefix + ".>"},
		Storage:    jetstream.FileStorage,
		Duplicates: 10 * time.Minute,
	}
}

// Subject is the subject an envelope is published to.
func (s *Sink) Subject(e *events.Envelope) string {
	return s.prefix + "." + e.OrganizationID.String() + "." + e.Type
}

// sinkError carries a kind the relay may record (the NATS error text may
// name subjects, which hold organization ids).
type sinkError struct {
	kind string
	err  error
}

func (e *sinkError) Error() string { return "natsjs: " + e.kind + ": " + e.err.Error() }
func (e *sinkError) Unwrap() error { return e.err }
func (e *sinkError) Kind() string  { return "natsjs:" + e.kind }

// Deliver publishes the batch asynchronously, in order, then waits for the
// acknowledgements and returns how many leading events were stored.
func (s *Sink) Deliver(ctx context.Context, batch []events.Envelope) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	futures := make([]jetstream.PubAckFuture, 0, len(batch))
	for i := range batch {
		body, err := json.Marshal(&batch[i])
		if err != nil {
			return 0, &sinkError{"encode", err}
		}
		msg := nats.NewMsg(s.Subject(&batch[i]))
		msg.Data = body
		msg.Header.Set("Content-Type", "application/cloudevents+json")
		// No client-side retries: a retried message could overtake the next
		// one; the relay retries the batch from the first failure instead.
		f, err := s.js.PublishMsgAsync(msg, jetstream.WithMsgID(batch[i].ID.String()), jetstream.WithRetryAttempts(0))
		if err != nil {
			n, _ := s.confirmed(ctx, futures) // what was published before is acknowledged or not
			return n, &sinkError{"publish", err}
		}
		futures = append(futures, f)
	}
	return s.confirmed(ctx, futures)
}

// confirmed waits for the acknowledgements in order and returns how many
// leading publishes were stored, and why the next one was not.
func (s *Sink) confirmed(ctx context.Context, futures []jetstream.PubAckFuture) (int, error) {
	timeout := time.NewTimer(s.ackTimeout)
	defer timeout.Stop()
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			kind := "not_acknowledged"
			if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
				kind = "no_stream"
			}
			return i, &sinkError{kind, err}
		case <-ctx.Done():
			return i, ctx.Err()
		case <-timeout.C:
			return i, &sinkError{"ack_timeout", errors.New("no acknowledgement in time")}
		}
	}
	return len(futures), nil
}
