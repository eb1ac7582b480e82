package events

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/trace"

	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/telemetry"
	"github.com/encoreos/platform-go/internal/validate"
)

// DefaultSource is the CloudEvents source of the library's events.
const DefaultSource = "urn:encoreos:platform-go:cl"

// OutboxConfig configures an [Outbox]. The zero value is usable.
type OutboxConfig struct {
	// Source is the CloudEvents source; default DefaultSource.
	Source string
	// Now returns the current time; default time.Now. For tests.
	Now func() time.Time
	// TracerProvider receives a span per publication
	// (events.Outbox.PublishTx); default the global provider
	// (otel.GetTracerProvider) when NewOutbox runs.
	TracerProvider trace.TracerProvider
}

// Outbox is the [Publisher] the library uses: it writes events to the
// cl_pm_events table in the caller's transaction, for a [Relay] to deliver.
type Outbox struct {
	source string
	now    func() time.Time
	tel    *telemetry.Telemetry
}

// NewOutbox returns an Outbox; cfg may be nil.
func NewOutbox(cfg *OutboxConfig) *Outbox {
	o := &Outbox{source: DefaultSource, now: time.Now}
	var tp trace.TracerProvider
	if cfg != nil {
		tp = cfg.TracerProvider
		if cfg.Source != "" {
			o.source = cfg.Source
		}
		if cfg.Now != nil {
			o.now = cfg.Now
		}
	}
	o.tel = telemetry.New(nil, tp)
	return o
}

var _ Publisher = (*Outbox)(nil)

//go:embed sql/publish.sql
var publishSQL string

// Errors. Match them with errors.Is.
var (
	// ErrInvalid matches every validation error of an event.
	ErrInvalid = validate.ErrInvalid
	// ErrPermissionDenied: the transaction's acting user may not publish
	// for the event's organization.
	ErrPermissionDenied = dbtx.ErrPermissionDenied
	// ErrIdempotencyConflict: the idempotency key was already used in the
	// organization for an event of another type or aggregate.
	ErrIdempotencyConflict = telemetry.NewError("idempotency_conflict", "events: the idempotency key was already used for another event")
)

// ValidationError names the event field that is wrong.
type ValidationError = validate.Error

// PublishTx validates e, fills in the header's event type and timestamp
// when they are empty, and stores it in tx. tx must act as a user of the
// event's organization (the library's repositories call PublishTx inside
// their acting-user transactions). The event is stored once per
// idempotency key and organization: publishing the same key again for the
// same event type and aggregate returns the envelope stored first and
// stores nothing; for another type or aggregate it is
// ErrIdempotencyConflict.
func (o *Outbox) PublishTx(ctx context.Context, tx pgx.Tx, e Event, opts *PublishOpts) (_ *Envelope, err error) {
	ctx, span := o.tel.Start(ctx, "events.Outbox.PublishTx")
	defer span.End(&err)
	if tx == nil {
		return nil, dbtx.ErrNilTx
	}
	env, key, err := o.envelope(e, opts)
	if err != nil {
		return nil, err
	}
	span.Set(telemetry.Organization(env.OrganizationID), telemetry.EventTypeKey.String(env.Type),
		telemetry.EventIDKey.String(env.ID.String()))
	raw, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	var stored []byte
	err = tx.QueryRow(ctx, publishSQL, pgx.NamedArgs{
		"organization_id": env.OrganizationID,
		"id":              env.ID,
		"event_type":      env.Type,
		"aggregate_id":    e.AggregateID(),
		"idempotency_key": key,
		"envelope":        raw,
	}).Scan(&stored)
	if dbtx.IsUniqueViolation(err) {
		return nil, ErrIdempotencyConflict
	}
	if err != nil {
		return nil, dbtx.MapError(err)
	}
	var out Envelope
	if err := json.Unmarshal(stored, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PublishAs is PublishTx for a host's own transaction that does not act as
// a user yet: it acts as actingUser (who must belong to the event's
// organization) for the publication only, and restores the transaction's
// role afterwards. Use it to commit the host's own rows and an event
// together.
func (o *Outbox) PublishAs(ctx context.Context, tx pgx.Tx, actingUser uuid.UUID, e Event, opts *PublishOpts) (*Envelope, error) {
	var env *Envelope
	err := dbtx.RunTx(ctx, tx, actingUser, func(tx pgx.Tx) (err error) {
		env, err = o.PublishTx(ctx, tx, e, opts)
		return err
	})
	return env, err
}

// Wrap checks e, fills in its header's event type and timestamp when they
// are empty, and returns the envelope PublishTx would store, without
// storing it.
func (o *Outbox) Wrap(e Event) (*Envelope, error) {
	env, _, err := o.envelope(e, nil)
	return env, err
}

// Source is the CloudEvents source of the events o wraps; for packages
// whose events the database builds (peer_encounter_finalized).
func (o *Outbox) Source() string { return o.source }

// Prepare is [Outbox.Wrap] that also returns the idempotency key PublishTx
// would use: for packages whose events enter the outbox through a database
// function of their own (the virtual-group lifecycle).
func (o *Outbox) Prepare(e Event, opts *PublishOpts) (*Envelope, string, error) {
	return o.envelope(e, opts)
}

// envelope checks e and wraps it, and returns its idempotency key.
func (o *Outbox) envelope(e Event, opts *PublishOpts) (*Envelope, string, error) {
	if e == nil {
		return nil, "", validate.Errorf("Event", "is required")
	}
	h := e.EventHeader()
	if h.EventType == "" {
		h.EventType = e.EventType()
	}
	if h.Timestamp.IsZero() {
		h.Timestamp = o.now()
	}
	h.Timestamp = h.Timestamp.UTC().Truncate(time.Microsecond) // PostgreSQL's precision
	if err := validate.Required("OrganizationID", h.OrganizationID); err != nil {
		return nil, "", err
	}
	if h.CorrelationID != nil && *h.CorrelationID == uuid.Nil {
		return nil, "", validate.Errorf("CorrelationID", "is set to the zero UUID; leave it nil instead")
	}
	if err := check(e); err != nil {
		return nil, "", err
	}
	key := idempotencyKey(e, opts)
	if !keyPattern.MatchString(key) {
		return nil, "", validate.Errorf("IdempotencyKey", "must be 1 to 200 letters, digits or _.:-")
	}
	data, err := json.Marshal(e)
	if err != nil {
		return nil, "", err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, "", err
	}
	env := &Envelope{
		SpecVersion:     SpecVersion,
		ID:              id,
		Source:          o.source,
		Type:            e.EventType(),
		Time:            h.Timestamp,
		Subject:         e.AggregateID().String(),
		DataContentType: "application/json",
		OrganizationID:  h.OrganizationID,
		Data:            data,
	}
	if h.CorrelationID != nil {
		env.CorrelationID = h.CorrelationID.String()
	}
	return env, key, nil
}

// idempotencyKey is the key that makes a producing action publish once:
// the caller's, else the event type with the correlation id, else the event
// type with the aggregate id.
func idempotencyKey(e Event, opts *PublishOpts) string {
	if opts != nil && opts.IdempotencyKey != "" {
		return opts.IdempotencyKey
	}
	if c := e.EventHeader().CorrelationID; c != nil {
		return e.EventType() + ":correlation:" + c.String()
	}
	return e.EventType() + ":aggregate:" + e.AggregateID().String()
}

// Decode returns the typed payload of an envelope of a registered type.
func Decode(env *Envelope) (Event, error) {
	for _, proto := range Registered() {
		if proto.EventType() == env.Type {
			e := newOfSameType(proto)
			if err := json.Unmarshal(env.Data, e); err != nil {
				return nil, fmt.Errorf("events: decoding %s: %w", env.Type, err)
			}
			return e, nil
		}
	}
	return nil, errors.New("events: unknown event type " + env.Type)
}
