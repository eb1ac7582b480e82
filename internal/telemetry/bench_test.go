package telemetry_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/encoreos/platform-go/internal/telemetry"
)

// BenchmarkCallWithoutProvider is what instrumentation adds to a library
// call when no provider records: a call's span with two ids, a
// transaction span and an error's end, all no-ops.
func BenchmarkCallWithoutProvider(b *testing.B) {
	tel := telemetry.New(metricnoop.NewMeterProvider(), tracenoop.NewTracerProvider())
	org, id := uuid.New(), uuid.New()
	ctx := context.Background()
	failed := errors.New("failed")
	b.ReportAllocs()
	for b.Loop() {
		ctx, span := tel.Start(ctx, "peer.Finalize", telemetry.Organization(org), telemetry.ID("platform.peer_encounter.id", id))
		_, tx := telemetry.Transaction(ctx, id, false)
		tx.End(nil)
		span.End(&failed)
	}
}
