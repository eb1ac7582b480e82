package events

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/encoreos/platform-go/internal/telemetry"
)

// The relay's instruments (see the README's "Observability"). The counters
// and the lag gauge are observed from the relay's own counters, the ones
// [Relay.Metrics] returns: one source for both.
const (
	instrumentDelivered     = "platform.relay.events.delivered"
	instrumentRetried       = "platform.relay.events.retried"
	instrumentDeadLettered  = "platform.relay.events.dead_lettered"
	instrumentBatches       = "platform.relay.batches"
	instrumentLag           = "platform.relay.lag"
	instrumentBatchDuration = "platform.relay.batch.duration"
	spanBatch               = "events.relay.batch"
)

// batchDurationBuckets are the bucket boundaries of
// platform.relay.batch.duration, in seconds: the ones OpenTelemetry's
// semantic conventions give for durations of requests.
var batchDurationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// relayMetrics are a relay's counters since it was created.
type relayMetrics struct {
	delivered, retried, deadLettered, batches atomic.Int64
	lagNanos                                  atomic.Int64
}

func (m *relayMetrics) snapshot() Metrics {
	return Metrics{
		Delivered:    m.delivered.Load(),
		Retried:      m.retried.Load(),
		DeadLettered: m.deadLettered.Load(),
		Batches:      m.batches.Load(),
		Lag:          time.Duration(m.lagNanos.Load()),
	}
}

// instrument makes r's instruments with r's meter. The observed ones read
// r.metrics, not r, and are unregistered once r is unreachable, so a
// relay that is dropped leaves nothing behind in a long-lived provider.
func (r *Relay) instrument() {
	m := r.tel.Meter()
	counter := func(name, description string) metric.Int64ObservableCounter {
		c, err := m.Int64ObservableCounter(name, metric.WithUnit("{event}"), metric.WithDescription(description))
		telemetry.Handle(err)
		return c
	}
	delivered := counter(instrumentDelivered, "Events handed to the sink and marked delivered.")
	retried := counter(instrumentRetried, "Failed deliveries that will be retried.")
	dead := counter(instrumentDeadLettered, "Events moved to the dead-letter state.")
	batches, err1 := m.Int64ObservableCounter(instrumentBatches, metric.WithUnit("{batch}"),
		metric.WithDescription("Claims that found events."))
	lag, err2 := m.Float64ObservableGauge(instrumentLag, metric.WithUnit("s"),
		metric.WithDescription("Age of the oldest event of the last batch when it was claimed."))
	var err3 error
	r.batchDuration, err3 = m.Float64Histogram(instrumentBatchDuration, metric.WithUnit("s"),
		metric.WithDescription("Time from the claim of a batch to the commit of its outcome."),
		metric.WithExplicitBucketBoundaries(batchDurationBuckets...))
	telemetry.Handle(errors.Join(err1, err2, err3))

	counters := r.metrics
	reg, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := counters.snapshot()
		o.ObserveInt64(delivered, s.Delivered)
		o.ObserveInt64(retried, s.Retried)
		o.ObserveInt64(dead, s.DeadLettered)
		o.ObserveInt64(batches, s.Batches)
		o.ObserveFloat64(lag, s.Lag.Seconds())
		return nil
	}, delivered, retried, dead, batches, lag)
	if err != nil {
		telemetry.Handle(err)
		return
	}
	runtime.AddCleanup(r, func(reg metric.Registration) { telemetry.Handle(reg.Unregister()) }, reg)
}

// recordBatch records the duration of a batch that found events, since
// started, and ends its span with err.
func (r *Relay) recordBatch(ctx context.Context, span telemetry.Span, started time.Time, err error) {
	opts := []metric.RecordOption{}
	if err != nil {
		opts = append(opts, metric.WithAttributes(telemetry.ErrorTypeKey.String(ErrorKind(err))))
	}
	r.batchDuration.Record(ctx, time.Since(started).Seconds(), opts...)
	span.End(&err)
}
