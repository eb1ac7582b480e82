package natsjs_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/events/eventstest"
	"github.com/encoreos/platform-go/events/natsjs"
	"github.com/encoreos/platform-go/internal/natsserver"
	"github.com/encoreos/platform-go/internal/testdb"
)

func TestMain(m *testing.M) {
	stop, err := natsserver.ForExamples() // ExampleSink reads NATS_URL
	if err != nil {
		panic(err)
	}
	testdb.Main(m, stop)
}

// startJetStream runs an in-process server with a fresh stream and returns
// a sink and the stream.
func startJetStream(t *testing.T) (*natsjs.Sink, jetstream.Stream) {
	t.Helper()
	srv, err := natsserver.Start()
	require.NoError(t, err)
	t.Cleanup(srv.Stop)
	nc, err := nats.Connect(srv.URL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	stream, err := js.CreateStream(context.Background(), natsjs.StreamConfig("CL_PM_EVENTS", ""))
	require.NoError(t, err)
	return natsjs.NewSink(js, nil), stream
}

// received reads the stream from the start as a consumer that deduplicates
// by CloudEvents id.
func received(t testing.TB, stream jetstream.Stream, n int, timeout time.Duration) []events.Envelope {
	t.Helper()
	ctx := context.Background()
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	seen := map[uuid.UUID]bool{}
	var out []events.Envelope
	deadline := time.Now().Add(timeout)
	for len(out) < n && time.Now().Before(deadline) {
		batch, err := cons.FetchNoWait(1000)
		require.NoError(t, err)
		got := 0
		for msg := range batch.Messages() {
			got++
			var e events.Envelope
			require.NoError(t, json.Unmarshal(msg.Data(), &e))
			require.Equal(t, e.ID.String(), msg.Headers().Get(jetstream.MsgIDHeader))
			if !seen[e.ID] {
				seen[e.ID] = true
				out = append(out, e)
			}
		}
		if got == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	return out
}

func TestJetStreamSinkConforms(t *testing.T) {
	eventstest.RunSinkSuite(t, func(t *testing.T) eventstest.SinkHarness {
		sink, stream := startJetStream(t)
		return eventstest.SinkHarness{
			Sink: sink,
			Received: func(t testing.TB, n int, timeout time.Duration) []events.Envelope {
				return received(t, stream, n, timeout)
			},
		}
	})
}

func TestJetStreamDropsRedeliveredEvents(t *testing.T) {
	sink, stream := startJetStream(t)
	ctx := context.Background()
	env := events.Envelope{SpecVersion: "1.0", ID: uuid.New(), Source: events.DefaultSource, Type: "x_y", Time: time.Now().UTC(),
		DataContentType: "application/json", OrganizationID: uuid.New(), Data: json.RawMessage(`{}`)}
	for range 3 {
		n, err := sink.Deliver(ctx, []events.Envelope{env})
		require.NoError(t, err)
		require.Equal(t, 1, n)
	}
	info, err := stream.Info(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, info.State.Msgs, "the duplicate window keeps one copy")
	require.Equal(t, "cl_pm_events."+env.OrganizationID.String()+".x_y", sink.Subject(&env))
}

func TestNoStreamIsAnError(t *testing.T) {
	srv, err := natsserver.Start()
	require.NoError(t, err)
	defer srv.Stop()
	nc, err := nats.Connect(srv.URL())
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	sink := natsjs.NewSink(js, &natsjs.Config{SubjectPrefix: "nowhere"})
	env := events.Envelope{ID: uuid.New(), Type: "x_y", OrganizationID: uuid.New(), Data: json.RawMessage(`{}`)}
	n, err := sink.Deliver(context.Background(), []events.Envelope{env})
	require.Zero(t, n)
	require.Equal(t, "natsjs:no_stream", events.ErrorKind(err))
}
