package events

import (
	"context"
	_ "embed"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/sqlarg"
	"github.com/encoreos/platform-go/internal/telemetry"
)

// DeadLetter is an event the relay gave up on after RelayConfig.MaxAttempts
// failed deliveries. It holds back the later events of its aggregate until
// it is retried.
type DeadLetter struct {
	OrganizationID uuid.UUID `db:"organization_id"`
	ID             uuid.UUID `db:"id"`
	EventType      string    `db:"event_type"`
	AggregateID    uuid.UUID `db:"aggregate_id"`
	// AggregateSeq is the event's place among its aggregate's events.
	AggregateSeq int `db:"aggregate_seq"`
	// Attempts is how many deliveries failed.
	Attempts int `db:"attempts"`
	// LastError is the kind of the last failure (see [ErrorKind]), never
	// an error message.
	LastError string    `db:"last_error"`
	CreatedAt time.Time `db:"created_at"`
	// HeldBack counts the later undelivered events of the same aggregate
	// waiting behind this one.
	HeldBack int `db:"held_back"`
	// Envelope is the event as it would be delivered. Its data holds only
	// UUIDs, codes, counts and timestamps (the outbox refuses anything
	// else).
	Envelope Envelope `db:"envelope"`
}

// DeadLetterListOpts narrows [DeadLetters.List]; nil means every
// organization and the default limit.
type DeadLetterListOpts struct {
	// OrganizationID restricts the list to one organization; the zero UUID
	// means all of them.
	OrganizationID uuid.UUID
	// Limit is the most events returned: 1 to 10000, default 100.
	Limit int
}

// DeadLetters lists, inspects and requeues the outbox's dead-lettered
// events, acting as [RelayRole]: the operator's side of the dead-letter
// state (cmd/platform's "dead" commands use it). A [Relay] need not be
// running.
type DeadLetters struct {
	relay *Relay // for its transactions as RelayRole; it never delivers
}

// ErrNotFound is returned by [DeadLetters.Get] when no dead-lettered event
// has the id in the organization.
var ErrNotFound = dbtx.ErrNotFound

//go:embed sql/dead.sql
var deadSQL string

// NewDeadLetters returns a DeadLetters over pool, which connects as a role
// that is a member of RelayRole (as a relay's pool does).
func NewDeadLetters(pool *pgxpool.Pool) (*DeadLetters, error) {
	if pool == nil {
		return nil, errors.New("events: NewDeadLetters needs a pool")
	}
	return &DeadLetters{relay: &Relay{cfg: RelayConfig{Pool: pool}, tel: telemetry.New(nil, nil)}}, nil
}

// List returns dead-lettered events, oldest first.
func (d *DeadLetters) List(ctx context.Context, opts *DeadLetterListOpts) ([]DeadLetter, error) {
	o := DeadLetterListOpts{}
	if opts != nil {
		o = *opts
	}
	if o.Limit == 0 {
		o.Limit = 100
	}
	if o.Limit < 1 || o.Limit > 10000 {
		return nil, errors.New("events: DeadLetterListOpts.Limit must be between 1 and 10000")
	}
	return d.query(ctx, sqlarg.UUID(o.OrganizationID), nil, o.Limit)
}

// Get returns one dead-lettered event of an organization, or ErrNotFound.
func (d *DeadLetters) Get(ctx context.Context, organizationID, id uuid.UUID) (*DeadLetter, error) {
	if organizationID == uuid.Nil || id == uuid.Nil {
		return nil, ErrNotFound
	}
	got, err := d.query(ctx, &organizationID, &id, 1)
	if err != nil {
		return nil, err
	}
	if len(got) == 0 {
		return nil, ErrNotFound
	}
	return &got[0], nil
}

// Retry requeues a dead-lettered event, as [Relay.Retry] does, and reports
// whether there was such a dead event.
func (d *DeadLetters) Retry(ctx context.Context, organizationID, id uuid.UUID) (bool, error) {
	return d.relay.Retry(ctx, organizationID, id)
}

func (d *DeadLetters) query(ctx context.Context, organizationID, id *uuid.UUID, limit int) ([]DeadLetter, error) {
	var out []DeadLetter
	err := d.relay.asRelay(ctx, func(tx pgx.Tx, _ time.Time) error {
		rows, _ := tx.Query(ctx, deadSQL, pgx.NamedArgs{"organization_id": organizationID, "id": id, "limit": limit})
		var err error
		out, err = pgx.CollectRows(rows, pgx.RowToStructByName[DeadLetter])
		return err
	})
	return out, err
}
