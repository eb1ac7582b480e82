package events_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/jackc/pgx/v5"

	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/platformtest"
)

// An event the broker kept refusing is dead-lettered; once the cause is
// fixed, an operator (or `platform dead retry`) requeues it.
func ExampleDeadLetters() {
	tb := platformtest.NewT() // in a test, the test's own t
	defer tb.Close()
	db := platformtest.NewDB(tb)
	ctx := context.Background()
	org := db.NewOrg(tb)
	integration := db.NewMember(tb, org, "integration")
	pe := db.NewFinalizedPeerEncounter(tb, org)
	err := platformtest.AsUser(ctx, db.App, integration, func(tx pgx.Tx) error {
		_, err := events.NewOutbox(nil).PublishTx(ctx, tx, &events.PeerEncounterFinalized{
			Header:          events.Header{OrganizationID: org, Timestamp: pe.FinalizedAt},
			PeerEncounterID: pe.ID, ChartID: pe.ChartID, PeerProviderID: pe.PeerProviderID,
			ServiceDate: events.NewDate(pe.ServiceDate), HCPCSCode: "H0038", DurationMinutes: pe.DurationMinutes,
		}, nil)
		return err
	})
	if err != nil {
		panic(err)
	}
	down := events.SinkFunc(func(context.Context, []events.Envelope) (int, error) { return 0, errors.New("broker down") })
	relay, err := events.NewRelay(&events.RelayConfig{Pool: db.App, Sink: down, MaxAttempts: 1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		panic(err)
	}
	_, _ = relay.RunOnce(ctx) // fails: the event is dead-lettered

	dead, err := events.NewDeadLetters(db.App) // a pool of the relay's role
	if err != nil {
		panic(err)
	}
	list, err := dead.List(ctx, &events.DeadLetterListOpts{OrganizationID: org})
	if err != nil {
		panic(err)
	}
	for _, d := range list {
		fmt.Println(d.EventType, d.Attempts, d.LastError)
		requeued, err := dead.Retry(ctx, d.OrganizationID, d.ID)
		if err != nil {
			panic(err)
		}
		fmt.Println("requeued:", requeued)
	}
	// Output:
	// peer_encounter_finalized 1 error:*errors.errorString
	// requeued: true
}
