// Package telemetry is the library's one door to OpenTelemetry: the spans of
// its calls, the kinds of their errors and the instruments they record.
//
// It uses the OpenTelemetry API only, never the SDK, so nothing is recorded
// until a host installs providers (in a client's Config, or globally with
// otel.SetTracerProvider and otel.SetMeterProvider); until then every span
// and instrument is a no-op.
//
// What it records are UUIDs, codes, counts and durations, never PHI: a span
// carries the attributes its caller gives it (built with the keys below) and,
// when the call fails, the error's kind ([ErrorKind]), never its message.
package telemetry

import (
	"context"
	"errors"
	"reflect"
	"regexp"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of every span and instrument the
// library makes.
const ScopeName = "github.com/encoreos/platform-go"

// Attribute keys of the library's spans and instruments. Values are UUIDs
// and codes only.
const (
	OrganizationKey = attribute.Key("platform.organization.id")
	ActingUserKey   = attribute.Key("platform.acting_user.id")
	EventIDKey      = attribute.Key("platform.event.id")
	EventTypeKey    = attribute.Key("platform.event.type")
	BatchSizeKey    = attribute.Key("platform.relay.batch.size")
	DeliveredKey    = attribute.Key("platform.relay.batch.delivered")
	DeadLetteredKey = attribute.Key("platform.relay.dead_lettered")
	SavepointKey    = attribute.Key("platform.transaction.savepoint")
	DecisionKey     = attribute.Key("decision")
	BasisKey        = attribute.Key("basis")
	PurposeKey      = attribute.Key("purpose")
	RecordTypeKey   = attribute.Key("record_type")
	UseKey          = attribute.Key("use")
	HCPCSCodeKey    = attribute.Key("platform.hcpcs_code")
	StatusKey       = attribute.Key("platform.status")
	ErrorTypeKey    = semconv.ErrorTypeKey
	transactionName = "platform.transaction"
)

// ID returns the attribute key = id.
func ID(key string, id uuid.UUID) attribute.KeyValue { return attribute.String(key, id.String()) }

// Organization returns the organization id attribute.
func Organization(id uuid.UUID) attribute.KeyValue { return OrganizationKey.String(id.String()) }

// Telemetry is a client's tracer and meter, from the providers its Config
// names or, where it names none, the global ones at construction.
type Telemetry struct {
	tracer trace.Tracer
	meter  metric.Meter
}

// New returns the Telemetry of mp and tp; a nil provider means the global
// one (otel.GetMeterProvider, otel.GetTracerProvider), which forwards to
// whatever a host installs later and records nothing until then.
func New(mp metric.MeterProvider, tp trace.TracerProvider) *Telemetry {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return &Telemetry{tracer: tp.Tracer(ScopeName), meter: mp.Meter(ScopeName)}
}

// Meter returns the meter the client's instruments are made with.
func (t *Telemetry) Meter() metric.Meter { return t.meter }

// Span is a started span; End it with the call's error.
type Span struct{ span trace.Span }

// Start starts the span of one library call, named "<package>.<Method>",
// as a child of the span in ctx, with attrs (UUIDs and codes only).
func (t *Telemetry) Start(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, Span) {
	ctx, s := t.tracer.Start(ctx, name, trace.WithAttributes(attrs...))
	return ctx, Span{s}
}

// StartAt is [Telemetry.Start] for a call that began at start, before it
// was known to be worth a span (a relay's claim that found events).
func (t *Telemetry) StartAt(ctx context.Context, name string, start time.Time, attrs ...attribute.KeyValue) (context.Context, Span) {
	ctx, s := t.tracer.Start(ctx, name, trace.WithTimestamp(start), trace.WithAttributes(attrs...))
	return ctx, Span{s}
}

// Set adds attributes learnt during the call (UUIDs and codes only).
func (s Span) Set(attrs ...attribute.KeyValue) {
	if s.span != nil && s.span.IsRecording() {
		s.span.SetAttributes(attrs...)
	}
}

// End ends the span. A non-nil *errp marks it failed with the error's kind
// as its status description and error.type: never the error's message,
// which might hold a value. Use it as `defer span.End(&err)`.
func (s Span) End(errp *error) {
	if s.span == nil {
		return
	}
	if errp != nil && *errp != nil && s.span.IsRecording() {
		kind := ErrorKind(*errp)
		s.span.SetAttributes(ErrorTypeKey.String(kind))
		s.span.SetStatus(codes.Error, kind)
	}
	s.span.End()
}

// Transaction starts the span of one database transaction run as actor,
// within the library call whose span ctx holds, with that span's tracer
// provider. Without a recording span in ctx it records nothing: the
// transactions of every client are seen in the trace of the call (the
// library's, or the host's own span around a call) that ran them.
func Transaction(ctx context.Context, actor uuid.UUID, savepoint bool) (context.Context, Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, Span{}
	}
	ctx, s := parent.TracerProvider().Tracer(ScopeName).Start(ctx, transactionName, trace.WithAttributes(
		semconv.DBSystemNamePostgreSQL, ActingUserKey.String(actor.String()), SavepointKey.Bool(savepoint)))
	return ctx, Span{s}
}

// Kinded is an error that names its kind, a code recorded instead of its
// message.
type Kinded interface {
	error
	Kind() string
}

// sentinel is an error with a fixed message and a kind.
type sentinel struct{ kind, message string }

func (e *sentinel) Error() string { return e.message }
func (e *sentinel) Kind() string  { return e.kind }

// NewError returns a sentinel error with message whose kind, in spans and
// logs, is kind (a code such as "not_found").
func NewError(kind, message string) error { return &sentinel{kind: kind, message: message} }

var unsafeKindChars = regexp.MustCompile(`[^A-Za-z0-9_.:*/-]`)

// ErrorKind returns a code for err that holds no value: "canceled",
// "timeout", the Kind of the first [Kinded] error in its chain (the
// library's sentinels, its validation errors, a sink's errors), the
// SQLSTATE of a database error as "sqlstate_XXXXX", or else the error's Go
// type; reduced to code characters and at most 120 of them, "unknown" for
// a Kinded error of no kind, "" for nil.
func ErrorKind(err error) string {
	var k Kinded
	var coded interface{ SQLState() string }
	kind := ""
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled):
		kind = "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		kind = "timeout"
	case errors.As(err, &k):
		kind = k.Kind()
	case errors.As(err, &coded):
		kind = "sqlstate_" + coded.SQLState()
	default:
		kind = "error:" + reflect.TypeOf(err).String()
	}
	kind = unsafeKindChars.ReplaceAllString(kind, "_")
	if len(kind) > 120 {
		kind = kind[:120]
	}
	if kind == "" {
		kind = "unknown"
	}
	return kind
}

// Handle reports an error of the OpenTelemetry API (an instrument that
// could not be made) to the global error handler, as the API's own
// components do: instrumentation never fails a library call.
func Handle(err error) {
	if err != nil {
		otel.Handle(err)
	}
}
