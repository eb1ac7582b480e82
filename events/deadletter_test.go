package events_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/events/eventstest"
)

// A dead letter is listed with the events it holds back, inspected whole,
// and requeued; then the relay delivers it and the events behind it.
func TestDeadLettersListInspectAndRetry(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	published := b.publishMany(t, 3, 1) // one aggregate: the first blocks the other two
	sink := eventstest.NewSink()
	sink.FailNext(1, errors.New("down"))
	r := b.relay(t, sink, &events.RelayConfig{MaxAttempts: 1})
	_, err := r.RunOnce(ctx)
	require.ErrorIs(t, err, events.ErrDeliveryFailed)
	require.Equal(t, 1, b.statusCounts(t)["dead"])

	dead, err := events.NewDeadLetters(b.db.App)
	require.NoError(t, err)
	list, err := dead.List(ctx, nil)
	require.NoError(t, err)
	require.Len(t, list, 1)
	d := list[0]
	require.Equal(t, b.org, d.OrganizationID)
	require.Equal(t, events.TypePeerEncounterFinalized, d.EventType)
	require.Equal(t, published[0].PeerEncounterID, d.AggregateID)
	require.Equal(t, 1, d.AggregateSeq)
	require.Equal(t, 1, d.Attempts)
	require.Equal(t, "error:*errors.errorString", d.LastError)
	require.Equal(t, 2, d.HeldBack)
	require.Equal(t, d.ID, d.Envelope.ID)

	other, err := dead.List(ctx, &events.DeadLetterListOpts{OrganizationID: uuid.New()})
	require.NoError(t, err)
	require.Empty(t, other, "another organization's list")
	_, err = dead.List(ctx, &events.DeadLetterListOpts{Limit: 10001})
	require.Error(t, err)

	got, err := dead.Get(ctx, b.org, d.ID)
	require.NoError(t, err)
	require.Equal(t, d, *got)
	_, err = dead.Get(ctx, uuid.New(), d.ID)
	require.ErrorIs(t, err, events.ErrNotFound, "the id in another organization")

	ok, err := dead.Retry(ctx, b.org, d.ID)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = dead.Retry(ctx, b.org, d.ID)
	require.NoError(t, err)
	require.False(t, ok, "no longer dead")
	_, err = dead.Get(ctx, b.org, d.ID)
	require.ErrorIs(t, err, events.ErrNotFound)

	require.NoError(t, r.Drain(ctx))
	sink.WaitFor(t, 3, 10*time.Second)
	require.Equal(t, map[string]int{"delivered": 3}, b.statusCounts(t))
}

func TestNewDeadLettersNeedsAPool(t *testing.T) {
	t.Parallel()
	_, err := events.NewDeadLetters(nil)
	require.Error(t, err)
}
