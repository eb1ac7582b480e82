package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/events/natsjs"
)

var relayCommand = &command{
	name:    "relay",
	summary: "deliver the outbox's events to NATS JetStream until SIGINT or SIGTERM",
	help: `
Runs the event relay (events.Relay with the events/natsjs sink): it delivers
the events in cl_pm_events to JetStream, in order per record, each to
<prefix>.<organization_id>.<event_type> with its id as Nats-Msg-Id, woken by
NOTIFY and polling as the fallback; failures are retried with backoff and
dead-lettered after -max-attempts (see platform dead list). Several relays
may run at once. SIGINT or SIGTERM stops it gracefully: what JetStream
acknowledged is recorded as delivered, the rest stays queued for the next
relay. It logs event ids, types and error kinds to stderr, never payloads.

A stream must store the subjects, or every event would end dead-lettered:
the relay refuses to start without one, unless -create-stream creates (or
updates) the stream -stream with a 10-minute duplicate window.

Needs DATABASE_URL for the relay's login role (a member of cl_event_relay,
which reads and updates the outbox and nothing else), and NATS_URL (or
-nats-url; default nats://127.0.0.1:4222).

Example:
  DATABASE_URL=postgres://relay@db:5432/clinic NATS_URL=nats://nats:4222 \
    platform relay -create-stream
`,
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
		url := databaseFlag(fs)
		natsURL := fs.String("nats-url", "", "NATS server URL (default $NATS_URL, else nats://127.0.0.1:4222)")
		stream := fs.String("stream", "CL_PM_EVENTS", "the JetStream stream -create-stream creates")
		create := fs.Bool("create-stream", false, "create or update -stream to store <prefix>.> before relaying")
		prefix := fs.String("subject-prefix", events.Channel, "first token of every subject")
		batch := fs.Int("batch-size", 100, "events claimed per batch (1 to 10000)")
		attempts := fs.Int("max-attempts", 10, "failed deliveries that dead-letter an event (1 to 1000)")
		pollOnly := fs.Bool("poll-only", false, "poll only, without LISTEN (for Citus)")
		poll := fs.Duration("poll-interval", 2*time.Second, "how often to look for due events without a notification")
		retention := fs.Duration("retention", 0, "compact delivered events older than this to tombstones (0 keeps them)")
		return func(ctx context.Context, c *cli) int {
			if len(c.args) > 0 {
				return c.usage("unexpected argument %q", c.args[0])
			}
			return c.withPool(ctx, *url, relayRole, func(pool *pgxpool.Pool) int {
				nc, err := nats.Connect(firstOf(*natsURL, os.Getenv("NATS_URL"), nats.DefaultURL), nats.Name("platform relay"))
				if err != nil {
					return c.fail(fmt.Errorf("connecting to NATS: %w", err))
				}
				defer nc.Close()
				js, err := jetstream.New(nc)
				if err != nil {
					return c.fail(err)
				}
				name, err := ensureStream(ctx, js, *stream, *prefix, *create)
				if err != nil {
					return c.fail(err)
				}
				relay, err := events.NewRelay(&events.RelayConfig{
					Pool: pool, Sink: natsjs.NewSink(js, &natsjs.Config{SubjectPrefix: *prefix}),
					BatchSize: *batch, MaxAttempts: *attempts, PollOnly: *pollOnly, PollInterval: *poll, Retention: *retention,
					Logger: slog.New(slog.NewTextHandler(c.stderr, nil)),
				})
				if err != nil {
					return c.usage("%v", err)
				}
				c.printf("relay: delivering to stream %s (subjects %s.>); stop with SIGINT or SIGTERM\n", name, *prefix)
				if err := relay.Run(ctx); err != nil {
					return c.fail(err)
				}
				m := relay.Metrics()
				c.printf("relay: stopped: %d delivered, %d retried, %d dead-lettered\n", m.Delivered, m.Retried, m.DeadLettered)
				return exitOK
			})
		}
	},
}

// ensureStream creates or updates the stream when create is set, else
// finds the stream that stores the prefix's subjects; it returns the
// stream's name.
func ensureStream(ctx context.Context, js jetstream.JetStream, stream, prefix string, create bool) (string, error) {
	if create {
		if _, err := js.CreateOrUpdateStream(ctx, natsjs.StreamConfig(stream, prefix)); err != nil {
			return "", fmt.Errorf("creating stream %s: %w", stream, err)
		}
		return stream, nil
	}
	name, err := js.StreamNameBySubject(ctx, prefix+".>")
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return "", fmt.Errorf("no JetStream stream stores %s.>: create one (platform relay -create-stream, or natsjs.StreamConfig), or every event would end dead-lettered", prefix)
	}
	if err != nil {
		return "", fmt.Errorf("looking for the stream of %s.>: %w", prefix, err)
	}
	return name, nil
}

// firstOf returns the first value that is not empty (the flag, then the
// environment, then the default: never printed by help, since a URL may
// hold a password).
func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
