package telemetry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/events/eventstest"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/telemetry"
	"github.com/encoreos/platform-go/internal/testdb"
	"github.com/encoreos/platform-go/internal/validate"
	"github.com/encoreos/platform-go/peer"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// providers are an SDK meter and tracer provider that keep what they get
// for the test to read.
type providers struct {
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	mp     *sdkmetric.MeterProvider
	tp     *sdktrace.TracerProvider
}

func newProviders() *providers {
	p := &providers{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	p.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(p.reader))
	p.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p.spans))
	return p
}

// metrics collects the instruments recorded so far, by name.
func (p *providers) metrics(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, p.reader.Collect(context.Background(), &rm))
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		require.Equal(t, telemetry.ScopeName, sm.Scope.Name)
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// named returns the ended spans called name.
func (p *providers) named(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range p.spans.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// scene is an organization with a peer specialist, a clinician and two
// charts, one of them Part 2, and clients that record to p.
type scene struct {
	db                      *testdb.DB
	org, peerUser, clinican uuid.UUID
	chart, part2            uuid.UUID
	peers                   *peer.Client
	consents                *consent.Client
}

func newScene(t *testing.T, tp trace.TracerProvider, mp *sdkmetric.MeterProvider) *scene {
	t.Helper()
	db := testdb.New(t)
	org := db.NewOrg(t)
	s := &scene{db: db, org: org, peerUser: db.NewMember(t, org, "peer_specialist"), clinican: db.NewMember(t, org, "clinician"),
		chart: db.NewChart(t, org, false), part2: db.NewChart(t, org, true)}
	var err error
	s.peers, err = peer.New(db.App, &peer.Config{TracerProvider: tp})
	require.NoError(t, err)
	ccfg := &consent.Config{TracerProvider: tp}
	if mp != nil {
		ccfg.MeterProvider = mp
	}
	s.consents, err = consent.New(db.App, ccfg)
	require.NoError(t, err)
	return s
}

// focusNotes are what a test writes as clinical text: nothing of it may
// reach a span or a metric.
const focusNotes = "Jane Roe discussed her relapse on 2026-11-02 at 14 Elm Street."

// finalize creates and finalizes an encounter on the scene's plain chart.
func (s *scene) finalize(t *testing.T) *peer.Encounter {
	t.Helper()
	ctx := context.Background()
	end := time.Now().Add(-time.Hour).Truncate(time.Minute)
	start := end.Add(-45 * time.Minute)
	e, err := s.peers.Create(ctx, s.peerUser, peer.CreateParams{OrganizationID: s.org, ChartID: s.chart, Fields: peer.Fields{
		PeerProviderID: s.peerUser, ServiceDate: start, StartTime: start, EndTime: end,
		ServiceType: "peer_support", HCPCSCode: "H0038", FocusNotes: focusNotes,
	}})
	require.NoError(t, err)
	e, err = s.peers.Finalize(ctx, s.peerUser, s.org, e.ID)
	require.NoError(t, err)
	return e
}

// decide asks two consent questions: one the plain chart permits, one the
// Part 2 chart (no consent) denies.
func (s *scene) decide(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	d, err := s.consents.Check(ctx, consent.Request{ActingUser: s.clinican, ChartID: s.chart, RecordType: consent.RecordPeerEncounter})
	require.NoError(t, err)
	require.Equal(t, consent.Decision{Allowed: true, Basis: consent.BasisNotPart2}, d)
	d, err = s.consents.Check(ctx, consent.Request{ActingUser: s.clinican, ChartID: s.part2, RecordType: consent.RecordPeerEncounter,
		Purpose: consent.PurposePayment, Use: consent.UseExport})
	require.NoError(t, err)
	require.False(t, d.Allowed)
}

// sinkFault is a sink error of a known kind whose message holds a value
// that must not be recorded.
type sinkFault struct{}

func (sinkFault) Error() string { return "broker refused subject for " + focusNotes }
func (sinkFault) Kind() string  { return "test:refused" }

// tracingSink records the span context each delivery ran in.
type tracingSink struct {
	*eventstest.Sink
	mu    sync.Mutex
	spans []trace.SpanContext
}

func (s *tracingSink) Deliver(ctx context.Context, batch []events.Envelope) (int, error) {
	s.mu.Lock()
	s.spans = append(s.spans, trace.SpanContextFromContext(ctx))
	s.mu.Unlock()
	return s.Sink.Deliver(ctx, batch)
}

// relayScript runs a relay through one retry, one dead letter and one
// delivery: the first event fails twice (MaxAttempts 2), the second is
// delivered.
func relayScript(t *testing.T, s *scene, cfg events.RelayConfig) (*events.Relay, *tracingSink) {
	t.Helper()
	ctx := context.Background()
	sink := &tracingSink{Sink: eventstest.NewSink()}
	sink.FailNext(2, sinkFault{})
	cfg.Pool, cfg.Sink = s.db.App, sink
	cfg.MaxAttempts, cfg.RetryBackoff, cfg.MaxRetryBackoff = 2, time.Millisecond, time.Millisecond
	cfg.PollOnly, cfg.Logger = true, slog.New(slog.NewTextHandler(io.Discard, nil))
	r, err := events.NewRelay(&cfg)
	require.NoError(t, err)

	s.finalize(t)
	_, err = r.RunOnce(ctx)
	require.ErrorIs(t, err, events.ErrDeliveryFailed)
	require.Eventually(t, func() bool {
		n, err := r.RunOnce(ctx)
		return n == 1 && errors.Is(err, events.ErrDeliveryFailed)
	}, 10*time.Second, 5*time.Millisecond, "the retry fails and dead-letters the event")
	s.finalize(t)
	n, err := r.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, events.Metrics{Delivered: 1, Retried: 1, DeadLettered: 1, Batches: 3, Lag: r.Metrics().Lag}, r.Metrics())
	return r, sink
}

func TestProvidersInConfigRecordInstrumentsAndSpans(t *testing.T) {
	t.Parallel()
	p := newProviders()
	s := newScene(t, p.tp, p.mp)
	s.decide(t)
	r, sink := relayScript(t, s, events.RelayConfig{MeterProvider: p.mp, TracerProvider: p.tp})
	fin := s.finalize(t) // a third, for the peer.Finalize span's attributes

	m := p.metrics(t)
	requireCounter := func(name, unit string, want int64) {
		t.Helper()
		got, ok := m[name]
		require.True(t, ok, "instrument %s", name)
		require.Equal(t, unit, got.Unit, name)
		sum, ok := got.Data.(metricdata.Sum[int64])
		require.True(t, ok, "%s is a sum, not %T", name, got.Data)
		require.True(t, sum.IsMonotonic, name)
		require.Equal(t, metricdata.CumulativeTemporality, sum.Temporality, name)
		require.Len(t, sum.DataPoints, 1, name)
		require.Equal(t, want, sum.DataPoints[0].Value, name)
		require.Zero(t, sum.DataPoints[0].Attributes.Len(), name)
	}
	requireCounter("platform.relay.events.delivered", "{event}", 1)
	requireCounter("platform.relay.events.retried", "{event}", 1)
	requireCounter("platform.relay.events.dead_lettered", "{event}", 1)
	requireCounter("platform.relay.batches", "{batch}", 3)

	lag := m["platform.relay.lag"]
	require.Equal(t, "s", lag.Unit)
	gauge, ok := lag.Data.(metricdata.Gauge[float64])
	require.True(t, ok, "lag is a gauge, not %T", lag.Data)
	require.Len(t, gauge.DataPoints, 1)
	require.Equal(t, r.Metrics().Lag.Seconds(), gauge.DataPoints[0].Value, "the gauge reads the relay's own figure")
	require.Positive(t, gauge.DataPoints[0].Value)

	duration := m["platform.relay.batch.duration"]
	require.Equal(t, "s", duration.Unit)
	hist, ok := duration.Data.(metricdata.Histogram[float64])
	require.True(t, ok, "batch duration is a histogram, not %T", duration.Data)
	counts := map[string]uint64{}
	for _, dp := range hist.DataPoints {
		kind, _ := dp.Attributes.Value(telemetry.ErrorTypeKey)
		counts[kind.AsString()] += dp.Count
		require.Positive(t, dp.Sum)
		require.Less(t, dp.Sum, 30.0, "seconds, not milliseconds")
	}
	require.Equal(t, map[string]uint64{"": 1, "test:refused": 2}, counts)

	decisions := m["platform.consent.decisions"]
	require.Equal(t, "{decision}", decisions.Unit)
	sum, ok := decisions.Data.(metricdata.Sum[int64])
	require.True(t, ok, "decisions are a sum, not %T", decisions.Data)
	got := map[string]int64{}
	for _, dp := range sum.DataPoints {
		got[dp.Attributes.Encoded(attribute.DefaultEncoder())] += dp.Value
	}
	require.Equal(t, map[string]int64{
		"basis=not_part2,decision=permit,purpose=TREAT,record_type=peer_encounter,use=display": 1,
		"basis=denied,decision=deny,purpose=HPAYMT,record_type=peer_encounter,use=export":      1,
	}, got)

	// Spans: one per call, named by package and method.
	finalizes := p.named("peer.Finalize")
	require.Len(t, finalizes, 3)
	last := attrs(finalizes[2])
	require.Equal(t, map[string]string{
		"platform.organization.id": s.org.String(), "platform.peer_encounter.id": fin.ID.String(),
		"platform.hcpcs_code": "H0038", "platform.status": "finalized",
	}, last)
	require.Equal(t, codes.Unset, finalizes[2].Status().Code)
	require.Len(t, p.named("peer.Create"), 3)
	// Each call's transactions are its children: for a chart that is not
	// Part 2, the finalization alone (no accounting to commit first).
	var children []string
	for _, sp := range p.spans.Ended() {
		if sp.Parent().SpanID() == finalizes[2].SpanContext().SpanID() {
			children = append(children, sp.Name())
			require.Equal(t, "postgresql", attrs(sp)["db.system.name"])
			require.Equal(t, s.peerUser.String(), attrs(sp)["platform.acting_user.id"])
		}
	}
	require.Equal(t, []string{"platform.transaction"}, children)

	checks := p.named("consent.Check")
	require.Len(t, checks, 2)
	require.Equal(t, map[string]string{"decision": "deny", "basis": "denied", "purpose": "HPAYMT",
		"record_type": "peer_encounter", "use": "export"}, attrs(checks[1]))

	batches := p.named("events.relay.batch")
	require.Len(t, batches, 3)
	for i, b := range batches[:2] {
		require.Equal(t, codes.Error, b.Status().Code)
		require.Equal(t, "test:refused", b.Status().Description, "the kind, never the message")
		a := attrs(b)
		require.Equal(t, "test:refused", a["error.type"])
		require.Equal(t, "peer_encounter_finalized", a["platform.event.type"])
		require.Equal(t, fmt.Sprint(i == 1), a["platform.relay.dead_lettered"])
		require.Equal(t, "1", a["platform.relay.batch.size"])
		require.Equal(t, "0", a["platform.relay.batch.delivered"])
	}
	require.Equal(t, codes.Unset, batches[2].Status().Code)
	require.Equal(t, "1", attrs(batches[2])["platform.relay.batch.delivered"])
	require.Len(t, sink.spans, 3)
	for i, b := range batches {
		require.Equal(t, b.SpanContext().SpanID(), sink.spans[i].SpanID(), "the sink delivers within the batch's span")
	}

	// A refused call: its span says why, as a kind.
	_, err := s.peers.Finalize(context.Background(), s.clinican, s.org, fin.ID)
	require.Error(t, err)
	refused := p.named("peer.Finalize")[3]
	require.Equal(t, codes.Error, refused.Status().Code)
	require.Equal(t, "permission_denied", refused.Status().Description)

	requireOnlyIdsAndCodes(t, p, s, sink)
}

// sqlState is the kind of a database error (telemetry.Kind): its SQLSTATE,
// a code.
var sqlState = regexp.MustCompile(`^sqlstate_[0-9A-Z]{5}$`)

// requireOnlyIdsAndCodes fails when any span or data point holds a value
// other than the scene's UUIDs (never a chart's), the events' ids, codes
// the library defines, numbers and booleans.
func requireOnlyIdsAndCodes(t *testing.T, p *providers, s *scene, sink *tracingSink) {
	t.Helper()
	ids := map[string]bool{s.org.String(): true, s.peerUser.String(): true, s.clinican.String(): true}
	for _, e := range sink.Events() {
		ids[e.ID.String()] = true
	}
	rows, err := s.db.Admin.Query(context.Background(), `SELECT id::text FROM public.cl_peer_encounters UNION ALL SELECT id::text FROM public.cl_pm_events`)
	require.NoError(t, err)
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		ids[id] = true
	}
	require.NoError(t, rows.Err())
	codes := map[string]bool{"H0038": true, "finalized": true, "postgresql": true, "permit": true, "deny": true,
		"not_part2": true, "denied": true, "TREAT": true, "HPAYMT": true, "peer_encounter": true, "display": true,
		"export": true, "peer_encounter_finalized": true, "test:refused": true, "permission_denied": true, "true": true, "false": true}
	check := func(where string, kv attribute.KeyValue) {
		v := kv.Value.Emit()
		switch kv.Value.Type() {
		case attribute.INT64, attribute.FLOAT64, attribute.BOOL:
			return
		}
		require.False(t, v == s.chart.String() || v == s.part2.String(), "%s: %s names a chart", where, kv.Key)
		require.True(t, ids[v] || codes[v] || sqlState.MatchString(v), "%s: %s=%q is neither a known id nor a code", where, kv.Key, v)
		require.NotContains(t, v, "Jane")
	}
	require.NotEmpty(t, p.spans.Ended())
	for _, sp := range p.spans.Ended() {
		for _, kv := range sp.Attributes() {
			check(sp.Name(), kv)
		}
		require.Empty(t, sp.Events(), "%s: no span events (an exception event would carry a message)", sp.Name())
		require.False(t, strings.Contains(sp.Status().Description, " "), "%s: a status is a kind, not a message", sp.Name())
	}
	for name, m := range p.metrics(t) {
		var sets []attribute.Set
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			for _, dp := range d.DataPoints {
				sets = append(sets, dp.Attributes)
			}
		case metricdata.Gauge[float64]:
			for _, dp := range d.DataPoints {
				sets = append(sets, dp.Attributes)
			}
		case metricdata.Histogram[float64]:
			for _, dp := range d.DataPoints {
				sets = append(sets, dp.Attributes)
			}
		default:
			t.Fatalf("%s: unexpected data %T", name, m.Data)
		}
		for _, set := range sets {
			for _, kv := range set.ToSlice() {
				require.False(t, ids[kv.Value.Emit()], "%s: %s is an id: no ids in metrics (cardinality)", name, kv.Key)
				check(name, kv)
			}
		}
	}
}

func attrs(s sdktrace.ReadOnlySpan) map[string]string {
	out := map[string]string{}
	for _, kv := range s.Attributes() {
		out[string(kv.Key)] = kv.Value.Emit()
	}
	return out
}

// Without a provider nothing is recorded, and a provider installed
// globally later is used by clients made before it (the global provider
// forwards), as by those made after. Not parallel: it sets the globals.
func TestNothingIsRecordedUntilAProviderIsInstalled(t *testing.T) {
	p := newProviders()
	s := newScene(t, nil, nil)
	sink := eventstest.NewSink()
	r, err := events.NewRelay(&events.RelayConfig{Pool: s.db.App, Sink: events.SinkFunc(func(ctx context.Context, batch []events.Envelope) (int, error) {
		require.False(t, trace.SpanContextFromContext(ctx).IsValid(), "no span without a provider")
		return sink.Deliver(ctx, batch)
	}), PollOnly: true})
	require.NoError(t, err)
	ctx := context.Background()
	s.decide(t)
	s.finalize(t)
	n, err := r.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Empty(t, p.spans.Ended())
	require.Empty(t, p.metrics(t))

	otel.SetTracerProvider(p.tp)
	otel.SetMeterProvider(p.mp)
	s.decide(t)
	require.Len(t, p.named("consent.Check"), 2, "a client made before the provider records to it")
	require.Contains(t, p.metrics(t), "platform.relay.batches", "so does a relay")
	runtime.KeepAlive(r) // a relay dropped by the host leaves the provider (its instruments are unregistered)
}

func TestErrorKindHoldsNoValue(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{context.Canceled, "canceled"},
		{fmt.Errorf("reading: %w", context.DeadlineExceeded), "timeout"},
		{validate.Errorf("FocusNotes", "may not hold %q", focusNotes), "invalid"},
		{dbtx.ErrNoActingUser, "no_acting_user"},
		{fmt.Errorf("%w: %w", dbtx.ErrPermissionDenied, &dbtx.Error{Code: "42501", Message: focusNotes}), "permission_denied"},
		{&dbtx.Error{Code: "23514", Message: focusNotes}, "sqlstate_23514"},
		{sinkFault{}, "test:refused"},
		{errors.New(focusNotes), "error:*errors.errorString"},
		{peer.ErrFinalized, "finalized"},
		{consent.ErrAlreadyRevoked, "already_revoked"},
	} {
		require.Equal(t, c.want, telemetry.ErrorKind(c.err), "%v", c.err)
	}
}

func TestSpanEndRecordsTheKindNotTheMessage(t *testing.T) {
	t.Parallel()
	p := newProviders()
	tel := telemetry.New(p.mp, p.tp)
	ctx, span := tel.Start(context.Background(), "test.Call", telemetry.Organization(uuid.Nil))
	require.True(t, trace.SpanFromContext(ctx).IsRecording())
	var err error = validate.Errorf("Body", "mentions %s", focusNotes)
	span.End(&err)
	got := p.named("test.Call")
	require.Len(t, got, 1)
	require.Equal(t, sdktrace.Status{Code: codes.Error, Description: "invalid"}, got[0].Status())
	require.Equal(t, "invalid", attrs(got[0])["error.type"])
	require.Empty(t, got[0].Events())
}

// A call without a span of its own (consent.Account, or any call of
// telehealthgroup) still shows its transactions in the trace of the host's
// span around it, with the host span's provider (not the global one).
func TestTransactionsJoinTheHostsSpan(t *testing.T) {
	t.Parallel()
	p := newProviders()
	s := newScene(t, nil, nil)
	hctx, host := p.tp.Tracer("host").Start(context.Background(), "host.request")
	_, err := consent.Account(hctx, s.db.App, s.clinican, s.org, consent.RecordPeerEncounter, consent.PurposeTreatment,
		consent.UseDisplay, s.chart)
	require.NoError(t, err)
	host.End()
	tx := p.named("platform.transaction")
	require.Len(t, tx, 1)
	require.Equal(t, host.SpanContext().SpanID(), tx[0].Parent().SpanID())
	require.Equal(t, telemetry.ScopeName, tx[0].InstrumentationScope().Name)
	require.Equal(t, map[string]string{"db.system.name": "postgresql", "platform.acting_user.id": s.clinican.String(),
		"platform.transaction.savepoint": "false"}, attrs(tx[0]))
}

// A relay the host drops leaves nothing in a long-lived provider: its
// observed instruments are unregistered once it is unreachable.
func TestADroppedRelayLeavesTheProvider(t *testing.T) {
	t.Parallel()
	p := newProviders()
	db := testdb.New(t)
	r, err := events.NewRelay(&events.RelayConfig{Pool: db.App, Sink: eventstest.NewSink(), MeterProvider: p.mp})
	require.NoError(t, err)
	require.Contains(t, p.metrics(t), "platform.relay.batches")
	runtime.KeepAlive(r)
	require.Eventually(t, func() bool {
		runtime.GC()
		_, ok := p.metrics(t)["platform.relay.batches"]
		return !ok
	}, 10*time.Second, 10*time.Millisecond)
}
