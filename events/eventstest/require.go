package eventstest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/sqlarg"
)

// RequireOpts narrows what [RequirePublished] looks for; nil matches any
// event of the type.
type RequireOpts struct {
	// AggregateID, when set, must be the event's aggregate (its subject).
	AggregateID uuid.UUID
	// Count, when set, is how many matching events there must be (else at
	// least one).
	Count int
}

// RequirePublished asserts, as actingUser, that the outbox holds an event
// of eventType for organizationID, and returns the newest match. Reading the
// outbox needs the pf.events.view permission (events name charts): use a
// user whose role grants it (privacy_officer and integration do).
func RequirePublished(t testing.TB, db dbtx.Beginner, actingUser, organizationID uuid.UUID, eventType string, opts *RequireOpts) *events.Envelope {
	t.Helper()
	var env *events.Envelope
	err := dbtx.Run(context.Background(), db, actingUser, func(tx pgx.Tx) error {
		env = requirePublished(t, tx, organizationID, eventType, opts)
		return nil
	})
	if err != nil {
		t.Fatalf("eventstest: %v", err)
	}
	return env
}

// RequirePublishedTx is [RequirePublished] inside the caller's transaction,
// so it sees events the transaction wrote and has not committed.
func RequirePublishedTx(t testing.TB, tx pgx.Tx, actingUser, organizationID uuid.UUID, eventType string, opts *RequireOpts) *events.Envelope {
	t.Helper()
	var env *events.Envelope
	err := dbtx.RunTx(context.Background(), tx, actingUser, func(tx pgx.Tx) error {
		env = requirePublished(t, tx, organizationID, eventType, opts)
		return nil
	})
	if err != nil {
		t.Fatalf("eventstest: %v", err)
	}
	return env
}

func requirePublished(t testing.TB, tx pgx.Tx, organizationID uuid.UUID, eventType string, opts *RequireOpts) *events.Envelope {
	t.Helper()
	if opts == nil {
		opts = &RequireOpts{}
	}
	rows, _ := tx.Query(context.Background(), `
		SELECT envelope FROM public.cl_pm_events
		WHERE organization_id = $1 AND event_type = $2 AND ($3::uuid IS NULL OR aggregate_id = $3)
		ORDER BY created_at DESC, aggregate_seq DESC`, organizationID, eventType, sqlarg.UUID(opts.AggregateID))
	raw, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		t.Fatalf("eventstest: reading the outbox: %v", err)
	}
	switch {
	case len(raw) == 0:
		t.Fatalf("eventstest: no %s event in the outbox for organization %s", eventType, organizationID)
	case opts.Count > 0 && len(raw) != opts.Count:
		t.Fatalf("eventstest: %d %s events in the outbox, want %d", len(raw), eventType, opts.Count)
	}
	var env events.Envelope
	if err := json.Unmarshal(raw[0], &env); err != nil {
		t.Fatalf("eventstest: %v", err)
	}
	return &env
}
