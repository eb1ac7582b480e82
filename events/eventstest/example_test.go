package eventstest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/events/eventstest"
	"github.com/encoreos/platform-go/platformtest"
)

// Runs the examples and stops the throwaway PostgreSQL cluster; under
// -short only the tests run (an Example cannot skip).
func TestMain(m *testing.M) { os.Exit(platformtest.Run(m)) }

// A host's test checks that an event is in the outbox, and that a relay
// retries a sink that failed, with the recording fake sink in place of the
// broker.
func ExampleSink() {
	t := platformtest.NewT() // in a test, the test's own t
	defer t.Close()
	db := platformtest.NewDB(t)
	ctx := context.Background()
	org := db.NewOrg(t)
	integration := db.NewMember(t, org, "integration") // publishes and reads the outbox
	pe := db.NewFinalizedPeerEncounter(t, org)

	tx, err := db.App.Begin(ctx)
	if err != nil {
		panic(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if _, err := events.NewOutbox(nil).PublishAs(ctx, tx, integration, &events.PeerEncounterFinalized{
		Header:          events.Header{OrganizationID: org, Timestamp: pe.FinalizedAt},
		PeerEncounterID: pe.ID, ChartID: pe.ChartID, PeerProviderID: pe.PeerProviderID,
		ServiceDate: events.NewDate(pe.ServiceDate), HCPCSCode: events.Code(pe.HCPCSCode), DurationMinutes: pe.DurationMinutes,
	}, nil); err != nil {
		panic(err)
	}
	// Inside the transaction, before it commits:
	eventstest.RequirePublishedTx(t, tx, integration, org, events.TypePeerEncounterFinalized,
		&eventstest.RequireOpts{AggregateID: pe.ID, Count: 1})
	if err := tx.Commit(ctx); err != nil {
		panic(err)
	}

	sink := eventstest.NewSink()
	sink.FailNext(1, errors.New("broker unavailable"))
	relay, err := events.NewRelay(&events.RelayConfig{Pool: db.App, Sink: sink,
		RetryBackoff: 10 * time.Millisecond, PollInterval: 50 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	relayCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- relay.Run(relayCtx) }()
	got := sink.WaitFor(t, 1, 30*time.Second)
	stop()
	if err := <-done; err != nil {
		panic(err)
	}
	fmt.Println(got[0].Type, got[0].Subject == pe.ID.String(), "retried:", relay.Metrics().Retried)
	// Output: peer_encounter_finalized true retried: 1
}
