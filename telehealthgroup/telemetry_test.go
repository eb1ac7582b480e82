package telehealthgroup_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/encoreos/platform-go/billing"
	"github.com/encoreos/platform-go/telehealthgroup"
)

// Each call is a span named by package and method, its attributes the
// organization and the session or attendance it is about: ids and codes,
// never a chart (whose id would tie the call to a patient).
func TestCallsAreSpans(t *testing.T) {
	t.Parallel()
	b := setup(t)
	spans := tracetest.NewSpanRecorder()
	var err error
	b.client, err = telehealthgroup.New(b.db.App, &telehealthgroup.Config{Scheduling: b.scheduling,
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))})
	require.NoError(t, err)
	ctx := context.Background()
	b.configure(t, telehealthgroup.Virtual, billing.ProfileDefault)
	chart := b.db.NewChart(t, b.org, false)
	a := b.attendee(t, chart, telehealthgroup.Video, true)
	_, err = b.client.Start(ctx, b.facilitator, b.org, b.session, uuid.New())
	require.NoError(t, err)
	require.NoError(t, b.client.SetAttendance(ctx, b.facilitator, b.org, a.AttendanceID, telehealthgroup.Present, time.Now(), time.Time{}))
	_, err = b.client.Conclude(ctx, b.peer, b.org, b.session, uuid.New(), time.Now())
	require.ErrorIs(t, err, telehealthgroup.ErrPermissionDenied, "a peer may not conclude")

	var names []string
	for _, s := range spans.Ended() {
		if s.Parent().IsValid() {
			continue // the transactions under each call
		}
		names = append(names, s.Name())
		attrs := map[string]string{}
		for _, kv := range s.Attributes() {
			attrs[string(kv.Key)] = kv.Value.Emit()
			require.NotEqual(t, chart.String(), kv.Value.Emit(), "%s names no chart", s.Name())
		}
		require.Equal(t, b.org.String(), attrs["platform.organization.id"], s.Name())
	}
	require.Equal(t, []string{"telehealthgroup.Configure", "telehealthgroup.AddAttendee", "telehealthgroup.Start",
		"telehealthgroup.SetAttendance", "telehealthgroup.Conclude"}, names)
	last := spans.Ended()[len(spans.Ended())-1]
	require.Equal(t, "telehealthgroup.Conclude", last.Name())
	require.Equal(t, "Error", last.Status().Code.String(), "a refusal ends its span in error")
}
