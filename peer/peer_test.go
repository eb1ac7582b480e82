package peer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/events/eventstest"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/testdb"
	"github.com/encoreos/platform-go/peer"
	"github.com/encoreos/platform-go/supervision"
)

func TestMain(m *testing.M) { testdb.Main(m) }

type bundle struct {
	db      *testdb.DB
	client  *peer.Client
	consent *consent.Client
	org     uuid.UUID
	peer    uuid.UUID // a peer specialist
	peer2   uuid.UUID // another peer specialist
	officer uuid.UUID // privacy officer
	chart   uuid.UUID // not Part 2
	part2   uuid.UUID // a Part 2 chart
}

func setup(t testing.TB) *bundle {
	t.Helper()
	db := testdb.New(t)
	org := db.NewOrg(t)
	client, err := peer.New(db.App, nil)
	require.NoError(t, err)
	consents, err := consent.New(db.App, nil)
	require.NoError(t, err)
	return &bundle{
		db: db, client: client, consent: consents, org: org,
		peer: db.NewMember(t, org, "peer_specialist"), peer2: db.NewMember(t, org, "peer_specialist"),
		officer: db.NewMember(t, org, "privacy_officer"),
		chart:   db.NewChart(t, org, false), part2: db.NewChart(t, org, true),
	}
}

// fields is a valid 45-minute H0038 peer support session that ended an hour ago.
func (b *bundle) fields() peer.Fields {
	end := time.Now().Add(-time.Hour).Truncate(time.Minute)
	start := end.Add(-45 * time.Minute)
	return peer.Fields{
		PeerProviderID: b.peer, ServiceDate: start, StartTime: start, EndTime: end,
		ServiceType: "peer_support", HCPCSCode: "H0038", FocusNotes: "Discussed recovery goals and a relapse-prevention plan.",
	}
}

func (b *bundle) create(t testing.TB, chart uuid.UUID, f peer.Fields) *peer.Encounter {
	t.Helper()
	e, err := b.client.Create(context.Background(), b.peer, peer.CreateParams{OrganizationID: b.org, ChartID: chart, Fields: f})
	require.NoError(t, err)
	return e
}

func (b *bundle) grant(t testing.TB, user, chart uuid.UUID) *consent.Consent {
	t.Helper()
	c, err := b.consent.Grant(context.Background(), b.officer, consent.GrantParams{
		OrganizationID: b.org, ChartID: chart, Recipient: consent.Recipient{UserID: user},
		RecordTypes: []consent.RecordType{consent.RecordPeerEncounter}, Purposes: []consent.Purpose{consent.PurposeTreatment},
		ExpirationEvent: "end_of_treatment", SignedAt: time.Now(), Signer: consent.SignerPatient,
	})
	require.NoError(t, err)
	return c
}

// exec runs stmt as user in a transaction of its own, as plain SQL (the
// Supabase door).
func (b *bundle) exec(user uuid.UUID, stmt string, args ...any) error {
	ctx := context.Background()
	return dbtx.Run(ctx, b.db.App, user, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, stmt, args...)
		return err
	})
}

func TestCreateUpdateFinalizePublishesOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	f := b.fields()
	pmEncounter := b.db.NewPMEncounter(t, b.org, b.chart, b.peer)
	f.EncounterID = pmEncounter
	e := b.create(t, b.chart, f)
	require.Equal(t, peer.StatusDraft, e.Status)
	require.Equal(t, 45, e.DurationMinutes, "zero duration means the whole span")
	require.Equal(t, "pf15", e.ServiceTypeSource)
	require.Equal(t, b.peer, e.CreatedBy)

	f.FocusNotes = "Updated: " + f.FocusNotes
	f.DurationMinutes = 40
	e, err := b.client.Update(ctx, b.peer, b.org, e.ID, f)
	require.NoError(t, err)
	require.Equal(t, 40, e.DurationMinutes)

	got, err := b.client.Get(ctx, b.peer2, b.org, e.ID)
	require.NoError(t, err)
	require.Equal(t, e.FocusNotes, got.FocusNotes)
	label, err := b.client.ServiceTypeLabel(ctx, b.peer, got)
	require.NoError(t, err)
	require.Equal(t, "Peer support", label)

	fin, err := b.client.Finalize(ctx, b.peer, b.org, e.ID)
	require.NoError(t, err)
	require.Equal(t, peer.StatusFinalized, fin.Status)
	require.Equal(t, b.peer, *fin.FinalizedBy)
	again, err := b.client.Finalize(ctx, b.peer, b.org, e.ID)
	require.NoError(t, err)
	require.Equal(t, fin.FinalizedAt, again.FinalizedAt, "finalizing twice changes nothing")
	_, err = b.client.Finalize(ctx, b.peer2, b.org, e.ID)
	require.ErrorIs(t, err, peer.ErrPermissionDenied, "another peer's encounter is theirs to finalize")

	env := eventstest.RequirePublished(t, b.db.App, b.officer, b.org, events.TypePeerEncounterFinalized,
		&eventstest.RequireOpts{AggregateID: e.ID, Count: 1})
	payload, err := events.Decode(env)
	require.NoError(t, err)
	require.Equal(t, &events.PeerEncounterFinalized{
		Header: events.Header{EventType: events.TypePeerEncounterFinalized, OrganizationID: b.org,
			Timestamp: fin.FinalizedAt.UTC().Truncate(time.Microsecond)},
		PeerEncounterID: e.ID, ChartID: b.chart, EncounterID: &pmEncounter, PeerProviderID: b.peer,
		ServiceDate: events.NewDate(f.ServiceDate), HCPCSCode: "H0038", DurationMinutes: 40,
		SecurityLabels: events.Codes{}, // not a Part 2 chart
	}, payload)
}

func TestConcurrentFinalizesYieldOneEvent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.create(t, b.chart, b.fields())
	var wg sync.WaitGroup
	results := make([]*peer.Encounter, 8)
	errs := make([]error, 8)
	for i := range 8 {
		wg.Go(func() { results[i], errs[i] = b.client.Finalize(context.Background(), b.peer, b.org, e.ID) })
	}
	wg.Wait()
	for i := range 8 {
		require.NoError(t, errs[i])
		require.Equal(t, results[0].FinalizedAt, results[i].FinalizedAt)
	}
	eventstest.RequirePublished(t, b.db.App, b.officer, b.org, events.TypePeerEncounterFinalized, &eventstest.RequireOpts{Count: 1})
}

// Finalizing needs its own permission and, as an edit, the edit
// permission: a member whose role lacks either finalizes nothing, through
// the API or by calling its function, and nothing is published; refused
// before any field error (the organization's co-sign setting), and, for
// want of the edit permission, refused again for an encounter finalized
// already.
func TestFinalizingNeedsFinalizeAndEdit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.db.Exec(t, `INSERT INTO public.cl_peer_settings (organization_id, require_cosign) VALUES ($1, true)`, b.org)
	var editless, draft uuid.UUID // the author without the edit permission, and their draft
	for _, missing := range []string{"cl.peer.encounter.edit", "cl.peer.encounter.finalize"} {
		var permissions []string
		require.NoError(t, b.db.Admin.QueryRow(ctx, `SELECT array_agg(permission) FROM public.pf_role_permissions
			WHERE role = 'peer_specialist' AND permission <> $1`, missing).Scan(&permissions))
		role := "peer_without_" + strings.TrimPrefix(missing, "cl.peer.encounter.")
		b.db.NewRole(t, role, "a peer specialist without "+missing, permissions...)
		author := b.db.NewMember(t, b.org, role)
		f := b.fields()
		f.PeerProviderID = author
		e, err := b.client.Create(ctx, author, peer.CreateParams{OrganizationID: b.org, ChartID: b.chart, Fields: f})
		require.NoError(t, err, "the role may create")
		_, err = b.client.Finalize(ctx, author, b.org, e.ID)
		require.ErrorIs(t, err, peer.ErrPermissionDenied, "without %s: refused for it, not for the missing co-sign", missing)
		err = b.exec(author, `SELECT public.cl_peer_encounter_finalize($1, $2, gen_random_uuid(), 'test', false)`, b.org, e.ID)
		require.True(t, dbtx.IsPermissionDenied(err), "without %s, plain SQL: %v", missing, err)
		got, err := b.client.Get(ctx, author, b.org, e.ID)
		require.NoError(t, err)
		require.Equal(t, peer.StatusDraft, got.Status)
		if missing == "cl.peer.encounter.edit" {
			editless, draft = author, e.ID
		}
	}
	var published int
	require.NoError(t, b.db.Admin.QueryRow(ctx, `SELECT count(*) FROM public.cl_pm_events WHERE organization_id = $1`, b.org).Scan(&published))
	require.Zero(t, published)

	// Finalized while its author could edit; asked again without.
	b.db.Exec(t, `DELETE FROM public.cl_peer_settings WHERE organization_id = $1`, b.org)
	b.db.Exec(t, `INSERT INTO public.pf_member_roles (organization_id, user_id, role) VALUES ($1, $2, 'peer_specialist')`, b.org, editless)
	_, err := b.client.Finalize(ctx, editless, b.org, draft)
	require.NoError(t, err)
	b.db.Exec(t, `DELETE FROM public.pf_member_roles WHERE organization_id = $1 AND user_id = $2 AND role = 'peer_specialist'`, b.org, editless)
	_, err = b.client.Finalize(ctx, editless, b.org, draft)
	require.ErrorIs(t, err, peer.ErrPermissionDenied, "an encounter finalized already")
}

func TestFinalizedEncountersAreImmutable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	e := b.create(t, b.chart, b.fields())
	_, err := b.client.Amend(ctx, b.peer, b.org, e.ID, peer.Addendum, "more", "forgot")
	require.ErrorIs(t, err, peer.ErrNotFinalized)
	_, err = b.client.Finalize(ctx, b.peer, b.org, e.ID)
	require.NoError(t, err)

	_, err = b.client.Update(ctx, b.peer, b.org, e.ID, b.fields())
	require.ErrorIs(t, err, peer.ErrFinalized)
	// Behind the API, the database refuses too.
	err = dbtx.Run(ctx, b.db.App, b.peer, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE public.cl_peer_encounters SET focus_notes = 'rewritten', updated_by = $2 WHERE id = $1`, e.ID, b.peer)
		return err
	})
	require.True(t, dbtx.IsCheckViolation(err), "got %v", err)

	a, err := b.client.Amend(ctx, b.peer, b.org, e.ID, peer.Correction, "Duration was 40 minutes.", "Timer left running")
	require.NoError(t, err)
	require.Equal(t, e.ChartID, a.ChartID)
	list, err := b.client.Amendments(ctx, b.peer2, b.org, e.ID)
	require.NoError(t, err)
	require.Len(t, list, 1)
	_, err = b.client.Amend(ctx, b.peer, b.org, e.ID, "rewrite", "x", "y")
	require.ErrorIs(t, err, peer.ErrInvalid)
}

// Behind the API, the database refuses what the API refuses: a finalize by
// hand without its event, in someone else's name, or backdated, and a draft
// edited into an invalid one.
func TestTheDatabaseStandsBehindTheAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	e := b.create(t, b.chart, b.fields())
	sql := func(stmt string, args ...any) error { return b.exec(b.peer, stmt, args...) }
	err := sql(`UPDATE public.cl_peer_encounters SET status = 'finalized', finalized_by = $2, finalized_at = now(), updated_by = $2 WHERE id = $1`, e.ID, b.peer)
	require.True(t, dbtx.IsCheckViolation(err), "no event in the outbox: refused at commit: %v", err)
	err = sql(`UPDATE public.cl_peer_encounters SET status = 'finalized', finalized_by = $2, finalized_at = now(), updated_by = $3 WHERE id = $1`, e.ID, b.peer2, b.peer)
	require.True(t, dbtx.IsCheckViolation(err), "in another's name: %v", err)
	err = sql(`UPDATE public.cl_peer_encounters SET status = 'finalized', finalized_by = $2, finalized_at = now() - interval '30 days', updated_by = $2 WHERE id = $1`, e.ID, b.peer)
	require.True(t, dbtx.IsCheckViolation(err), "backdated: %v", err)
	err = sql(`UPDATE public.cl_peer_encounters SET hcpcs_code = 'ZZZZ9', updated_by = $2 WHERE id = $1`, e.ID, b.peer)
	require.True(t, dbtx.IsCheckViolation(err), "a code the organization cannot bill: %v", err)
	err = sql(`UPDATE public.cl_peer_encounters SET peer_provider_id = $2, updated_by = $3 WHERE id = $1`, e.ID, b.officer, b.peer)
	require.True(t, dbtx.IsCheckViolation(err), "a provider who is not a peer specialist: %v", err)
	err = sql(`UPDATE public.cl_peer_encounters SET service_type = 'astrology', updated_by = $2 WHERE id = $1`, e.ID, b.peer)
	require.True(t, dbtx.IsCheckViolation(err), "a service type the organization does not use: %v", err)
	// The library names a draft's author as a parameter; the insert policy
	// holds it to the caller.
	insertAs := func(createdBy, updatedBy uuid.UUID) error {
		return sql(`INSERT INTO public.cl_peer_encounters (organization_id, chart_id, peer_provider_id, service_date, start_time,
			end_time, duration_minutes, service_type, hcpcs_code, focus_notes, created_by, updated_by)
			VALUES ($1, $2, $3, current_date, now() - interval '1 hour', now() - interval '15 minutes', 45, 'peer_support', 'H0038',
			        'notes', $4, $5)`, b.org, b.chart, b.peer, createdBy, updatedBy)
	}
	require.True(t, dbtx.IsPermissionDenied(insertAs(b.peer2, b.peer)), "a draft created in another's name")
	require.True(t, dbtx.IsPermissionDenied(insertAs(b.peer, b.peer2)), "a draft updated in another's name")
	require.NoError(t, insertAs(b.peer, b.peer), "the caller's own draft")
	err = sql(`INSERT INTO public.cl_peer_encounters (organization_id, chart_id, peer_provider_id, service_date, start_time,
		end_time, duration_minutes, service_type, hcpcs_code, focus_notes, created_by, updated_by, cosigned_by, cosigned_at)
		VALUES ($1, $2, $3, current_date, now() - interval '1 hour', now() - interval '15 minutes', 45, 'peer_support', 'H0038',
		        'notes', $3, $3, $4, now())`, b.org, b.chart, b.peer, b.peer2)
	require.True(t, dbtx.IsCheckViolation(err), "a draft co-signed at its insert: %v", err)
	require.ErrorContains(t, err, "(cosigned_at)", "the refusal names its column at the end of its message, as on Citus")
	got, err := b.client.Get(ctx, b.peer, b.org, e.ID)
	require.NoError(t, err)
	require.Equal(t, peer.StatusDraft, got.Status)
	require.Equal(t, "H0038", got.HCPCSCode)

	// Nobody forges the charge-capture event: not through the outbox's door
	// (which needs pf.events.publish), not through finalization's, which
	// takes no figures at all (the database builds the event from the
	// row); what it does take, the envelope's source, must be a URI.
	forged := &events.PeerEncounterFinalized{Header: events.Header{OrganizationID: b.org}, PeerEncounterID: e.ID, ChartID: b.chart,
		PeerProviderID: b.peer, ServiceDate: events.NewDate(time.Now()), HCPCSCode: "H0038", DurationMinutes: 600}
	outbox := events.NewOutbox(nil)
	err = dbtx.Run(ctx, b.db.App, b.peer, func(tx pgx.Tx) error { _, err := outbox.PublishTx(ctx, tx, forged, nil); return err })
	require.ErrorIs(t, err, events.ErrPermissionDenied)
	err = sql(`SELECT * FROM public.cl_peer_encounter_finalize($1, $2, $3, 'not a source; 600 minutes', true)`, b.org, e.ID, uuid.New())
	require.True(t, dbtx.IsCheckViolation(err), "a source that is no URI: %v", err)
	got, err = b.client.Get(ctx, b.peer, b.org, e.ID)
	require.NoError(t, err)
	require.Equal(t, peer.StatusDraft, got.Status, "nothing finalized")
}

// cl_peer_encounter_create, the library's Create, is callable by plain
// SQL: it asks the insert policy's rule, once, and a Part 2 chart's
// committed accounting, this call's own.
func TestCreatingADraftAsPlainSQL(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	nobody := b.db.NewMember(t, b.org)
	orgB := b.db.NewOrg(t)
	create := func(user, chart, provider uuid.UUID, accounted bool) (created uuid.UUID, err error) {
		err = dbtx.Run(ctx, b.db.App, user, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT created_by FROM public.cl_peer_encounter_create($1, NULL, $2, NULL, $3, current_date,
				now() - interval '1 hour', now() - interval '15 minutes', 45, 'peer_support', 'H0038', 'notes', $4)`,
				b.org, chart, provider, accounted).Scan(&created)
		})
		return created, err
	}
	account := func(user, chart uuid.UUID) {
		require.NoError(t, b.exec(user, `SELECT public.cl_part2_disclosed($1, $2, 'peer_encounter', 'TREAT', 'save')`,
			b.org, []uuid.UUID{chart}))
	}
	_, err := create(nobody, b.chart, nobody, false)
	require.True(t, dbtx.IsPermissionDenied(err), "no create permission: %v", err)
	_, err = create(b.officer, b.chart, b.peer, false)
	require.True(t, dbtx.IsPermissionDenied(err), "a privacy officer does not document: %v", err)
	_, err = create(b.peer, b.chart, b.peer2, false)
	require.True(t, dbtx.IsPermissionDenied(err), "on another's behalf without cl.peer.encounter.on_behalf: %v", err)
	_, err = create(b.peer, b.db.NewChart(t, orgB, false), b.peer, false)
	require.True(t, dbtx.IsForeignKeyViolation(err), "another organization's chart: %v", err)
	_, err = create(b.peer, b.part2, b.peer, true)
	require.True(t, dbtx.IsPermissionDenied(err), "a Part 2 chart without consent, accounted or not: %v", err)
	account(b.peer, b.part2)
	_, err = create(b.peer, b.part2, b.peer, true)
	require.True(t, dbtx.IsPermissionDenied(err), "an accounting line opens nothing without consent: %v", err)

	b.grant(t, b.peer, b.part2)
	_, err = create(b.peer, b.part2, b.peer, false)
	require.True(t, dbtx.IsAccountFirst(err), "under consent, not accounted by this call: %v", err)
	_, err = create(b.peer, b.part2, b.peer, true)
	require.True(t, dbtx.IsAccountFirst(err), "no line was written before the consent: %v", err)
	account(b.peer, b.part2)
	created, err := create(b.peer, b.part2, b.peer, true)
	require.NoError(t, err, "under consent, after its accounting")
	require.Equal(t, b.peer, created, "the draft is the caller's")
	created, err = create(b.peer, b.chart, b.peer, false)
	require.NoError(t, err, "a chart that is not Part 2 needs no accounting")
	require.Equal(t, b.peer, created)
}

// CreateTx is the caller's own insert in the caller's transaction (Citus
// refuses a transaction in which two users write one organization's rows):
// it goes on with the caller's next write, goes with its rollback, and
// leaves the Part 2 chart's accounting, committed on a connection of its
// own, standing.
func TestCreateTxIsTheCallersInsert(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.grant(t, b.peer, b.part2)
	saves := func() int { return accountingLines(t, b, b.peer, b.part2, "save", time.Time{}, "", "") }
	tx, err := b.db.App.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(context.WithoutCancel(ctx)) })
	e, err := b.client.CreateTx(ctx, tx, b.peer, peer.CreateParams{OrganizationID: b.org, ChartID: b.part2, Fields: b.fields()})
	require.NoError(t, err)
	require.Equal(t, b.peer, e.CreatedBy)
	require.Equal(t, b.fields().FocusNotes, e.FocusNotes, "the text as written")
	f := b.fields()
	f.DurationMinutes = 30
	updated, err := b.client.UpdateTx(ctx, tx, b.peer, b.org, e.ID, f)
	require.NoError(t, err)
	require.Equal(t, 30, updated.DurationMinutes)
	require.NoError(t, tx.Rollback(ctx))
	_, err = b.client.Get(ctx, b.peer, b.org, e.ID)
	require.ErrorIs(t, err, peer.ErrNotFound, "rolled back with the caller's transaction")
	require.Equal(t, 1, saves(), "the accounting stands")

	_, err = b.client.CreateTx(ctx, tx, b.peer2, peer.CreateParams{OrganizationID: b.org, ChartID: b.part2, Fields: b.fields()})
	require.Error(t, err, "a finished transaction")
	f.PeerProviderID = b.peer2
	require.NoError(t, pgx.BeginFunc(ctx, b.db.App, func(tx pgx.Tx) error {
		_, err := b.client.CreateTx(ctx, tx, b.peer2, peer.CreateParams{OrganizationID: b.org, ChartID: b.part2, Fields: f})
		require.ErrorIs(t, err, peer.ErrPermissionDenied, "no consent: the insert policy refuses it")
		return nil
	}))
}

// A consent for payment only, with a line accounting for a write for
// payment, opens no treatment record's write: not a draft, not its
// finalization, by plain SQL or through the API (a red team's finding:
// the functions accepted any committed line for a write).
func TestAPaymentConsentOpensNoTreatmentWrite(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	treatment := b.grant(t, b.peer, b.part2)
	draft := b.create(t, b.part2, b.fields())
	_, err := b.consent.Revoke(ctx, b.officer, b.org, treatment.ID)
	require.NoError(t, err)
	_, err = b.consent.Grant(ctx, b.officer, consent.GrantParams{
		OrganizationID: b.org, ChartID: b.part2, Recipient: consent.Recipient{UserID: b.peer},
		RecordTypes: []consent.RecordType{consent.RecordPeerEncounter}, Purposes: []consent.Purpose{consent.PurposePayment},
		ExpirationEvent: "end_of_treatment", SignedAt: time.Now(), Signer: consent.SignerPatient,
	})
	require.NoError(t, err)
	sql := func(stmt string, args ...any) error { return b.exec(b.peer, stmt, args...) }
	var lines int
	require.NoError(t, dbtx.Run(ctx, b.db.App, b.peer, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT public.cl_part2_disclosed($1, $2, 'peer_encounter', 'HPAYMT', 'save')`,
			b.org, []uuid.UUID{b.part2}).Scan(&lines)
	}))
	require.Equal(t, 1, lines, "a line for a write for payment")
	err = sql(`SELECT * FROM public.cl_peer_encounter_create($1, NULL, $2, NULL, $3, current_date, now() - interval '1 hour',
		now() - interval '15 minutes', 45, 'peer_support', 'H0038', 'notes', true)`, b.org, b.part2, b.peer)
	require.True(t, dbtx.IsPermissionDenied(err), "a draft under a consent for payment: %v", err)
	err = sql(`SELECT * FROM public.cl_peer_encounter_finalize($1, $2, $3, 'urn:test', true)`, b.org, draft.ID, uuid.New())
	require.True(t, dbtx.IsNoDataFound(err), "a finalization under a consent for payment: %v", err)
	_, err = b.client.Create(ctx, b.peer, peer.CreateParams{OrganizationID: b.org, ChartID: b.part2, Fields: b.fields()})
	require.ErrorIs(t, err, peer.ErrPermissionDenied)
	_, err = b.client.Finalize(ctx, b.peer, b.org, draft.ID)
	require.ErrorIs(t, err, peer.ErrNotFound)
	// Nor the table's own policies, which know no purpose: the line they
	// need for a write is one for treatment.
	err = sql(`INSERT INTO public.cl_peer_encounters (organization_id, chart_id, peer_provider_id, service_date, start_time,
		end_time, duration_minutes, service_type, hcpcs_code, focus_notes, created_by, updated_by)
		VALUES ($1, $2, $3, current_date, now() - interval '1 hour', now() - interval '15 minutes', 45, 'peer_support', 'H0038',
		        'notes', $3, $3)`, b.org, b.part2, b.peer)
	require.True(t, dbtx.IsPermissionDenied(err), "an insert under a consent for payment: %v", err)
	var updated int64
	require.NoError(t, dbtx.Run(ctx, b.db.App, b.peer, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE public.cl_peer_encounters SET duration_minutes = 30, updated_by = $2 WHERE id = $1`, draft.ID, b.peer)
		updated = tag.RowsAffected()
		return err
	}))
	require.Zero(t, updated, "an update under a consent for payment")
}

func TestPart2EncountersFollowConsent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	// Without consent the peer cannot even record on a Part 2 chart.
	_, err := b.client.Create(ctx, b.peer, peer.CreateParams{OrganizationID: b.org, ChartID: b.part2, Fields: b.fields()})
	require.ErrorIs(t, err, peer.ErrPermissionDenied)

	b.grant(t, b.peer, b.part2)
	e := b.create(t, b.part2, b.fields())

	visible := func(user uuid.UUID) int {
		page, err := b.client.ListByChart(ctx, user, b.org, b.part2, peer.ListParams{})
		require.NoError(t, err)
		return len(page.Encounters)
	}
	require.Equal(t, 1, visible(b.peer))
	require.Zero(t, visible(b.peer2), "no consent: the encounter does not exist for peer2")
	_, err = b.client.Get(ctx, b.peer2, b.org, e.ID)
	require.ErrorIs(t, err, peer.ErrNotFound)

	c := b.grant(t, b.peer2, b.part2)
	require.Equal(t, 1, visible(b.peer2))
	_, err = b.consent.Revoke(ctx, b.officer, b.org, c.ID)
	require.NoError(t, err)
	require.Zero(t, visible(b.peer2), "revocation takes effect at once")
	_, err = b.client.Finalize(ctx, b.peer2, b.org, e.ID)
	require.ErrorIs(t, err, peer.ErrNotFound)
}

// Every read of a Part 2 chart's encounters through the API is in the
// chart's accounting of disclosures: a line per chart, record type, use,
// purpose and basis, which the calls that follow within
// cl_part2_disclosure_reuse share; a disclosure after that writes its own.
// Reads of other charts add nothing.
func TestReadingPart2EncountersIsAccounted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	c := b.grant(t, b.peer, b.part2)
	e := b.create(t, b.part2, b.fields())
	plain := b.create(t, b.chart, b.fields())
	accounted := func(use string) int {
		return accountingLines(t, b, b.peer, b.part2, use, time.Time{}, "TREAT", "consent")
	}
	disclosures := func() int { return accounted("display") }
	// age makes every line of the chart older than the window (the
	// log is append-only: the owner's triggers are off for the change).
	age := func() {
		require.NoError(t, pgx.BeginFunc(ctx, b.db.Admin, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`)
			require.NoError(t, err)
			_, err = tx.Exec(ctx, `UPDATE public.pf_audit_logs SET occurred_at = occurred_at - public.cl_part2_disclosure_window()
				WHERE organization_id = $1 AND target_id = $2`, b.org, b.part2)
			return err
		}))
	}
	require.Equal(t, 1, accounted("save"), "the write on the Part 2 chart")
	require.Zero(t, disclosures())
	_, err := b.client.Get(ctx, b.peer, b.org, e.ID)
	require.NoError(t, err)
	require.Equal(t, 1, disclosures(), "Get")
	_, err = b.client.ListByChart(ctx, b.peer, b.org, b.part2, peer.ListParams{})
	require.NoError(t, err)
	page, err := b.client.ListByProvider(ctx, b.peer, b.org, b.peer, peer.ListParams{})
	require.NoError(t, err)
	require.Len(t, page.Encounters, 2)
	require.Equal(t, 1, disclosures(), "ListByChart and ListByProvider within the reuse: Get's line stands for them")
	age()
	// The accounting and the read share a transaction; the line it had to
	// write opens the chart only once committed, so the read runs again.
	page, err = b.client.ListByChart(ctx, b.peer, b.org, b.part2, peer.ListParams{})
	require.NoError(t, err)
	require.Len(t, page.Encounters, 1, "read again after the new line committed")
	require.Equal(t, 2, disclosures(), "ListByChart, once the line is older than the reuse")
	_, err = b.client.Get(ctx, b.peer, b.org, plain.ID)
	require.NoError(t, err)
	require.Equal(t, 2, disclosures(), "a chart that is not Part 2 is no disclosure")

	// The line records a decision, it does not stand in for one: once the
	// consent is revoked the chart is closed, line or no line.
	_, err = b.consent.Revoke(ctx, b.officer, b.org, c.ID)
	require.NoError(t, err)
	_, err = b.client.Get(ctx, b.peer, b.org, e.ID)
	require.ErrorIs(t, err, peer.ErrNotFound, "the consent's line opens nothing once it is revoked")
	b.grant(t, b.peer, b.part2)

	// A Tx twin commits its accounting on a connection of its own: the
	// caller who rolls back after seeing the encounter cannot erase it.
	age()
	tx, err := b.db.App.Begin(ctx)
	require.NoError(t, err)
	f := b.fields()
	f.FocusNotes = "changed, then rolled back"
	updated, err := b.client.UpdateTx(ctx, tx, b.peer, b.org, e.ID, f)
	require.NoError(t, err)
	require.Equal(t, e.ChartID, updated.ChartID)
	require.NoError(t, tx.Rollback(ctx))
	require.Equal(t, 2, accounted("save"), "the rolled-back update's accounting stands")
	again, err := b.client.Get(ctx, b.peer, b.org, e.ID)
	require.NoError(t, err)
	require.Equal(t, e.FocusNotes, again.FocusNotes)

	// Finalizing needs a committed line for a write (the database asks the
	// library to account first when none is open): the update's stands
	// for it, and for a retry of the finalized encounter.
	for range 2 {
		fin, err := b.client.Finalize(ctx, b.peer, b.org, e.ID)
		require.NoError(t, err)
		require.Equal(t, peer.StatusFinalized, fin.Status)
		require.Equal(t, 2, accounted("save"))
	}
	// Its charge names a Part 2 chart: the DS4P labels tell PM-07 it may
	// not redisclose it.
	env := eventstest.RequirePublished(t, b.db.App, b.officer, b.org, events.TypePeerEncounterFinalized,
		&eventstest.RequireOpts{AggregateID: e.ID, Count: 1})
	charge, err := events.Decode(env)
	require.NoError(t, err)
	require.Equal(t, events.Codes{"R", "42CFRPart2", "NORDSCLCD"}, charge.(*events.PeerEncounterFinalized).SecurityLabels)
	testdb.RequireStoredEventsValid(t, b.db, b.org) // built by the database, they pass the store's checks
	_, err = b.client.Finalize(ctx, b.peer, b.org, plain.ID)
	require.NoError(t, err)
	require.Equal(t, 2, accounted("save"), "a chart that is not Part 2 is no disclosure")
}

// A line accounting for a display opens no write (a red-team finding): by
// plain SQL, after only a Get, finalizing is told to account for a write
// first.
func TestADisplayLineOpensNoWrite(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.grant(t, b.peer, b.part2)
	var id uuid.UUID
	require.NoError(t, b.db.Admin.QueryRow(ctx, `INSERT INTO public.cl_peer_encounters (organization_id, chart_id, peer_provider_id,
		service_date, start_time, end_time, duration_minutes, service_type, service_type_source, hcpcs_code, focus_notes, created_by, updated_by)
		VALUES ($1, $2, $3, current_date, now() - interval '2 hours', now() - interval '1 hour', 60, 'peer_support', 'pf15', 'H0038',
		        'notes', $3, $3) RETURNING id`, b.org, b.part2, b.peer).Scan(&id))
	_, err := b.client.Get(ctx, b.peer, b.org, id)
	require.NoError(t, err)
	finalize := func() error {
		return dbtx.Run(ctx, b.db.App, b.peer, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `SELECT * FROM public.cl_peer_encounter_finalize($1, $2, $3, 'urn:test', true)`, b.org, id, uuid.New())
			return err
		})
	}
	require.True(t, dbtx.IsAccountFirst(finalize()), "a display line")
	require.NoError(t, dbtx.Run(ctx, b.db.App, b.peer, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SELECT public.cl_peer_encounters_disclose($1, ARRAY[$2::uuid], 'save')`, b.org, id)
		return err
	}))
	require.NoError(t, finalize(), "after a committed line for a write")
}

func TestOtherOrganizations(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	e := b.create(t, b.chart, b.fields())
	orgB := b.db.NewOrg(t)
	outsider := b.db.NewMember(t, orgB, "peer_specialist")
	chartB := b.db.NewChart(t, orgB, false)

	_, err := b.client.Get(ctx, outsider, b.org, e.ID)
	require.ErrorIs(t, err, peer.ErrNotFound)
	page, err := b.client.ListByProvider(ctx, outsider, b.org, b.peer, peer.ListParams{})
	require.NoError(t, err)
	require.Empty(t, page.Encounters)
	page, err = b.client.ListByChart(ctx, outsider, b.org, b.chart, peer.ListParams{})
	require.NoError(t, err)
	require.Empty(t, page.Encounters, "the chart listing checks the policy once, with the same answer")
	_, err = b.client.Create(ctx, outsider, peer.CreateParams{OrganizationID: b.org, ChartID: b.chart, Fields: b.fields()})
	require.ErrorIs(t, err, peer.ErrPermissionDenied)
	_, err = b.client.Create(ctx, b.peer, peer.CreateParams{OrganizationID: b.org, ChartID: chartB, Fields: b.fields()})
	var verr *peer.ValidationError
	require.ErrorAs(t, err, &verr)
	require.Equal(t, "ChartID", verr.Field)

	// A draft cannot be moved to another organization (the column is not
	// even updatable) ...
	err = dbtx.Run(ctx, b.db.App, b.peer, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE public.cl_peer_encounters SET organization_id = $1 WHERE id = $2`, orgB, e.ID)
		return err
	})
	require.True(t, dbtx.IsPermissionDenied(err), "got %v", err)
	// ... and WITH CHECK refuses a row the editor could not have written.
	err = dbtx.Run(ctx, b.db.App, b.peer, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE public.cl_peer_encounters SET updated_by = $1 WHERE id = $2`, b.peer2, e.ID)
		return err
	})
	require.True(t, dbtx.IsPermissionDenied(err), "got %v", err)
}

func TestValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	clinician := b.db.NewMember(t, b.org, "clinician")
	tomorrow := time.Now().AddDate(0, 0, 1)
	cases := map[string]struct {
		mutate func(*peer.Fields)
		field  string
	}{
		"no provider":            {func(f *peer.Fields) { f.PeerProviderID = uuid.Nil }, "PeerProviderID"},
		"provider is not a peer": {func(f *peer.Fields) { f.PeerProviderID = clinician }, "PeerProviderID"},
		"provider is a stranger": {func(f *peer.Fields) { f.PeerProviderID = uuid.New() }, "PeerProviderID"},
		"end before start":       {func(f *peer.Fields) { f.EndTime = f.StartTime.Add(-time.Minute) }, "EndTime"},
		"end equals start":       {func(f *peer.Fields) { f.EndTime = f.StartTime }, "EndTime"},
		"no times":               {func(f *peer.Fields) { f.StartTime = time.Time{} }, "StartTime"},
		"duration beyond span":   {func(f *peer.Fields) { f.DurationMinutes = 46 }, "DurationMinutes"},
		"negative duration":      {func(f *peer.Fields) { f.DurationMinutes = -1 }, "DurationMinutes"},
		"future service date": {func(f *peer.Fields) {
			f.ServiceDate = tomorrow
			f.StartTime = tomorrow
			f.EndTime = tomorrow.Add(time.Hour)
		}, "ServiceDate"},
		"date is not start's day": {func(f *peer.Fields) { f.ServiceDate = f.StartTime.AddDate(0, 0, -1) }, "ServiceDate"},
		"no service date":         {func(f *peer.Fields) { f.ServiceDate = time.Time{} }, "ServiceDate"},
		"unknown service type":    {func(f *peer.Fields) { f.ServiceType = "astrology" }, "ServiceType"},
		"no service type":         {func(f *peer.Fields) { f.ServiceType = "" }, "ServiceType"},
		"malformed code":          {func(f *peer.Fields) { f.HCPCSCode = "h0038 " }, "HCPCSCode"},
		"code not the org's":      {func(f *peer.Fields) { f.HCPCSCode = "T1017" }, "HCPCSCode"},
		"notes too long":          {func(f *peer.Fields) { f.FocusNotes = strings.Repeat("x", peer.MaxFocusNotes+1) }, "FocusNotes"},
		"NUL in notes":            {func(f *peer.Fields) { f.FocusNotes = "a\x00b" }, "FocusNotes"},
	}
	for name, tc := range cases {
		f := b.fields()
		tc.mutate(&f)
		_, err := b.client.Create(ctx, b.peer, peer.CreateParams{OrganizationID: b.org, ChartID: b.chart, Fields: f})
		var verr *peer.ValidationError
		require.ErrorAs(t, err, &verr, name)
		require.ErrorIs(t, err, peer.ErrInvalid, name)
		require.Equal(t, tc.field, verr.Field, name)
	}
	_, err := b.client.Create(ctx, b.peer, peer.CreateParams{ChartID: b.chart, Fields: b.fields()})
	require.ErrorIs(t, err, peer.ErrInvalid)
	_, err = b.client.Create(ctx, uuid.Nil, peer.CreateParams{OrganizationID: b.org, ChartID: b.chart, Fields: b.fields()})
	require.ErrorIs(t, err, peer.ErrNoActingUser)

	// An organization's own code, within its dates, is valid; outside them it is not.
	b.db.Exec(t, `INSERT INTO public.pf_org_billing_codes (organization_id, code, code_system, descriptor, unit_minutes, effective_from, effective_to)
		VALUES ($1, 'T1017', 'HCPCS', 'Targeted case management, each 15 minutes', 15, '2020-01-01', $2)`, b.org, time.Now().AddDate(0, 0, -2))
	f := b.fields()
	f.HCPCSCode, f.ServiceDate, f.StartTime, f.EndTime = "T1017", f.StartTime.AddDate(0, 0, -3), f.StartTime.AddDate(0, 0, -3), f.EndTime.AddDate(0, 0, -3)
	b.create(t, b.chart, f)
	_, err = b.client.Create(ctx, b.peer, peer.CreateParams{OrganizationID: b.org, ChartID: b.chart, Fields: func() peer.Fields { g := b.fields(); g.HCPCSCode = "T1017"; return g }()})
	require.ErrorIs(t, err, peer.ErrInvalid, "the code expired before the service date")

	// Finalizing needs documentation.
	g := b.fields()
	g.FocusNotes = "  "
	e := b.create(t, b.chart, g)
	_, err = b.client.Finalize(ctx, b.peer, b.org, e.ID)
	require.ErrorIs(t, err, peer.ErrInvalid)
	var verr *peer.ValidationError
	require.ErrorAs(t, err, &verr)
	require.Equal(t, "FocusNotes", verr.Field, "the database's rule, as a field error")
	var n int
	require.NoError(t, b.db.Admin.QueryRow(ctx, `SELECT count(*) FROM public.cl_pm_events`).Scan(&n))
	require.Zero(t, n, "nothing published")
}

func TestServiceTypesFollowTheOrganizationsFlag(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	types, err := b.client.ServiceTypes(ctx, b.peer, b.org)
	require.NoError(t, err)
	require.Equal(t, []peer.ServiceType{
		{Source: "pf15", Code: "crisis_peer", Label: "Crisis peer", Active: true},
		{Source: "pf15", Code: "peer_support", Label: "Peer support", Active: true},
		{Source: "pf15", Code: "recovery_coaching", Label: "Recovery coaching", Active: true},
	}, types)
	old := b.create(t, b.chart, b.fields())

	// The organization switches to its own vocabulary.
	b.db.Exec(t, `INSERT INTO public.cl_peer_settings (organization_id, use_pf15) VALUES ($1, false)`, b.org)
	b.db.Exec(t, `INSERT INTO public.cl_peer_service_types (organization_id, code, label) VALUES ($1, 'warmline_call', 'Warmline call'), ($1, 'group_peer', 'Peer group')`, b.org)
	b.db.Exec(t, `INSERT INTO public.cl_peer_service_types (organization_id, code, label, active) VALUES ($1, 'retired_type', 'Retired', false)`, b.org)
	types, err = b.client.ServiceTypes(ctx, b.peer, b.org)
	require.NoError(t, err)
	require.Len(t, types, 3)
	require.Equal(t, "org", types[0].Source)

	_, err = b.client.Create(ctx, b.peer, peer.CreateParams{OrganizationID: b.org, ChartID: b.chart, Fields: b.fields()})
	require.ErrorIs(t, err, peer.ErrInvalid, "PF-15 types are no longer in force")
	f := b.fields()
	f.ServiceType = "retired_type"
	_, err = b.client.Create(ctx, b.peer, peer.CreateParams{OrganizationID: b.org, ChartID: b.chart, Fields: f})
	require.ErrorIs(t, err, peer.ErrInvalid, "inactive types are refused")
	f.ServiceType = "warmline_call"
	fresh := b.create(t, b.chart, f)
	require.Equal(t, "org", fresh.ServiceTypeSource)

	// The encounter recorded before the switch keeps its meaning ...
	label, err := b.client.ServiceTypeLabel(ctx, b.peer, old)
	require.NoError(t, err)
	require.Equal(t, "Peer support", label)
	// ... can still be edited without touching its type, and finalized ...
	g := b.fields()
	g.FocusNotes = "edited after the switch"
	old, err = b.client.Update(ctx, b.peer, b.org, old.ID, g)
	require.NoError(t, err)
	require.Equal(t, "pf15", old.ServiceTypeSource)
	_, err = b.client.Finalize(ctx, b.peer, b.org, old.ID)
	require.NoError(t, err)
	// ... and a changed type must come from the source in force.
	g.ServiceType = "group_peer"
	edited, err := b.client.Update(ctx, b.peer, b.org, fresh.ID, g)
	require.NoError(t, err)
	require.Equal(t, "org", edited.ServiceTypeSource)
}

func TestKeysetPagination(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var want []uuid.UUID
	for day := range 7 {
		f := b.fields()
		shift := func(t time.Time) time.Time { return t.AddDate(0, 0, -day) }
		f.ServiceDate, f.StartTime, f.EndTime = shift(f.ServiceDate), shift(f.StartTime), shift(f.EndTime)
		want = append(want, b.create(t, b.chart, f).ID) // newest first
	}
	var got []uuid.UUID
	p := peer.ListParams{Limit: 3}
	for pages := 0; ; pages++ {
		require.Less(t, pages, 4)
		page, err := b.client.ListByChart(ctx, b.peer2, b.org, b.chart, p)
		require.NoError(t, err)
		for _, e := range page.Encounters {
			got = append(got, e.ID)
		}
		if page.Next == "" {
			break
		}
		p.After = page.Next
	}
	require.Equal(t, want, got)

	page, err := b.client.ListByProvider(ctx, b.peer2, b.org, b.peer, peer.ListParams{
		From: time.Now().AddDate(0, 0, -3), To: time.Now().AddDate(0, 0, -1)})
	require.NoError(t, err)
	require.Len(t, page.Encounters, 3)

	for _, bad := range []peer.ListParams{{Limit: 501}, {Limit: -1}, {After: "not-a-cursor"}, {From: time.Now(), To: time.Now().AddDate(0, 0, -1)}} {
		_, err := b.client.ListByChart(ctx, b.peer, b.org, b.chart, bad)
		require.ErrorIs(t, err, peer.ErrInvalid, fmt.Sprintf("%+v", bad))
	}
}

// An organization that requires a supervisor's co-sign finalizes only
// co-signed drafts; the co-sign is a supervisor's, never one's own, covers
// the draft as it stands (an edit clears it), is audited, and cannot be
// written by plain SQL; the supervision summary counts co-signs.
func TestCosignBeforeFinalizing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	supervisor := b.db.NewMember(t, b.org, "peer_supervisor")
	b.db.Exec(t, `INSERT INTO public.cl_peer_settings (organization_id, require_cosign) VALUES ($1, true)`, b.org)
	e := b.create(t, b.chart, b.fields())

	_, err := b.client.Finalize(ctx, b.peer, b.org, e.ID)
	var verr *peer.ValidationError
	require.ErrorAs(t, err, &verr)
	require.Equal(t, "CosignedBy", verr.Field)
	_, err = b.client.Cosign(ctx, b.peer, b.org, e.ID)
	require.ErrorIs(t, err, peer.ErrPermissionDenied, "not one's own")
	_, err = b.client.Cosign(ctx, b.peer2, b.org, e.ID)
	require.ErrorIs(t, err, peer.ErrPermissionDenied, "a peer specialist does not co-sign")

	signed, err := b.client.Cosign(ctx, supervisor, b.org, e.ID)
	require.NoError(t, err)
	require.Equal(t, supervisor, *signed.CosignedBy)
	require.NotNil(t, signed.CosignedAt)
	again, err := b.client.Cosign(ctx, supervisor, b.org, e.ID)
	require.NoError(t, err)
	require.Equal(t, signed.CosignedAt, again.CosignedAt, "co-signing twice changes nothing")

	// An edit clears the co-sign; the supervisor signs again; then it
	// finalizes.
	f := b.fields()
	f.FocusNotes = "Rewritten after the co-sign."
	edited, err := b.client.Update(ctx, b.peer, b.org, e.ID, f)
	require.NoError(t, err)
	require.Nil(t, edited.CosignedBy)
	_, err = b.client.Finalize(ctx, b.peer, b.org, e.ID)
	require.ErrorAs(t, err, &verr)
	_, err = b.client.Cosign(ctx, supervisor, b.org, e.ID)
	require.NoError(t, err)
	fin, err := b.client.Finalize(ctx, b.peer, b.org, e.ID)
	require.NoError(t, err)
	require.Equal(t, peer.StatusFinalized, fin.Status)
	require.Equal(t, supervisor, *fin.CosignedBy, "finalizing keeps the co-sign")
	_, err = b.client.Cosign(ctx, supervisor, b.org, e.ID)
	require.ErrorIs(t, err, peer.ErrFinalized)

	var audits int
	require.NoError(t, b.db.Admin.QueryRow(ctx, `SELECT count(*) FROM public.pf_audit_logs
		WHERE action = 'cl.peer_encounter.cosigned' AND actor_user_id = $1 AND target_id = $2`, supervisor, e.ID).Scan(&audits))
	require.Equal(t, 2, audits)

	// Plain SQL writes no co-sign.
	draft := b.create(t, b.chart, b.fields())
	err = dbtx.Run(ctx, b.db.App, b.peer, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE public.cl_peer_encounters SET cosigned_by = $1, cosigned_at = now() WHERE id = $2`, supervisor, draft.ID)
		return err
	})
	require.True(t, dbtx.IsPermissionDenied(err), "got %v", err)
	err = dbtx.Run(ctx, b.db.App, b.peer, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO public.cl_peer_encounters (organization_id, chart_id, peer_provider_id, service_date,
			start_time, end_time, duration_minutes, service_type, hcpcs_code, focus_notes, created_by, updated_by, cosigned_by, cosigned_at)
			VALUES ($1, $2, auth.uid(), current_date, now() - interval '2 hours', now() - interval '1 hour', 60, 'peer_support',
			  'H0038', 'notes', auth.uid(), auth.uid(), $3, now())`, b.org, b.chart, supervisor)
		return err
	})
	require.True(t, dbtx.IsCheckViolation(err), "got %v", err)

	// The supervision summary counts them.
	sup, err := supervision.New(b.db.App, nil)
	require.NoError(t, err)
	today := time.Now()
	summary, err := sup.Compliance(ctx, supervisor, b.org, b.peer, today.AddDate(0, 0, -7), today)
	require.NoError(t, err)
	require.Equal(t, 1, summary.CosignedEncounters)
	require.Equal(t, 1, summary.FinalizedEncounters)
}

// A correction of billed figures reaches charge capture: it publishes
// peer_encounter_corrected, once, with the encounter's figures as they now
// stand and the event it supersedes, computed by the database; a
// correction without its event never commits; the corrected figures meet
// the rules a draft's do.
func TestCorrectionsReachChargeCapture(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	e := b.create(t, b.chart, b.fields())
	fin, err := b.client.Finalize(ctx, b.peer, b.org, e.ID)
	require.NoError(t, err)
	finalized := eventstest.RequirePublished(t, b.db.App, b.officer, b.org, events.TypePeerEncounterFinalized,
		&eventstest.RequireOpts{AggregateID: e.ID, Count: 1})

	first, err := b.client.Correct(ctx, b.peer, b.org, e.ID, "Session ended early.", "duration entered wrongly",
		peer.Corrected{DurationMinutes: 30})
	require.NoError(t, err)
	require.Equal(t, 30, *first.CorrectedDurationMinutes)
	second, err := b.client.Correct(ctx, b.peer, b.org, e.ID, "Re-timed from the log.", "second look",
		peer.Corrected{DurationMinutes: 35})
	require.NoError(t, err)

	env := eventstest.RequirePublished(t, b.db.App, b.officer, b.org, events.TypePeerEncounterCorrected,
		&eventstest.RequireOpts{AggregateID: e.ID, Count: 2})
	latest, err := events.Decode(env)
	require.NoError(t, err)
	got := latest.(*events.PeerEncounterCorrected)
	require.Equal(t, second.ID, got.AmendmentID)
	require.Equal(t, 35, got.DurationMinutes)
	require.Equal(t, events.Code(fin.HCPCSCode), got.HCPCSCode, "the figures not corrected stand")
	require.Equal(t, fin.PeerProviderID, got.PeerProviderID)
	var firstEvent uuid.UUID
	require.NoError(t, b.db.Admin.QueryRow(ctx, `SELECT id FROM public.cl_pm_events WHERE event_type = 'peer_encounter_corrected'
		AND envelope->'data'->>'amendment_id' = $1`, first.ID.String()).Scan(&firstEvent))
	require.NotEqual(t, finalized.ID, firstEvent)
	require.Equal(t, firstEvent, got.CorrectsEventID, "the second supersedes the first")

	// A retry after a lost reply, naming its amendment: the correction
	// stored, no second event; the same id for other figures is refused.
	fix := peer.Corrected{DurationMinutes: 40, AmendmentID: uuid.New()}
	third, err := b.client.Correct(ctx, b.peer, b.org, e.ID, "Re-timed again.", "third look", fix)
	require.NoError(t, err)
	require.Equal(t, fix.AmendmentID, third.ID)
	retried, err := b.client.Correct(ctx, b.peer, b.org, e.ID, "Re-timed again.", "third look", fix)
	require.NoError(t, err)
	require.Equal(t, third, retried)
	eventstest.RequirePublished(t, b.db.App, b.officer, b.org, events.TypePeerEncounterCorrected,
		&eventstest.RequireOpts{AggregateID: e.ID, Count: 3})
	_, err = b.client.Correct(ctx, b.peer, b.org, e.ID, "x", "y", peer.Corrected{DurationMinutes: 45, AmendmentID: fix.AmendmentID})
	var verr *peer.ValidationError
	require.ErrorAs(t, err, &verr)
	require.Equal(t, "Corrected.AmendmentID", verr.Field)
	_, err = b.client.Correct(ctx, b.peer, b.org, e.ID, "x", "y", peer.Corrected{AmendmentID: uuid.New()})
	require.ErrorAs(t, err, &verr)
	require.Equal(t, "Corrected", verr.Field, "an id is no figure")

	// Two corrections in one transaction, the second with the smaller id
	// (a red-team finding: corrections applied in (created_at, id) order
	// made the last event omit the first): the last event carries both,
	// as the database now bills them.
	tx, err := b.db.App.Begin(ctx)
	require.NoError(t, err)
	high, low := uuid.MustParse("ffffffff-0000-4000-8000-000000000001"), uuid.MustParse("00000000-0000-4000-8000-00000000000b")
	_, err = b.client.CorrectTx(ctx, tx, b.peer, b.org, e.ID, "Shorter.", "r", peer.Corrected{DurationMinutes: 25, AmendmentID: high})
	require.NoError(t, err)
	moved, err := b.client.CorrectTx(ctx, tx, b.peer, b.org, e.ID, "Other peer.", "r", peer.Corrected{PeerProviderID: b.peer2, AmendmentID: low})
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))
	require.Equal(t, 5, *moved.BillingSeq)
	var lastData []byte
	require.NoError(t, b.db.Admin.QueryRow(ctx, `SELECT envelope->'data' FROM public.cl_pm_events WHERE organization_id = $1
		AND aggregate_id = $2 ORDER BY aggregate_seq DESC LIMIT 1`, b.org, e.ID).Scan(&lastData))
	var last events.PeerEncounterCorrected
	require.NoError(t, json.Unmarshal(lastData, &last))
	require.Equal(t, low, last.AmendmentID)
	require.Equal(t, 25, last.DurationMinutes, "the earlier correction in the transaction stands in the last event")
	require.Equal(t, b.peer2, last.PeerProviderID)
	testdb.RequireStoredEventsValid(t, b.db, b.org) // finalized and corrected, as the database built them

	// The database's rules for the corrected figures.
	_, err = b.client.Correct(ctx, b.peer, b.org, e.ID, "x", "y", peer.Corrected{DurationMinutes: 600})
	require.ErrorAs(t, err, &verr)
	require.Equal(t, "Corrected", verr.Field)
	_, err = b.client.Correct(ctx, b.peer, b.org, e.ID, "x", "y", peer.Corrected{PeerProviderID: b.officer})
	require.ErrorAs(t, err, &verr)
	require.Equal(t, "Corrected.PeerProviderID", verr.Field)

	// By plain SQL: a correction of figures without its event never
	// commits, an addendum carries no figures.
	for _, kind := range []string{"correction", "addendum"} {
		err = dbtx.Run(ctx, b.db.App, b.peer, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO public.cl_peer_encounter_amendments (organization_id, peer_encounter_id, chart_id, kind,
				body, reason, created_by, corrected_duration_minutes) VALUES ($1, $2, $3, $4, 'b', 'r', auth.uid(), 20)`,
				b.org, e.ID, b.chart, kind)
			return err
		})
		require.True(t, dbtx.IsCheckViolation(err), "%s: %v", kind, err)
	}
}
