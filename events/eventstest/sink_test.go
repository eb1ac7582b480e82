package eventstest_test

import (
	"testing"
	"time"

	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/events/eventstest"
)

func TestFakeSinkConforms(t *testing.T) {
	eventstest.RunSinkSuite(t, func(t *testing.T) eventstest.SinkHarness {
		sink := eventstest.NewSink()
		return eventstest.SinkHarness{
			Sink: sink,
			Received: func(t testing.TB, n int, timeout time.Duration) []events.Envelope {
				return sink.WaitFor(t, n, timeout)
			},
		}
	})
}
