package events

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Event is implemented by every event payload type.
type Event interface {
	// EventType is the event's name as the specifications give it, e.g.
	// "peer_encounter_finalized". It is the CloudEvents type.
	EventType() string
	// EventHeader returns the fields every event carries.
	EventHeader() *Header
	// AggregateID is the record the event is about (the peer encounter,
	// the group session). Events of one aggregate are delivered in order;
	// it is the CloudEvents subject.
	AggregateID() uuid.UUID
}

// Header holds the fields every payload carries, in the JSON of every event.
type Header struct {
	EventType      string    `json:"event_type"`
	OrganizationID uuid.UUID `json:"organization_id"`
	// Timestamp is when the event happened (ISO 8601 in JSON).
	Timestamp time.Time `json:"timestamp"`
	// CorrelationID ties the event to the action that produced it; the
	// same correlation id in one organization publishes one event.
	CorrelationID *uuid.UUID `json:"correlation_id,omitempty"`
}

// EventHeader returns h, so that a payload embedding Header satisfies part
// of [Event].
func (h *Header) EventHeader() *Header { return h }

// SpecVersion is the CloudEvents version of [Envelope].
const SpecVersion = "1.0"

// Envelope is an event on the wire: a CloudEvents 1.0 structured-mode JSON
// document. organizationid and correlationid are CloudEvents extension
// attributes.
type Envelope struct {
	SpecVersion     string          `json:"specversion"`
	ID              uuid.UUID       `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Time            time.Time       `json:"time"`
	Subject         string          `json:"subject,omitempty"`
	DataContentType string          `json:"datacontenttype"`
	OrganizationID  uuid.UUID       `json:"organizationid"`
	CorrelationID   string          `json:"correlationid,omitempty"`
	Data            json.RawMessage `json:"data"`
}

// PublishOpts tunes one publication; nil means the defaults.
type PublishOpts struct {
	// IdempotencyKey replaces the default key (the correlation id, else the
	// aggregate id and event type): publishing the same key twice in one
	// organization stores one event.
	IdempotencyKey string
}

// Publisher writes an event inside the caller's transaction (the
// transaction that changed the record), so that the event exists if and
// only if that change commits. The returned envelope is the one stored (for
// a repeated idempotency key, the one stored first).
type Publisher interface {
	PublishTx(ctx context.Context, tx pgx.Tx, e Event, opts *PublishOpts) (*Envelope, error)
}
