// Command quickstart shows a host application wiring the library up, end to
// end, against a real PostgreSQL and NATS JetStream, with no set-up:
//
//	go run ./examples/quickstart
//
// It borrows the host's test harness, platformtest, for what a host has
// already: a migrated database (on the PostgreSQL of DATABASE_URL, else a
// throwaway cluster from the local PostgreSQL binaries), an application role
// row-level security applies to, and the host's own provisioning (an
// organization, staff members, a Part 2 chart with a progress note). A host
// connects to its own database instead; everything else is the library's
// public API, as a host calls it.
//
// It walks through a Part 2 consent: denied, granted, allowed, revoked,
// denied again, and the accounting of disclosures. Then a peer specialist
// records a peer encounter and finalizes it, and a relay delivers its
// peer_encounter_finalized event to NATS JetStream (NATS_URL, else the
// server on this machine, nats.DefaultURL), where a consumer reads it.
// Last, HR's productivity report. It prints identifiers, codes and counts
// only, never PHI.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/encoreos/platform-go/billing"
	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/events/natsjs"
	"github.com/encoreos/platform-go/peer"
	"github.com/encoreos/platform-go/platformtest"
	"github.com/encoreos/platform-go/workforce"
)

func main() {
	log.SetFlags(0)
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatalf("quickstart: %v", err)
	}
}

func run(ctx context.Context, out io.Writer) error {
	// 0. What a host has already: a database migrated with schema.Migrate,
	// and a pool that connects as its application role (a member of
	// authenticated and cl_event_relay). platformtest makes both, and
	// drops the database and stops the throwaway cluster at the end.
	t := platformtest.NewT()
	defer platformtest.StopServer(context.Background()) //nolint:errcheck
	defer t.Close()
	db := platformtest.NewDB(t)
	pool := db.App

	// 1. The host provisions tenants, staff and charts (its own tables in a
	// real deployment; the library's host stand-ins here).
	org := db.NewOrg(t)
	officer := db.NewMember(t, org, "privacy_officer")
	clinician := db.NewMember(t, org, "clinician")
	peerSpecialist := db.NewMember(t, org, "peer_specialist")
	hr := db.NewMember(t, org, "hr_manager")
	chart := db.NewChart(t, org, true)
	plainChart := db.NewChart(t, org, false)
	db.Exec(t, `INSERT INTO public.cl_progress_notes (organization_id, chart_id, author_id, session_start, session_end)
		VALUES ($1, $2, $3, now() - interval '50 minutes', now())`, org, chart, clinician)
	// Yesterday's session with the clinician, on the scheduling side (PM-03).
	db.Exec(t, `INSERT INTO public.pm_appointments (organization_id, chart_id, provider_id, service_type, status, starts_at, ends_at)
		VALUES ($1, $2, $3, 'individual_therapy', 'completed', now() - interval '1 day', now() - interval '1 day' + interval '50 minutes')`,
		org, plainChart, clinician)
	fmt.Fprintf(out, "organization %s\n  privacy officer %s\n  clinician       %s\n  peer specialist %s\n  Part 2 chart    %s\n  chart           %s\n",
		org, officer, clinician, peerSpecialist, chart, plainChart)

	// 2. The library, as each acting user.
	store, err := consent.New(pool, nil)
	if err != nil {
		return err
	}
	ask := func(step string) error {
		d, err := store.Check(ctx, consent.Request{ActingUser: clinician, ChartID: chart, RecordType: consent.RecordProgressNote})
		if err != nil {
			return err
		}
		n, err := visibleNotes(ctx, pool, clinician, org, chart)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-28s allowed=%-5v basis=%-9s progress notes visible to the clinician: %d\n", step, d.Allowed, d.Basis, n)
		return nil
	}
	if err := ask("before any consent:"); err != nil {
		return err
	}
	c, err := store.Grant(ctx, officer, consent.GrantParams{
		OrganizationID: org,
		ChartID:        chart,
		Recipient:      consent.Recipient{UserID: clinician},
		RecordTypes:    []consent.RecordType{consent.RecordProgressNote, consent.RecordPeerEncounter},
		Purposes:       []consent.Purpose{consent.PurposeTreatment},
		ExpiresAt:      time.Now().AddDate(1, 0, 0),
		SignedAt:       time.Now(),
		Signer:         consent.SignerPatient,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "consent %s granted by the privacy officer\n", c.ID)
	if err := ask("after the grant:"); err != nil {
		return err
	}
	if _, err := store.Revoke(ctx, officer, org, c.ID); err != nil {
		return err
	}
	fmt.Fprintf(out, "consent %s revoked\n", c.ID)
	if err := ask("after the revocation:"); err != nil {
		return err
	}

	disclosures, err := store.Disclosures(ctx, officer, org, chart, time.Now().AddDate(-3, 0, 0))
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "accounting of disclosures for the chart:")
	for _, d := range disclosures {
		basis := ""
		if d.Basis != nil {
			basis = *d.Basis
		}
		fmt.Fprintf(out, "  %s  %-24s by %s %s\n", d.OccurredAt.UTC().Format(time.RFC3339), d.Action, *d.ActorUserID, basis)
	}
	if err := peerStory(ctx, out, pool, org, peerSpecialist, plainChart); err != nil {
		return err
	}
	return productivityReport(ctx, out, pool, org, hr)
}

// productivityReport is HR's view: aggregates only, small cells suppressed,
// every call audited.
func productivityReport(ctx context.Context, out io.Writer, pool *pgxpool.Pool, org, hr uuid.UUID) error {
	now := time.Now()
	report, err := workforce.GetProviderProductivity(ctx, pool, hr, org, workforce.Options{
		PeriodStart: now.AddDate(0, -3, 0), PeriodEnd: now.Add(time.Minute)})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "productivity report for HR: %d provider(s)\n", len(report))
	for _, s := range report {
		if s.Suppressed {
			fmt.Fprintf(out, "  provider %s: suppressed (fewer patients than the minimum cell size)\n", s.ProviderID)
			continue
		}
		fmt.Fprintf(out, "  provider %s: caseload %s, notes %s\n", s.ProviderID, shown(s.ActiveCaseloadCount), shown(s.NotesCompletedCount))
	}
	return nil
}

// shown prints a published count; nil means the count itself is hidden
// (its perturbed value is under the minimum cell size), even when the
// provider's row is not.
func shown(count *int) string {
	if count == nil {
		return "hidden"
	}
	return strconv.Itoa(*count)
}

// peerStory records a peer encounter and finalizes it, which publishes
// peer_encounter_finalized in the same transaction; a relay delivers the
// event to NATS JetStream, where a consumer (charge capture, PM-07) reads
// it as a CloudEvent.
func peerStory(ctx context.Context, out io.Writer, pool *pgxpool.Pool, org, peerSpecialist, chart uuid.UUID) error {
	js, stop, err := jetStream(out)
	if err != nil {
		return err
	}
	defer stop()
	stream, err := js.CreateOrUpdateStream(ctx, natsjs.StreamConfig("CL_PM_EVENTS", ""))
	if err != nil {
		return err
	}
	// Subjects are cl_pm_events.<organization_id>.<event_type>.
	consumer, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy:  jetstream.DeliverNewPolicy,
		FilterSubjects: []string{"cl_pm_events." + org.String() + ".>"},
	})
	if err != nil {
		return err
	}

	peers, err := peer.New(pool, nil)
	if err != nil {
		return err
	}
	end := time.Now().Add(-30 * time.Minute).Truncate(time.Minute)
	start := end.Add(-50 * time.Minute)
	encounter, err := peers.Create(ctx, peerSpecialist, peer.CreateParams{
		OrganizationID: org,
		ChartID:        chart,
		Fields: peer.Fields{
			PeerProviderID: peerSpecialist, ServiceDate: start, StartTime: start, EndTime: end,
			ServiceType: "recovery_coaching", HCPCSCode: billing.H0038.Code,
			FocusNotes: "Worked on the recovery plan and a relapse-prevention checklist.",
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "peer encounter %s recorded as a draft (%d minutes)\n", encounter.ID, encounter.DurationMinutes)
	if _, err := peers.Finalize(ctx, peerSpecialist, org, encounter.ID); err != nil {
		return err
	}
	fmt.Fprintln(out, "finalized; peer_encounter_finalized is in the outbox")

	relay, err := events.NewRelay(&events.RelayConfig{Pool: pool, Sink: natsjs.NewSink(js, nil)})
	if err != nil {
		return err
	}
	relayCtx, stopRelay := context.WithCancel(ctx)
	relayDone := make(chan error, 1)
	go func() { relayDone <- relay.Run(relayCtx) }()
	defer func() { stopRelay(); <-relayDone }()

	msg, err := consumer.Next(jetstream.FetchMaxWait(30 * time.Second))
	if err != nil {
		return fmt.Errorf("no event reached the consumer: %w", err)
	}
	var env events.Envelope
	if err := json.Unmarshal(msg.Data(), &env); err != nil {
		return err
	}
	e, err := events.Decode(&env)
	if err != nil {
		return err
	}
	finalized := e.(*events.PeerEncounterFinalized)
	fmt.Fprintf(out, "consumer received on %s:\n  CloudEvent %s type=%s subject=%s\n  %s, %d minutes = %d units under the CMS 8-minute rule\n",
		msg.Subject(), env.ID, env.Type, env.Subject, finalized.HCPCSCode, finalized.DurationMinutes,
		billing.Units(billing.CMS8Minute, finalized.DurationMinutes, 0))
	return nil
}

// jetStream connects to NATS_URL, else to the server on this machine.
func jetStream(out io.Writer) (jetstream.JetStream, func(), error) {
	url, source := os.Getenv("NATS_URL"), "NATS_URL"
	if url == "" {
		url, source = nats.DefaultURL, "nats.DefaultURL (set NATS_URL to use another server)"
	}
	nc, err := nats.Connect(url, nats.Timeout(5*time.Second))
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to NATS at %s: %w; start a server with JetStream (nats-server -js, or docker run -p 4222:4222 nats -js) or set NATS_URL", source, err)
	}
	fmt.Fprintf(out, "NATS: %s\n", source)
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return js, nc.Close, nil
}

// visibleNotes counts the progress notes the user can see: RLS and the
// Part 2 consent check decide, and a Part 2 chart's notes are read only
// after the read is in the chart's accounting of disclosures, committed
// first (consent.Account, which writes nothing without a consent).
func visibleNotes(ctx context.Context, pool *pgxpool.Pool, user, org, part2Chart uuid.UUID) (int, error) {
	if _, err := consent.Account(ctx, pool, user, org, consent.RecordProgressNote, consent.PurposeTreatment, consent.UseDisplay,
		part2Chart); err != nil {
		return 0, err
	}
	var n int // in the host's own acting-user transaction
	err := platformtest.AsUser(ctx, pool, user, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM public.cl_progress_notes`).Scan(&n)
	})
	return n, err
}
