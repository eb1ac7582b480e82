package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/natsserver"
	"github.com/encoreos/platform-go/internal/testdb"
	"github.com/encoreos/platform-go/schema"
)

func TestMigrateVersionVerifyOnAnEmptyDatabase(t *testing.T) {
	t.Parallel()
	migrations, err := schema.List()
	require.NoError(t, err)
	latest := migrations[len(migrations)-1]
	cfg := testdb.NewEmpty(t)
	url := adminDSN(t, cfg.Database)

	r := platform(t, "version", "-database-url", url).requireCode(t, exitOK)
	require.Contains(t, r.stdout, "database: no migrations applied\n")
	require.Contains(t, r.stdout, "library:  "+strconv.Itoa(latest.Version)+" ("+latest.Name+")\n")
	require.Contains(t, r.stdout, strconv.Itoa(len(migrations))+" migrations pending: run platform migrate\n")
	r = platform(t, "verify", "-database-url", url).requireCode(t, exitProblems)
	require.Contains(t, r.stdout, "pending: "+migrations[0].Name+" is not applied (run platform migrate)\n")

	r = platform(t, "migrate", "-dry-run", "-database-url", url).requireCode(t, exitOK)
	require.Contains(t, r.stdout, "would apply "+strconv.Itoa(len(migrations))+" migrations:\n")
	for _, m := range migrations {
		require.Contains(t, r.stdout, "  "+m.Name+"\n")
	}
	require.Contains(t, platform(t, "version", "-database-url", url).stdout, "no migrations applied", "a dry run applies nothing")

	// Not as a role row-level security applies to.
	r = platform(t, "migrate", "-database-url", appDSN(t, cfg.Database)).requireCode(t, exitProblems)
	require.Contains(t, r.stderr, "migrations must run as a superuser or a role with BYPASSRLS")

	r = platform(t, "migrate", "-database-url", url).requireCode(t, exitOK)
	host, err := schema.ListHostStandIns()
	require.NoError(t, err)
	for _, m := range host {
		require.Contains(t, r.stdout, "applied host stand-in "+m.Name+"\n")
	}
	for _, m := range migrations {
		require.Contains(t, r.stdout, "applied "+m.Name+"\n")
	}
	require.Contains(t, r.stdout, "the database is at version "+strconv.Itoa(latest.Version)+", this library's newest\n")

	r = platform(t, "version", "-database-url", url).requireCode(t, exitOK)
	require.Contains(t, r.stdout, "database: "+strconv.Itoa(latest.Version)+" ("+latest.Name+", applied ")
	require.Contains(t, r.stdout, "up to date\n")
	r = platform(t, "verify", "-database-url", url).requireCode(t, exitOK)
	require.Contains(t, r.stdout, "verified: the "+strconv.Itoa(len(migrations))+" applied migrations are this library's")
	r = platform(t, "migrate", "-database-url", url).requireCode(t, exitOK)
	require.Equal(t, "nothing to apply: the database is at version "+strconv.Itoa(latest.Version)+", this library's newest\n", r.stdout)
	r = platform(t, "migrate", "-dry-run", "-database-url", url).requireCode(t, exitOK)
	require.Contains(t, r.stdout, "nothing to apply")

	// A migration recorded under another name is not this library's.
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(context.Background(), `UPDATE public.platform_schema_migrations SET name = '0002_hand_made.up.sql' WHERE version = 2`)
	require.NoError(t, err)
	r = platform(t, "verify", "-database-url", url).requireCode(t, exitProblems)
	require.Equal(t, "differs: version 2 is recorded as 0002_hand_made.up.sql; this library's is "+migrations[1].Name+"\n", r.stdout)
}

// A host with its own tables migrates the library's line only.
func TestMigrateLibraryOnly(t *testing.T) {
	t.Parallel()
	cfg := testdb.NewEmpty(t)
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	host, err := schema.ListHostStandIns()
	require.NoError(t, err)
	for _, m := range host { // the host's own tables, by its own tool
		_, err := conn.Exec(context.Background(), m.SQL)
		require.NoError(t, err, m.Name)
	}
	r := platform(t, "migrate", "-library-only", "-database-url", adminDSN(t, cfg.Database)).requireCode(t, exitOK)
	require.NotContains(t, r.stdout, "host stand-in")
	require.Contains(t, r.stdout, "this library's newest\n")
}

func TestDoctor(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	url := adminDSN(t, db.Name)
	roles := []string{"-app-role", testdb.AppRole, "-relay-role", testdb.AppRole}
	r := platform(t, append([]string{"doctor", "-database-url", url}, roles...)...).requireCode(t, exitOK)
	require.Contains(t, r.stdout, "all good: migrations, roles, app_roles, relay_roles, privileges, rls, access_helpers, definer_functions checked\n")

	superApp := newLoginRole(t, db, "SUPERUSER", "authenticated")
	migrations, err := schema.List()
	require.NoError(t, err)
	var helpers string // the migration that creates the access helpers
	for _, m := range migrations {
		if strings.Contains(m.SQL, "CREATE FUNCTION public.cl_has_site_access(") {
			helpers = m.Name
		}
	}
	db.Exec(t, `ALTER TABLE public.cl_charts NO FORCE ROW LEVEL SECURITY`)
	db.Exec(t, `ALTER FUNCTION public.cl_has_site_access(uuid, uuid) RENAME TO cl_has_site_access_gone`)
	r = platform(t, "doctor", "-database-url", url, "-app-role", testdb.AppRole+","+superApp, "-relay-role", testdb.AppRole).requireCode(t, exitProblems)
	for _, want := range []string{
		"privileges: " + superApp + " has SUPERUSER: row-level security never applies to it\n  fix: ALTER ROLE " + superApp + " NOSUPERUSER;\n",
		"rls: row-level security is not forced on public.cl_charts: its owner reads around the policies\n  fix: ALTER TABLE public.cl_charts FORCE ROW LEVEL SECURITY;\n",
		"access_helpers: access helper public.cl_has_site_access(uuid,uuid) is missing (or has another signature): every policy calls it\n  fix: create it as schema/migrations/" + helpers + " does",
		"3 problems found\n",
	} {
		require.Contains(t, r.stdout, want)
	}

	// The app role is not the migrating role.
	r = platform(t, append([]string{"doctor", "-database-url", appDSN(t, db.Name)}, roles...)...).requireCode(t, exitProblems)
	require.Contains(t, r.stderr, "platform: schema: reading the applied migrations needs the migrating role: schema: migrations must run as a superuser or a role with BYPASSRLS")
}

// publishFinalized publishes one peer_encounter_finalized event through
// the outbox, as an integration principal, and returns its envelope.
func publishFinalized(t *testing.T, db *testdb.DB, org uuid.UUID) *events.Envelope {
	t.Helper()
	ctx := context.Background()
	integration := db.NewMember(t, org, "integration")
	pe := db.NewFinalizedPeerEncounter(t, org)
	var env *events.Envelope
	require.NoError(t, dbtx.Run(ctx, db.App, integration, func(tx pgx.Tx) (err error) {
		env, err = events.NewOutbox(nil).PublishTx(ctx, tx, &events.PeerEncounterFinalized{
			Header:          events.Header{OrganizationID: org, Timestamp: pe.FinalizedAt},
			PeerEncounterID: pe.ID, ChartID: pe.ChartID, PeerProviderID: pe.PeerProviderID,
			ServiceDate: events.NewDate(pe.ServiceDate), HCPCSCode: events.Code(pe.HCPCSCode), DurationMinutes: pe.DurationMinutes,
		}, nil)
		return err
	}))
	return env
}

func status(t *testing.T, db *testdb.DB, org, id uuid.UUID) string {
	t.Helper()
	var s string
	require.NoError(t, db.Admin.QueryRow(context.Background(), `SELECT status FROM public.cl_pm_events WHERE organization_id = $1 AND id = $2`, org, id).Scan(&s))
	return s
}

func TestDeadListInspectRetry(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	org := db.NewOrg(t)
	env := publishFinalized(t, db, org)
	failing := events.SinkFunc(func(context.Context, []events.Envelope) (int, error) { return 0, errors.New("broker down") })
	relay, err := events.NewRelay(&events.RelayConfig{Pool: db.App, Sink: failing, MaxAttempts: 1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	_, err = relay.RunOnce(ctx)
	require.ErrorIs(t, err, events.ErrDeliveryFailed)
	require.Equal(t, "dead", status(t, db, org, env.ID))

	url := appDSN(t, db.Name) // the relay's login role
	r := platform(t, "dead", "list", "-database-url", url).requireCode(t, exitOK)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 2, r.stdout)
	require.Equal(t, []string{"ORGANIZATION", "EVENT", "TYPE", "AGGREGATE", "SEQ", "ATTEMPTS", "LAST_ERROR", "CREATED", "HELD_BACK"}, strings.Fields(lines[0]))
	fields := strings.Fields(lines[1])
	require.Equal(t, []string{org.String(), env.ID.String(), "peer_encounter_finalized", env.Subject, "1", "1", "error:*errors.errorString"}, fields[:7])
	require.Equal(t, "0", fields[8])
	r = platform(t, "dead", "list", "-org", uuid.NewString(), "-database-url", url).requireCode(t, exitOK)
	require.Equal(t, "no dead-lettered events\n", r.stdout, "another organization's")

	r = platform(t, "dead", "inspect", "-org", org.String(), "-event", env.ID.String(), "-database-url", url).requireCode(t, exitOK)
	for _, want := range [][]string{
		{"organization", org.String()}, {"event", env.ID.String()}, {"type", "peer_encounter_finalized"},
		{"attempts", "1"}, {"last_error", "error:*errors.errorString"}, {"subject", env.Subject},
		{"data.hcpcs_code", `"H0038"`}, {"data.duration_minutes", "30"}, {"data.peer_encounter_id", `"` + env.Subject + `"`},
	} {
		require.Regexp(t, "(?m)^"+want[0]+` +`+regexp.QuoteMeta(want[1])+"$", r.stdout)
	}
	r = platform(t, "dead", "inspect", "-org", uuid.NewString(), "-event", env.ID.String(), "-database-url", url).requireCode(t, exitProblems)
	require.Contains(t, r.stderr, "no dead-lettered event "+env.ID.String())

	r = platform(t, "dead", "retry", "-org", org.String(), "-event", env.ID.String(), "-database-url", url).requireCode(t, exitOK)
	require.Equal(t, "requeued "+env.ID.String()+" (organization "+org.String()+")\n1 events requeued\n", r.stdout)
	require.Equal(t, "pending", status(t, db, org, env.ID))
	require.Equal(t, "no dead-lettered events\n", platform(t, "dead", "list", "-database-url", url).requireCode(t, exitOK).stdout)
	r = platform(t, "dead", "retry", "-org", org.String(), "-event", env.ID.String(), "-database-url", url).requireCode(t, exitProblems)
	require.Contains(t, r.stderr, "no dead-lettered event")

	// Dead again, then -all requeues it.
	_, err = relay.RunOnce(ctx)
	require.ErrorIs(t, err, events.ErrDeliveryFailed)
	r = platform(t, "dead", "retry", "-all", "-database-url", url).requireCode(t, exitOK)
	require.Contains(t, r.stdout, "1 events requeued\n")
	require.Equal(t, "pending", status(t, db, org, env.ID))

	// A role that is not the relay's sees nothing of the outbox.
	plain := newLoginRole(t, db, "", "authenticated")
	db.Exec(t, `ALTER ROLE `+plain+` PASSWORD '`+plain+`'`)
	r = platform(t, "dead", "list", "-database-url", dsn(t, db.Name, plain)).requireCode(t, exitProblems)
	require.Contains(t, r.stderr, "the relay's role must be a member of cl_event_relay")
}

func TestRelayDeliversToJetStreamAndStopsOnCancel(t *testing.T) {
	t.Parallel()
	srv, err := natsserver.Start()
	require.NoError(t, err)
	t.Cleanup(srv.Stop)
	db := testdb.New(t)
	url := appDSN(t, db.Name)

	// Without a stream it refuses to start: every event would end dead.
	r := platform(t, "relay", "-database-url", url, "-nats-url", srv.URL()).requireCode(t, exitProblems)
	require.Contains(t, r.stderr, "no JetStream stream stores cl_pm_events.>: create one")

	org := db.NewOrg(t)
	env := publishFinalized(t, db, org)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan result, 1)
	go func() {
		done <- platformCtx(t, ctx, "relay", "-database-url", url, "-nats-url", srv.URL(), "-create-stream", "-poll-interval", "50ms")
	}()

	nc, err := nats.Connect(srv.URL())
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	var stream jetstream.Stream
	require.Eventually(t, func() bool { stream, err = js.Stream(ctx, "CL_PM_EVENTS"); return err == nil }, 10*time.Second, 20*time.Millisecond)
	consumer, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	msg, err := consumer.Next(jetstream.FetchMaxWait(10 * time.Second))
	require.NoError(t, err)
	require.Equal(t, "cl_pm_events."+org.String()+".peer_encounter_finalized", msg.Subject())
	require.Equal(t, env.ID.String(), msg.Headers().Get(jetstream.MsgIDHeader))
	require.Eventually(t, func() bool { return status(t, db, org, env.ID) == "delivered" }, 10*time.Second, 20*time.Millisecond)

	cancel()
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the relay did not stop on cancel")
	}
	r.requireCode(t, exitOK)
	require.Contains(t, r.stdout, "relay: delivering to stream CL_PM_EVENTS (subjects cl_pm_events.>); stop with SIGINT or SIGTERM\n")
	require.Contains(t, r.stdout, "relay: stopped: 1 delivered, 0 retried, 0 dead-lettered\n")
	require.NotContains(t, r.stderr, env.Subject, "no payload in the relay's logs")

	// Once the stream exists, the relay finds it by its subjects.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel2()
	r = platformCtx(t, ctx2, "relay", "-database-url", url, "-nats-url", srv.URL()).requireCode(t, exitOK)
	require.Contains(t, r.stdout, "relay: delivering to stream CL_PM_EVENTS")
}

// The command as a process: SIGTERM stops the relay gracefully, with
// status 0 and its figures.
func TestRelayStopsGracefullyOnSIGTERM(t *testing.T) {
	t.Parallel()
	srv, err := natsserver.Start()
	require.NoError(t, err)
	t.Cleanup(srv.Stop)
	db := testdb.New(t)
	org := db.NewOrg(t)
	env := publishFinalized(t, db, org)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), asCommand+"=1", "DATABASE_URL="+appDSN(t, db.Name), "NATS_URL="+srv.URL(),
		asCommand+"_ARGS=relay -create-stream -poll-interval 50ms")
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	require.NoError(t, cmd.Start())
	require.Eventually(t, func() bool { return status(t, db, org, env.ID) == "delivered" }, 20*time.Second, 20*time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait(), "stdout:\n%s\nstderr:\n%s", out.String(), errs.String())
	require.Contains(t, out.String(), "relay: stopped: 1 delivered, 0 retried, 0 dead-lettered\n")
}

func TestAccountingOfAChart(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	client, err := consent.New(db.App, nil)
	require.NoError(t, err)
	// grantAndUse makes an organization with a Part 2 chart whose privacy
	// officer grants a clinician consent, which the clinician then uses.
	grantAndUse := func() (org, officer, clinician, chart, consentID uuid.UUID) {
		org = db.NewOrg(t)
		officer, clinician, chart = db.NewMember(t, org, "privacy_officer"), db.NewMember(t, org, "clinician"), db.NewChart(t, org, true)
		c, err := client.Grant(ctx, officer, consent.GrantParams{
			OrganizationID: org, ChartID: chart, Recipient: consent.Recipient{UserID: clinician},
			RecordTypes: []consent.RecordType{consent.RecordProgressNote}, Purposes: []consent.Purpose{consent.PurposeTreatment},
			ExpiresAt: time.Now().Add(24 * time.Hour), SignedAt: time.Now().Add(-time.Minute), Signer: consent.SignerPatient,
		})
		require.NoError(t, err)
		d, err := client.Check(ctx, consent.Request{ActingUser: clinician, ChartID: chart, RecordType: consent.RecordProgressNote,
			Purpose: consent.PurposeTreatment, Use: consent.UseExport})
		require.NoError(t, err)
		require.True(t, d.Allowed)
		return org, officer, clinician, chart, c.ID
	}
	org, officer, clinician, chart, consentID := grantAndUse()
	otherOrg, _, _, otherChart, _ := grantAndUse()
	url := appDSN(t, db.Name)
	since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)

	r := platform(t, "accounting", "-as", officer.String(), "-org", org.String(), "-chart", chart.String(), "-since", since, "-database-url", url).requireCode(t, exitOK)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 3, r.stdout)
	require.Equal(t, []string{"OCCURRED_AT", "ACTION", "ACTOR", "PURPOSE", "RECORD_TYPE", "USE", "BASIS", "CONSENT", "EMERGENCY_ACCESS", "SITE"}, strings.Fields(lines[0]))
	granted, allowed := strings.Fields(lines[1]), strings.Fields(lines[2])
	require.Equal(t, []string{"part2.consent.granted", officer.String()}, granted[1:3])
	require.Equal(t, consentID.String(), granted[7])
	require.Equal(t, []string{"part2.access.allowed", clinician.String(), "TREAT", "progress_note", "export", "consent", "-", "-", "-"}, allowed[1:])

	for name, args := range map[string][]string{
		"another organization's chart":           {"-as", officer.String(), "-org", otherOrg.String(), "-chart", otherChart.String()},
		"that chart under the officer's own org": {"-as", officer.String(), "-org", org.String(), "-chart", otherChart.String()},
		"a user without pf.audit.view":           {"-as", clinician.String(), "-org", org.String(), "-chart", chart.String()},
	} {
		r = platform(t, append(append([]string{"accounting"}, args...), "-database-url", url)...).requireCode(t, exitOK)
		require.True(t, strings.HasPrefix(r.stdout, "no disclosures of chart "), "%s: %s", name, r.stdout)
	}
}
