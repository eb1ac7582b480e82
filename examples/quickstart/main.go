// Command quickstart shows a host application wiring the library up, end to
// end, against a real PostgreSQL found the way the tests find one
// (DATABASE_URL, else the local PostgreSQL binaries, else Docker):
//
//	go run ./examples/quickstart
//
// It migrates a fresh database, provisions what a host provides (an
// organization, two staff members, a Part 2 chart with a progress note),
// connects as an application role that row-level security applies to, and
// walks through a Part 2 consent: denied, granted, allowed, revoked, denied
// again, and the accounting of disclosures. Then a peer specialist records
// a peer encounter and finalizes it, and a relay delivers its
// peer_encounter_finalized event to NATS JetStream (an in-process server,
// or NATS_URL), where a consumer reads it. It prints identifiers, codes and
// counts only, never PHI.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
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
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/natsserver"
	"github.com/encoreos/platform-go/internal/pgserver"
	"github.com/encoreos/platform-go/peer"
	"github.com/encoreos/platform-go/schema"
	"github.com/encoreos/platform-go/workforce"
)

const (
	database = "platform_quickstart"
	appRole  = "platform_quickstart_app"
)

func main() {
	log.SetFlags(0)
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatalf("quickstart: %v", err)
	}
}

func run(ctx context.Context, out io.Writer) error {
	srv, err := pgserver.Start(ctx)
	if err != nil {
		return err
	}
	defer srv.Stop(context.Background()) //nolint:errcheck
	fmt.Fprintf(out, "PostgreSQL: %s\n", srv.Source)

	admin, appPool, err := freshDatabase(ctx, out, srv.URL)
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	defer appPool.Close()

	// 1. The host provisions tenants, staff and charts (its own tables in a
	// real deployment; the library's host stand-ins, schema/host, here).
	var org, chart, plainChart uuid.UUID
	officer, clinician, peerSpecialist, hr := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	if err := admin.QueryRow(ctx, `INSERT INTO public.pf_organizations (name) VALUES ('Quickstart Recovery Center') RETURNING id`).Scan(&org); err != nil {
		return err
	}
	for _, m := range []struct {
		user uuid.UUID
		role string
	}{{officer, "privacy_officer"}, {clinician, "clinician"}, {peerSpecialist, "peer_specialist"}, {hr, "hr_manager"}} {
		if _, err := admin.Exec(ctx, `INSERT INTO public.pf_members (organization_id, user_id) VALUES ($1, $2);`, org, m.user); err != nil {
			return err
		}
		if _, err := admin.Exec(ctx, `INSERT INTO public.pf_member_roles (organization_id, user_id, role) VALUES ($1, $2, $3)`, org, m.user, m.role); err != nil {
			return err
		}
	}
	if err := admin.QueryRow(ctx, `INSERT INTO public.cl_charts (organization_id, is_part2) VALUES ($1, true) RETURNING id`, org).Scan(&chart); err != nil {
		return err
	}
	if err := admin.QueryRow(ctx, `INSERT INTO public.cl_charts (organization_id, is_part2) VALUES ($1, false) RETURNING id`, org).Scan(&plainChart); err != nil {
		return err
	}
	if _, err := admin.Exec(ctx, `INSERT INTO public.cl_progress_notes (organization_id, chart_id, author_id, session_start, session_end)
		VALUES ($1, $2, $3, now() - interval '50 minutes', now())`, org, chart, clinician); err != nil {
		return err
	}
	// Yesterday's session with the clinician, on the scheduling side (PM-03).
	if _, err := admin.Exec(ctx, `INSERT INTO public.pm_appointments (organization_id, chart_id, provider_id, service_type, status, starts_at, ends_at)
		VALUES ($1, $2, $3, 'individual_therapy', 'completed', now() - interval '1 day', now() - interval '1 day' + interval '50 minutes')`,
		org, plainChart, clinician); err != nil {
		return err
	}
	fmt.Fprintf(out, "organization %s\n  privacy officer %s\n  clinician       %s\n  peer specialist %s\n  Part 2 chart    %s\n  chart           %s\n",
		org, officer, clinician, peerSpecialist, chart, plainChart)

	// 2. The library, as each acting user.
	store, err := consent.New(appPool, nil)
	if err != nil {
		return err
	}
	ask := func(step string) error {
		d, err := store.Check(ctx, consent.Request{ActingUser: clinician, ChartID: chart, RecordType: consent.RecordProgressNote})
		if err != nil {
			return err
		}
		n, err := visibleNotes(ctx, appPool, clinician, org, chart)
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
	if err := peerStory(ctx, out, appPool, org, peerSpecialist, plainChart); err != nil {
		return err
	}
	return productivityReport(ctx, out, appPool, org, hr)
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
		fmt.Fprintf(out, "  provider %s: caseload %d, notes %d\n", s.ProviderID, *s.ActiveCaseloadCount, *s.NotesCompletedCount)
	}
	return nil
}

// peerStory records a peer encounter and finalizes it, which publishes
// peer_encounter_finalized in the same transaction; a relay delivers the
// event to NATS JetStream, where a consumer (charge capture, PM-07) reads
// it as a CloudEvent.
func peerStory(ctx context.Context, out io.Writer, pool *pgxpool.Pool, org, peerSpecialist, chart uuid.UUID) error {
	js, stop, err := jetStream(ctx, out)
	if err != nil {
		return err
	}
	defer stop()
	stream, err := js.CreateOrUpdateStream(ctx, natsjs.StreamConfig("CL_PM_EVENTS", ""))
	if err != nil {
		return err
	}
	consumer, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy})
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

// jetStream connects to NATS_URL, or runs an in-process NATS server.
func jetStream(ctx context.Context, out io.Writer) (jetstream.JetStream, func(), error) {
	url := os.Getenv("NATS_URL")
	stopServer := func() {}
	if url == "" {
		srv, err := natsserver.Start()
		if err != nil {
			return nil, nil, err
		}
		url, stopServer = srv.URL(), srv.Stop
		fmt.Fprintln(out, "NATS: in-process JetStream server (set NATS_URL to use yours)")
	} else {
		fmt.Fprintln(out, "NATS: NATS_URL")
	}
	nc, err := nats.Connect(url)
	if err != nil {
		stopServer()
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		stopServer()
		return nil, nil, err
	}
	return js, func() { nc.Close(); stopServer() }, nil
}

// freshDatabase (re)creates the quickstart database, migrates it, and
// returns a superuser connection (the host's provisioning) and a pool that
// connects as an application role RLS applies to (the library's).
func freshDatabase(ctx context.Context, out io.Writer, url string) (*pgx.Conn, *pgxpool.Pool, error) {
	server, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, nil, err
	}
	defer server.Close(ctx)
	for _, stmt := range []string{
		`DROP DATABASE IF EXISTS ` + database + ` WITH (FORCE)`,
		`CREATE DATABASE ` + database,
	} {
		if _, err := server.Exec(ctx, stmt); err != nil {
			return nil, nil, err
		}
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, nil, err
	}
	cfg.Database = database
	admin, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	res, err := schema.Migrate(ctx, admin)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(out, "migrated: versions %v\n", res.Applied)
	if err := pgserver.EnsureAppRole(ctx, admin, appRole, appRole); err != nil {
		return nil, nil, err
	}
	poolCfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, nil, err
	}
	poolCfg.ConnConfig.Database = database
	poolCfg.ConnConfig.User, poolCfg.ConnConfig.Password = appRole, appRole
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return nil, nil, err
	}
	return admin, pool, nil
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
	var n int
	err := dbtx.Run(ctx, pool, user, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM public.cl_progress_notes`).Scan(&n)
	})
	return n, err
}
