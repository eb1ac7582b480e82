package events_test

import (
	"context"
	"fmt"

	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/platformtest"
)

// An event is published in the transaction of the change that caused it,
// once per idempotency key, and a relay hands it to any broker through a
// Sink.
func ExampleRelay() {
	t := platformtest.NewT() // in a test, the test's own t
	defer t.Close()
	db := platformtest.NewDB(t)
	ctx := context.Background()
	org := db.NewOrg(t)
	// Direct publishing is for an integration principal (pf.events.publish),
	// and an event about a record needs the record.
	integration := db.NewMember(t, org, "integration")
	pe := db.NewFinalizedPeerEncounter(t, org)

	outbox := events.NewOutbox(nil)
	finalized := &events.PeerEncounterFinalized{
		Header:          events.Header{OrganizationID: org, Timestamp: pe.FinalizedAt},
		PeerEncounterID: pe.ID, ChartID: pe.ChartID, PeerProviderID: pe.PeerProviderID,
		ServiceDate: events.NewDate(pe.ServiceDate), HCPCSCode: "H0038", DurationMinutes: pe.DurationMinutes,
	}
	for range 2 { // publishing the same event twice stores it once
		tx, err := db.App.Begin(ctx) // the host's transaction, with its own rows
		if err != nil {
			panic(err)
		}
		if _, err := outbox.PublishAs(ctx, tx, integration, finalized, nil); err != nil {
			panic(err)
		}
		if err := tx.Commit(ctx); err != nil {
			panic(err)
		}
	}

	printer := events.SinkFunc(func(_ context.Context, batch []events.Envelope) (int, error) {
		for _, e := range batch {
			fmt.Println(e.Type, e.SpecVersion, e.DataContentType)
		}
		return len(batch), nil
	})
	relay, err := events.NewRelay(&events.RelayConfig{Pool: db.App, Sink: printer})
	if err != nil {
		panic(err)
	}
	if err := relay.Drain(ctx); err != nil {
		panic(err)
	}
	fmt.Println("delivered:", relay.Metrics().Delivered)
	// Output:
	// peer_encounter_finalized 1.0 application/json
	// delivered: 1
}
