package natsjs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/events/natsjs"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/natsserver"
	"github.com/encoreos/platform-go/internal/testdb"
)

// Wiring the outbox to NATS JetStream: a stream for the subjects, a relay
// with the JetStream sink, and a consumer that reads CloudEvents.
func ExampleSink() {
	db, tb, done := testdb.ForExample()
	defer done()
	srv, err := natsserver.Start() // a host connects to its own server instead
	if err != nil {
		panic(err)
	}
	defer srv.Stop()
	ctx := context.Background()

	nc, err := nats.Connect(srv.URL())
	if err != nil {
		panic(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		panic(err)
	}
	stream, err := js.CreateOrUpdateStream(ctx, natsjs.StreamConfig("CL_PM_EVENTS", ""))
	if err != nil {
		panic(err)
	}

	// The relay runs in the host's process, as a member of cl_event_relay.
	relay, err := events.NewRelay(&events.RelayConfig{Pool: db.App, Sink: natsjs.NewSink(js, nil)})
	if err != nil {
		panic(err)
	}
	relayCtx, stopRelay := context.WithCancel(ctx)
	defer stopRelay()
	go relay.Run(relayCtx) //nolint:errcheck // returns nil when stopped

	// A record change and its event commit together (here an integration
	// principal publishes about an existing finalized encounter; the peer
	// package finalizes an encounter and publishes it the same way).
	org := db.NewOrg(tb)
	integration := db.NewMember(tb, org, "integration") // direct publishing needs pf.events.publish
	pe := db.NewFinalizedPeerEncounter(tb, org)
	outbox := events.NewOutbox(nil)
	err = dbtx.Run(ctx, db.App, integration, func(tx pgx.Tx) error {
		_, err := outbox.PublishTx(ctx, tx, &events.PeerEncounterFinalized{
			Header:          events.Header{OrganizationID: org, Timestamp: pe.FinalizedAt},
			PeerEncounterID: pe.ID, ChartID: pe.ChartID, PeerProviderID: pe.PeerProviderID,
			ServiceDate: events.NewDate(pe.ServiceDate), HCPCSCode: "H0038", DurationMinutes: pe.DurationMinutes,
		}, nil)
		return err
	})
	if err != nil {
		panic(err)
	}

	consumer, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"cl_pm_events.*.peer_encounter_finalized"}})
	if err != nil {
		panic(err)
	}
	msg, err := consumer.Next(jetstream.FetchMaxWait(10 * time.Second))
	if err != nil {
		panic(err)
	}
	var env events.Envelope
	if err := json.Unmarshal(msg.Data(), &env); err != nil {
		panic(err)
	}
	e, err := events.Decode(&env)
	if err != nil {
		panic(err)
	}
	finalized := e.(*events.PeerEncounterFinalized)
	fmt.Println(env.Type, finalized.HCPCSCode, finalized.DurationMinutes, msg.Headers().Get("Nats-Msg-Id") == env.ID.String())
	// Output: peer_encounter_finalized H0038 30 true
}
