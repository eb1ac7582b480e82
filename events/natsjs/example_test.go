package natsjs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/events/natsjs"
	"github.com/encoreos/platform-go/platformtest"
)

// Wiring the outbox to NATS JetStream: a stream for the subjects, a relay
// with the JetStream sink, and a consumer that reads CloudEvents. The
// server is NATS_URL's, else the one on this machine (nats.DefaultURL);
// the test binary points NATS_URL at a server of its own.
func ExampleSink() {
	t := platformtest.NewT() // in a test, the test's own t
	defer t.Close()
	db := platformtest.NewDB(t)
	ctx := context.Background()

	url := os.Getenv("NATS_URL")
	if url == "" {
		url = nats.DefaultURL
	}
	nc, err := nats.Connect(url)
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
	relayDone := make(chan error, 1)
	go func() { relayDone <- relay.Run(relayCtx) }()
	defer func() { stopRelay(); <-relayDone }()

	// A record change and its event commit together in the host's
	// transaction (here an integration principal publishes about an
	// existing finalized encounter; the peer package finalizes an
	// encounter and publishes it the same way).
	org := db.NewOrg(t)
	integration := db.NewMember(t, org, "integration") // direct publishing needs pf.events.publish
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
	if err := tx.Commit(ctx); err != nil {
		panic(err)
	}

	// Subjects are cl_pm_events.<organization_id>.<event_type>.
	consumer, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"cl_pm_events." + org.String() + ".peer_encounter_finalized"}})
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
	fmt.Println(env.Type, finalized.HCPCSCode, finalized.DurationMinutes, msg.Headers().Get(jetstream.MsgIDHeader) == env.ID.String())
	// Output: peer_encounter_finalized H0038 30 true
}
