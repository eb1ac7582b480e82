package consent_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/internal/testdb"
)

// BenchmarkCheckTelemetry is one consent decision about a Part 2 chart
// (a span, its transaction's child span and a count) with no
// provider installed (the default: this package's tests never install a
// global one) and with the SDK recording to a ManualReader and a
// SpanRecorder.
func BenchmarkCheckTelemetry(b *testing.B) {
	db := testdb.New(b)
	org := db.NewOrg(b)
	clinician := db.NewMember(b, org, "clinician")
	req := consent.Request{ActingUser: clinician, ChartID: db.NewChart(b, org, true), RecordType: consent.RecordProgressNote}
	spans := tracetest.NewSpanRecorder()
	for _, c := range []struct {
		name string
		cfg  *consent.Config
	}{
		{"no provider", nil},
		{"sdk", &consent.Config{
			MeterProvider:  sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())),
			TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)),
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			client, err := consent.New(db.App, c.cfg)
			require.NoError(b, err)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				d, err := client.Check(ctx, req)
				require.NoError(b, err)
				require.False(b, d.Allowed)
			}
		})
	}
}
