package events_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/events/eventstest"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

type bundle struct {
	db     *testdb.DB
	outbox *events.Outbox
	org    uuid.UUID
	user   uuid.UUID
}

func setup(t testing.TB) *bundle {
	t.Helper()
	db := testdb.New(t)
	org := db.NewOrg(t)
	// Publishing events directly needs pf.events.publish and reading them
	// back pf.events.view: an integration principal holds both (no role for
	// people does).
	return &bundle{db: db, outbox: events.NewOutbox(nil), org: org, user: db.NewMember(t, org, "integration")}
}

// finalized is a valid event of b's organization, about a finalized
// encounter that exists (an event about a record needs the record).
func (b *bundle) finalized(t testing.TB) *events.PeerEncounterFinalized {
	t.Helper()
	pe := b.db.NewFinalizedPeerEncounter(t, b.org)
	return &events.PeerEncounterFinalized{
		Header:          events.Header{OrganizationID: b.org, Timestamp: pe.FinalizedAt},
		PeerEncounterID: pe.ID, ChartID: pe.ChartID, PeerProviderID: pe.PeerProviderID,
		ServiceDate: events.NewDate(pe.ServiceDate), HCPCSCode: events.Code(pe.HCPCSCode), DurationMinutes: pe.DurationMinutes,
	}
}

// publish publishes e as b.user in a transaction of its own.
func (b *bundle) publish(t testing.TB, e events.Event, opts *events.PublishOpts) (*events.Envelope, error) {
	t.Helper()
	var env *events.Envelope
	err := dbtx.Run(context.Background(), b.db.App, b.user, func(tx pgx.Tx) (err error) {
		env, err = b.outbox.PublishTx(context.Background(), tx, e, opts)
		return err
	})
	return env, err
}

func (b *bundle) outboxCount(t testing.TB) int {
	t.Helper()
	var n int
	require.NoError(t, b.db.Admin.QueryRow(context.Background(), `SELECT count(*) FROM public.cl_pm_events`).Scan(&n))
	return n
}

func TestPublishStoresTheEventWithTheChange(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	e := b.finalized(t)

	env, err := b.publish(t, e, nil)
	require.NoError(t, err)
	require.Equal(t, events.TypePeerEncounterFinalized, env.Type)
	require.Equal(t, e.PeerEncounterID.String(), env.Subject)
	got := eventstest.RequirePublished(t, b.db.App, b.user, b.org, events.TypePeerEncounterFinalized, &eventstest.RequireOpts{AggregateID: e.PeerEncounterID, Count: 1})
	require.Equal(t, env.ID, got.ID)
	decoded, err := events.Decode(got)
	require.NoError(t, err)
	require.Equal(t, e.ChartID, decoded.(*events.PeerEncounterFinalized).ChartID)

	// A transaction that wrote an event and rolled back leaves no event.
	tx, err := b.db.App.Begin(ctx)
	require.NoError(t, err)
	other := b.finalized(t)
	require.NoError(t, dbtx.RunTx(ctx, tx, b.user, func(tx pgx.Tx) error {
		_, err := b.outbox.PublishTx(ctx, tx, other, nil)
		return err
	}))
	eventstest.RequirePublishedTx(t, tx, b.user, b.org, events.TypePeerEncounterFinalized, &eventstest.RequireOpts{AggregateID: other.PeerEncounterID})
	require.NoError(t, tx.Rollback(ctx))
	require.Equal(t, 1, b.outboxCount(t))
}

func TestPublishingTheSameKeyTwiceStoresOneEvent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.finalized(t)
	first, err := b.publish(t, e, nil)
	require.NoError(t, err)
	again := *e // a retried action: same aggregate, type and figures
	second, err := b.publish(t, &again, nil)
	require.NoError(t, err)
	require.Equal(t, first.ID, second.ID, "the second publish returns the stored event")
	require.Equal(t, 1, b.outboxCount(t))
	forged := *e
	forged.DurationMinutes = 99 // a "retry" with other figures than the encounter's
	_, err = b.publish(t, &forged, nil)
	require.True(t, dbtx.IsCheckViolation(err), "got %v", err)

	// With a correlation id, the key is the event type and the correlation.
	corr := uuid.New()
	c1, c2 := b.finalized(t), b.finalized(t)
	c1.CorrelationID, c2.CorrelationID = &corr, &corr
	s1, err := b.publish(t, c1, nil)
	require.NoError(t, err)
	again1, err := b.publish(t, c1, nil)
	require.NoError(t, err)
	require.Equal(t, s1.ID, again1.ID, "the same action retried")
	_, err = b.publish(t, c2, nil)
	require.ErrorIs(t, err, events.ErrIdempotencyConflict, "one correlation id, two records: a misuse, said loudly")
	require.Equal(t, 2, b.outboxCount(t))

	// The same key in another organization is another event.
	b2 := &bundle{db: b.db, outbox: b.outbox, org: b.db.NewOrg(t)}
	b2.user = b.db.NewMember(t, b2.org, "integration")
	_, err = b.publish(t, b.finalized(t), &events.PublishOpts{IdempotencyKey: "shared-key"})
	require.NoError(t, err)
	_, err = b2.publish(t, b2.finalized(t), &events.PublishOpts{IdempotencyKey: "shared-key"})
	require.NoError(t, err)
	require.Equal(t, 4, b.outboxCount(t))
}

func TestPublishRefusesBadEventsAndOtherOrganizations(t *testing.T) {
	t.Parallel()
	b := setup(t)
	zero := uuid.Nil
	cases := map[string]func(*events.PeerEncounterFinalized){
		"no organization":     func(e *events.PeerEncounterFinalized) { e.OrganizationID = uuid.Nil },
		"no aggregate":        func(e *events.PeerEncounterFinalized) { e.PeerEncounterID = uuid.Nil },
		"no chart":            func(e *events.PeerEncounterFinalized) { e.ChartID = uuid.Nil },
		"zero optional uuid":  func(e *events.PeerEncounterFinalized) { e.EncounterID = &zero },
		"free text in a code": func(e *events.PeerEncounterFinalized) { e.HCPCSCode = "peer support with Jane Doe" },
		"negative duration":   func(e *events.PeerEncounterFinalized) { e.DurationMinutes = -5 },
		"wrong event type":    func(e *events.PeerEncounterFinalized) { e.Header.EventType = "something_else" },
		"zero correlation id": func(e *events.PeerEncounterFinalized) { e.CorrelationID = &zero },
		"no service date":     func(e *events.PeerEncounterFinalized) { e.ServiceDate = events.Date{} },
	}
	for name, mutate := range cases {
		e := b.finalized(t)
		mutate(e)
		_, err := b.publish(t, e, nil)
		require.ErrorIs(t, err, events.ErrInvalid, name)
	}
	_, err := b.publish(t, b.finalized(t), &events.PublishOpts{IdempotencyKey: "has spaces"})
	require.ErrorIs(t, err, events.ErrInvalid)

	other := b.finalized(t)
	other.OrganizationID = b.db.NewOrg(t)
	_, err = b.publish(t, other, nil)
	require.ErrorIs(t, err, events.ErrPermissionDenied)
	require.Zero(t, b.outboxCount(t), "nothing was written")

	// Behind the Go checks, the database: no direct inserts, and the publish
	// function refuses free text, forged attributes and unknown types.
	ctx := context.Background()
	err = dbtx.Run(ctx, b.db.App, b.user, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO public.cl_pm_events (organization_id, id, event_type, aggregate_id, idempotency_key, envelope)
			VALUES ($1, $2, 'peer_encounter_finalized', $2, 'k', '{}')`, b.org, uuid.New())
		return err
	})
	require.True(t, dbtx.IsPermissionDenied(err), "got %v", err)
	good, err := b.outbox.Wrap(b.finalized(t))
	require.NoError(t, err)
	publish := func(env *events.Envelope, eventType string, aggregate uuid.UUID) error {
		raw, err := json.Marshal(env)
		require.NoError(t, err)
		return dbtx.Run(ctx, b.db.App, b.user, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `SELECT public.cl_pm_events_publish($1, $2, $3, $4, 'k', $5)`, env.OrganizationID, env.ID, eventType, aggregate, raw)
			return err
		})
	}
	aggregate := uuid.MustParse(good.Subject)
	withText := *good
	withText.Data = json.RawMessage(`{"event_type":"peer_encounter_finalized","organization_id":"` + b.org.String() + `","note":"patient reports relapse"}`)
	require.True(t, dbtx.IsCheckViolation(publish(&withText, good.Type, aggregate)), "free text in data")
	noData := *good
	noData.Data = nil
	require.True(t, dbtx.IsCheckViolation(publish(&noData, good.Type, aggregate)), "no data")
	otherOrg := *good
	otherOrg.OrganizationID = b.db.NewOrg(t)
	require.True(t, dbtx.IsPermissionDenied(publish(&otherOrg, good.Type, aggregate)), "another organization")
	phiSubject := *good
	phiSubject.Subject = "Jane Doe"
	require.True(t, dbtx.IsCheckViolation(publish(&phiSubject, good.Type, aggregate)), "a subject that is not the aggregate")
	require.True(t, dbtx.IsInvalidParameter(publish(good, "x.>", aggregate)), "an unregistered type")
	require.Zero(t, b.outboxCount(t))

	// A key already used for another aggregate is a conflict, not an answer
	// about that other event.
	first := b.finalized(t)
	_, err = b.publish(t, first, &events.PublishOpts{IdempotencyKey: "finalize-1"})
	require.NoError(t, err)
	_, err = b.publish(t, b.finalized(t), &events.PublishOpts{IdempotencyKey: "finalize-1"})
	require.ErrorIs(t, err, events.ErrIdempotencyConflict)
}
