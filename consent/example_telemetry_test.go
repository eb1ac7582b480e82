package consent_test

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/platformtest"
)

// A host hands the client its OpenTelemetry providers (here the SDK's
// ManualReader and SpanRecorder; in production its exporters'): each
// decision is a span and a count by codes, never by chart.
func ExampleConfig_openTelemetry() {
	tb := platformtest.NewT() // in a test, the test's own t
	defer tb.Close()
	db := platformtest.NewDB(tb)
	ctx := context.Background()
	org := db.NewOrg(tb)
	clinician := db.NewMember(tb, org, "clinician")
	chart := db.NewChart(tb, org, true)

	reader := sdkmetric.NewManualReader()
	spans := tracetest.NewSpanRecorder()
	store, err := consent.New(db.App, &consent.Config{
		MeterProvider:  sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)),
	})
	if err != nil {
		panic(err)
	}
	if _, err := store.Check(ctx, consent.Request{ActingUser: clinician, ChartID: chart, RecordType: consent.RecordProgressNote}); err != nil {
		panic(err)
	}

	for _, s := range spans.Ended() {
		fmt.Println("span", s.Name())
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		panic(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				fmt.Println(m.Name, m.Unit, dp.Attributes.Encoded(attribute.DefaultEncoder()), dp.Value)
			}
		}
	}
	// Output:
	// span platform.transaction
	// span consent.Check
	// platform.consent.decisions {decision} basis=denied,decision=deny,purpose=TREAT,record_type=progress_note,use=display 1
}
