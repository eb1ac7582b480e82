package consent_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

type bundle struct {
	db        *testdb.DB
	store     *consent.Client
	org       uuid.UUID
	manager   uuid.UUID // privacy officer: cl.consent.manage, pf.audit.view
	clinician uuid.UUID // clinician: org access, break glass
	peer      uuid.UUID // member without consent permissions
	part2     uuid.UUID // a Part 2 chart
	plain     uuid.UUID // a chart that is not Part 2
}

func setup(t *testing.T) *bundle {
	t.Helper()
	db := testdb.New(t)
	org := db.NewOrg(t)
	store, err := consent.New(db.App, nil)
	require.NoError(t, err)
	b := &bundle{
		db:        db,
		store:     store,
		org:       org,
		manager:   db.NewMember(t, org, "privacy_officer"),
		clinician: db.NewMember(t, org, "clinician"),
		peer:      db.NewMember(t, org, "peer_specialist"),
		part2:     db.NewChart(t, org, true),
		plain:     db.NewChart(t, org, false),
	}
	return b
}

// newNote adds a progress note to chart as the superuser and returns its id.
func (b *bundle) newNote(t *testing.T, chart uuid.UUID) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	err := b.db.Admin.QueryRow(context.Background(), `
		INSERT INTO public.cl_progress_notes (organization_id, chart_id, author_id, session_start, session_end)
		VALUES ($1, $2, $3, now() - interval '1 hour', now()) RETURNING id`, b.org, chart, b.clinician).Scan(&id)
	require.NoError(t, err)
	return id
}

// visibleNotes counts the progress notes user reads in SQL, as
// `authenticated`, after committing the accounting of the disclosure of
// every chart's notes as a reader must (Part 2 notes are hidden until then).
func visibleNotes(t *testing.T, db *testdb.DB, user uuid.UUID) int {
	t.Helper()
	var n int
	ctx := context.Background()
	require.NoError(t, testdb.ExecCommitted(ctx, db.App, user, `SELECT public.cl_part2_disclosed(c.organization_id,
		pg_catalog.array_agg(c.id), 'progress_note', 'TREAT', 'display') FROM public.cl_charts c GROUP BY c.organization_id`))
	require.NoError(t, dbtx.Run(ctx, db.App, user, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM public.cl_progress_notes`).Scan(&n)
	}))
	return n
}

func (b *bundle) grantParams(recipient uuid.UUID, types ...consent.RecordType) consent.GrantParams {
	return consent.GrantParams{
		OrganizationID: b.org,
		ChartID:        b.part2,
		Recipient:      consent.Recipient{UserID: recipient},
		RecordTypes:    types,
		Purposes:       []consent.Purpose{consent.PurposeTreatment},
		ExpiresAt:      time.Now().Add(24 * time.Hour),
		SignedAt:       time.Now().Add(-time.Minute),
		Signer:         consent.SignerPatient,
	}
}

func TestPart2RecordsFollowConsent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.newNote(t, b.part2)
	b.newNote(t, b.plain)

	require.Equal(t, 1, visibleNotes(t, b.db, b.clinician), "without consent only the plain chart's note is visible")

	// A consent for another record type does not open progress notes.
	_, err := b.store.Grant(ctx, b.manager, b.grantParams(b.clinician, consent.RecordPeerEncounter))
	require.NoError(t, err)
	require.Equal(t, 1, visibleNotes(t, b.db, b.clinician))

	// Nor does a consent to someone else.
	_, err = b.store.Grant(ctx, b.manager, b.grantParams(b.peer, consent.RecordProgressNote))
	require.NoError(t, err)
	require.Equal(t, 1, visibleNotes(t, b.db, b.clinician))

	c, err := b.store.Grant(ctx, b.manager, b.grantParams(b.clinician, consent.RecordProgressNote))
	require.NoError(t, err)
	require.Equal(t, b.manager, c.RecordedBy)
	require.Equal(t, 2, visibleNotes(t, b.db, b.clinician), "the consent opens the Part 2 note")

	_, err = b.store.Revoke(ctx, b.manager, b.org, c.ID)
	require.NoError(t, err)
	require.Equal(t, 1, visibleNotes(t, b.db, b.clinician), "revocation takes effect at once")

	_, err = b.store.Revoke(ctx, b.manager, b.org, c.ID)
	require.ErrorIs(t, err, consent.ErrAlreadyRevoked)
}

// AccountTx writes one accounting row per Part 2 chart the user may see,
// once per transaction and use, and nothing for other charts.
func TestAccountTxAccountsOncePerChartAndUse(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	_, err := b.store.Grant(ctx, b.manager, b.grantParams(b.clinician, consent.RecordProgressNote))
	require.NoError(t, err)
	plain := b.db.NewChart(t, b.org, false)
	var first, again, other int
	require.NoError(t, dbtx.Run(ctx, b.db.App, b.clinician, func(tx pgx.Tx) (err error) {
		if first, err = consent.AccountTx(ctx, tx, b.org, consent.RecordProgressNote, consent.PurposeTreatment, consent.UseDisplay,
			b.part2, plain); err != nil {
			return err
		}
		if again, err = consent.AccountTx(ctx, tx, b.org, consent.RecordProgressNote, consent.PurposeTreatment, consent.UseDisplay,
			b.part2); err != nil {
			return err
		}
		other, err = consent.AccountTx(ctx, tx, b.org, consent.RecordProgressNote, consent.PurposeTreatment, consent.UseExport, b.part2)
		return err
	}))
	require.Equal(t, []int{1, 0, 1}, []int{first, again, other})
	var n int
	require.NoError(t, dbtx.Run(ctx, b.db.App, b.peer, func(tx pgx.Tx) (err error) {
		n, err = consent.AccountTx(ctx, tx, b.org, consent.RecordProgressNote, consent.PurposeTreatment, consent.UseDisplay, b.part2)
		return err
	}))
	require.Zero(t, n, "no consent, no disclosure")
	err = dbtx.Run(ctx, b.db.App, b.clinician, func(tx pgx.Tx) error {
		_, err := consent.AccountTx(ctx, tx, b.org, consent.RecordType("Progress_Note"), consent.PurposeTreatment, consent.UseDisplay, b.part2)
		return err
	})
	require.True(t, dbtx.IsInvalidParameter(err), "record types have one spelling: %v", err)
}

func TestConsentToAnOrganizationCoversItsMembers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.newNote(t, b.part2)
	p := b.grantParams(uuid.Nil, consent.AllRecords)
	p.Recipient = consent.Recipient{OrganizationID: b.org}
	_, err := b.store.Grant(context.Background(), b.manager, p)
	require.NoError(t, err)
	require.Equal(t, 1, visibleNotes(t, b.db, b.clinician))
	require.Equal(t, 1, visibleNotes(t, b.db, b.db.NewMember(t, b.org, "clinician")))

	// AllRecords never covers SUD counseling notes.
	d, err := b.store.Check(context.Background(), consent.Request{ActingUser: b.clinician, ChartID: b.part2, RecordType: consent.RecordSUDCounselingNote})
	require.NoError(t, err)
	require.Equal(t, consent.Decision{Allowed: false, Basis: consent.BasisDenied}, d)
}

// A consent naming another organization covers that organization's
// active members among the clinicians, and nobody else; the
// organization's own billing (no user) is covered only by a consent
// naming the organization itself.
func TestConsentToAnotherOrganizationCoversItsMembersOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.newNote(t, b.part2)
	partner := b.db.NewOrg(t)
	both := b.db.NewMember(t, b.org, "clinician")
	b.db.AddMember(t, partner, both)
	former := b.db.NewMember(t, b.org, "clinician")
	b.db.AddMember(t, partner, former)
	b.db.Exec(t, `UPDATE public.pf_members SET status = 'inactive' WHERE organization_id = $1 AND user_id = $2`, partner, former)
	p := b.grantParams(uuid.Nil, consent.AllRecords)
	p.Recipient = consent.Recipient{OrganizationID: partner}
	p.Purposes = []consent.Purpose{consent.PurposeTreatment, consent.PurposePayment}
	_, err := b.store.Grant(ctx, b.manager, p)
	require.NoError(t, err)
	require.Equal(t, 1, visibleNotes(t, b.db, both), "an active member of the named organization")
	require.Zero(t, visibleNotes(t, b.db, b.clinician), "not a member of it")
	require.Zero(t, visibleNotes(t, b.db, former), "no longer an active member of it")
	var covered bool
	require.NoError(t, b.db.Admin.QueryRow(ctx, `SELECT public.cl_part2_consent_covers($1, $2, 'progress_note', NULL, now(), 'HPAYMT')`,
		b.part2, b.org).Scan(&covered))
	require.False(t, covered, "the organization's own billing: a consent naming another organization does not cover it")
}

func TestConsentExpires(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.newNote(t, b.part2)

	// Expired already.
	p := b.grantParams(b.clinician, consent.RecordProgressNote)
	p.EffectiveAt = time.Now().Add(-2 * time.Hour)
	p.SignedAt = p.EffectiveAt
	p.ExpiresAt = time.Now().Add(-time.Hour)
	_, err := b.store.Grant(ctx, b.manager, p)
	require.NoError(t, err)
	require.Zero(t, visibleNotes(t, b.db, b.clinician))

	// Not yet effective.
	p.EffectiveAt = time.Now().Add(time.Hour)
	p.ExpiresAt = time.Now().Add(2 * time.Hour)
	_, err = b.store.Grant(ctx, b.manager, p)
	require.NoError(t, err)
	require.Zero(t, visibleNotes(t, b.db, b.clinician))

	// Expires while we watch: effective at once, invisible the moment it ends.
	p.EffectiveAt = time.Time{}
	p.ExpiresAt = time.Now().Add(1500 * time.Millisecond)
	_, err = b.store.Grant(ctx, b.manager, p)
	require.NoError(t, err)
	require.Equal(t, 1, visibleNotes(t, b.db, b.clinician))
	time.Sleep(time.Until(p.ExpiresAt) + 50*time.Millisecond)
	require.Zero(t, visibleNotes(t, b.db, b.clinician))
}

func TestCounselingNotesNeedTheirOwnConsent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	_, err := b.store.Grant(ctx, b.manager, b.grantParams(b.clinician, consent.RecordSUDCounselingNote, consent.RecordProgressNote))
	require.ErrorIs(t, err, consent.ErrInvalid)

	check := func() consent.Decision {
		d, err := b.store.Check(ctx, consent.Request{ActingUser: b.clinician, ChartID: b.part2, RecordType: consent.RecordSUDCounselingNote})
		require.NoError(t, err)
		return d
	}
	_, err = b.store.Grant(ctx, b.manager, b.grantParams(b.clinician, consent.AllRecords))
	require.NoError(t, err)
	require.False(t, check().Allowed)
	_, err = b.store.Grant(ctx, b.manager, b.grantParams(b.clinician, consent.RecordSUDCounselingNote))
	require.NoError(t, err)
	require.Equal(t, consent.Decision{Allowed: true, Basis: consent.BasisConsent}, check())
}

func TestCheckerAnswersWithoutProbing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	otherOrg := b.db.NewOrg(t)
	otherChart := b.db.NewChart(t, otherOrg, false)

	ask := func(user, chart uuid.UUID) consent.Decision {
		d, err := b.store.Check(ctx, consent.Request{ActingUser: user, ChartID: chart, RecordType: consent.RecordPeerEncounter})
		require.NoError(t, err)
		return d
	}
	denied := consent.Decision{Allowed: false, Basis: consent.BasisDenied}
	require.Equal(t, consent.Decision{Allowed: true, Basis: consent.BasisNotPart2}, ask(b.peer, b.plain))
	require.Equal(t, denied, ask(b.peer, b.part2), "Part 2 chart without consent")
	require.Equal(t, denied, ask(b.peer, uuid.New()), "a chart that does not exist")
	require.Equal(t, denied, ask(b.peer, otherChart), "another organization's chart, not even Part 2")

	// The SQL function answers only about the caller itself.
	var got bool
	require.NoError(t, dbtx.Run(ctx, b.db.App, b.peer, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT public.cl_check_sud_consent($1, 'peer_encounter', $2)`, b.plain, b.clinician).Scan(&got)
	}))
	require.False(t, got, "asking on behalf of another user")

	// Decisions about the Part 2 chart are audited; the others are not Part 2 decisions.
	disclosures, err := b.store.Disclosures(ctx, b.manager, b.org, b.part2, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	require.Len(t, disclosures, 1)
	require.Equal(t, "part2.access.denied", disclosures[0].Action)
	require.Equal(t, b.peer, *disclosures[0].ActorUserID)
}

func TestBreakGlass(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.newNote(t, b.part2)

	_, err := b.store.BreakGlass(ctx, b.clinician, consent.BreakGlassParams{ChartID: b.part2, Reason: "   "})
	var verr *consent.ValidationError
	require.ErrorAs(t, err, &verr)
	require.Equal(t, "Reason", verr.Field)

	_, err = b.store.BreakGlass(ctx, b.peer, consent.BreakGlassParams{ChartID: b.part2, Reason: "unresponsive patient in the lobby"})
	require.ErrorIs(t, err, consent.ErrPermissionDenied, "peer specialists may not break the glass")

	// The SQL function refuses an empty reason too, for callers that bypass Go.
	err = dbtx.Run(ctx, b.db.App, b.clinician, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SELECT public.cl_part2_break_glass($1, '', interval '1 hour')`, b.part2)
		return err
	})
	require.True(t, dbtx.IsInvalidParameter(err), "got %v", err)

	require.Zero(t, visibleNotes(t, b.db, b.clinician))
	access, err := b.store.BreakGlass(ctx, b.clinician, consent.BreakGlassParams{ChartID: b.part2, Reason: "unresponsive patient in the lobby", Duration: 30 * time.Minute})
	require.NoError(t, err)
	require.WithinDuration(t, access.StartedAt.Add(30*time.Minute), access.ExpiresAt, time.Second)
	require.Equal(t, 1, visibleNotes(t, b.db, b.clinician), "emergency access opens the chart")
	d, err := b.store.Check(ctx, consent.Request{ActingUser: b.clinician, ChartID: b.part2, RecordType: consent.RecordProgressNote})
	require.NoError(t, err)
	require.Equal(t, consent.BasisEmergency, d.Basis)
	d, err = b.store.Check(ctx, consent.Request{ActingUser: b.clinician, ChartID: b.part2, RecordType: consent.RecordSUDCounselingNote})
	require.NoError(t, err)
	require.False(t, d.Allowed, "emergency access never opens counseling notes")
	for _, req := range []consent.Request{
		{ActingUser: b.clinician, ChartID: b.part2, RecordType: consent.RecordProgressNote, Use: consent.UseExport},
		{ActingUser: b.clinician, ChartID: b.part2, RecordType: consent.RecordProgressNote, Use: consent.UseAI},
		{ActingUser: b.clinician, ChartID: b.part2, RecordType: consent.RecordProgressNote, Purpose: consent.PurposePayment},
	} {
		d, err = b.store.Check(ctx, req)
		require.NoError(t, err)
		require.False(t, d.Allowed, "an emergency access is for treatment, displayed or saved: %+v", req)
	}

	// Time passes: move the access window into the past.
	b.db.Exec(t, `UPDATE public.cl_part2_emergency_access SET started_at = started_at - interval '2 hours', expires_at = expires_at - interval '2 hours' WHERE id = $1`, access.ID)
	require.Zero(t, visibleNotes(t, b.db, b.clinician), "the access ends at its time limit")

	disclosures, err := b.store.Disclosures(ctx, b.manager, b.org, b.part2, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	var opened *consent.Disclosure
	for i := range disclosures {
		if disclosures[i].Action == "part2.emergency_access.opened" {
			opened = &disclosures[i]
		}
	}
	require.NotNil(t, opened, "break glass leaves an audit row")
	require.Equal(t, access.ID, *opened.EmergencyAccessID)
	require.Equal(t, consent.PurposeEmergencyTreatment, *opened.Purpose)
	require.Equal(t, b.clinician, *opened.ActorUserID)
}

func TestAccountingOfDisclosures(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	c, err := b.store.Grant(ctx, b.manager, b.grantParams(b.clinician, consent.RecordProgressNote))
	require.NoError(t, err)
	// The consent names treatment only: payment is another purpose.
	d, err := b.store.Check(ctx, consent.Request{ActingUser: b.clinician, ChartID: b.part2, RecordType: consent.RecordProgressNote, Use: consent.UseExport, Purpose: consent.PurposePayment})
	require.NoError(t, err)
	require.False(t, d.Allowed, "a consent covers only the purposes it names")
	_, err = b.store.Check(ctx, consent.Request{ActingUser: b.clinician, ChartID: b.part2, RecordType: consent.RecordProgressNote, Use: consent.UseExport, Purpose: consent.PurposeTreatment})
	require.NoError(t, err)
	_, err = b.store.Revoke(ctx, b.manager, b.org, c.ID)
	require.NoError(t, err)

	got, err := b.store.Disclosures(ctx, b.manager, b.org, b.part2, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	var actions []string
	for _, d := range got {
		actions = append(actions, d.Action)
	}
	require.Equal(t, []string{"part2.consent.granted", "part2.access.denied", "part2.access.allowed", "part2.consent.revoked"}, actions)
	require.Equal(t, c.ID, *got[0].ConsentID)
	require.Equal(t, consent.PurposePayment, *got[1].Purpose, "the audit keeps the purpose asked for")
	require.Equal(t, "export", *got[2].Use)
	require.Equal(t, consent.PurposeTreatment, *got[2].Purpose)

	// Without pf.audit.view the accounting is empty, as if nothing happened.
	none, err := b.store.Disclosures(ctx, b.clinician, b.org, b.part2, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	require.Empty(t, none)
}

func TestConsentPermissions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	_, err := b.store.Grant(ctx, b.clinician, b.grantParams(b.clinician, consent.RecordProgressNote))
	require.ErrorIs(t, err, consent.ErrPermissionDenied, "clinicians view consents but do not record them")

	c, err := b.store.Grant(ctx, b.manager, b.grantParams(b.clinician, consent.RecordProgressNote))
	require.NoError(t, err)
	_, err = b.store.Revoke(ctx, b.clinician, b.org, c.ID)
	require.ErrorIs(t, err, consent.ErrPermissionDenied)

	list, err := b.store.List(ctx, b.clinician, b.org, b.part2)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.True(t, list[0].ActiveAt(time.Now()))
	list, err = b.store.List(ctx, b.peer, b.org, b.part2)
	require.NoError(t, err)
	require.Empty(t, list, "a consent's existence reveals a Part 2 chart: hidden from others")
	_, err = b.store.Revoke(ctx, b.peer, b.org, c.ID)
	require.ErrorIs(t, err, consent.ErrNotFound)

	// Concurrent revocations: one revokes, the others learn it was revoked.
	c2, err := b.store.Grant(ctx, b.manager, b.grantParams(b.clinician, consent.RecordPeerEncounter))
	require.NoError(t, err)
	errs := make(chan error, 4)
	for range 4 {
		go func() { _, err := b.store.Revoke(ctx, b.manager, b.org, c2.ID); errs <- err }()
	}
	var revoked, already int
	for range 4 {
		switch err := <-errs; {
		case err == nil:
			revoked++
		case errors.Is(err, consent.ErrAlreadyRevoked):
			already++
		default:
			t.Fatalf("unexpected: %v", err)
		}
	}
	require.Equal(t, 1, revoked)
	require.Equal(t, 3, already)

	// A revocation takes effect now, in the name of who records it, even
	// when SQL says otherwise.
	c3, err := b.store.Grant(ctx, b.manager, b.grantParams(b.clinician, consent.RecordGroupSession))
	require.NoError(t, err)
	require.NoError(t, dbtx.Run(ctx, b.db.App, b.manager, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE public.cl_part2_consents SET revoked_at = now() - interval '30 days', revoked_by = $2 WHERE id = $1`, c3.ID, b.manager)
		return err
	}))
	var revokedAt time.Time
	require.NoError(t, b.db.Admin.QueryRow(ctx, `SELECT revoked_at FROM public.cl_part2_consents WHERE id = $1`, c3.ID).Scan(&revokedAt))
	require.WithinDuration(t, time.Now(), revokedAt, time.Minute, "not backdated")

	// A consent cannot be edited, only revoked, even by its manager in SQL.
	err = dbtx.Run(ctx, b.db.App, b.manager, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE public.cl_part2_consents SET record_types = '{*}' WHERE id = $1`, c.ID)
		return err
	})
	require.Error(t, err)
}

func TestCrossOrganizationConsentIsImpossible(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	orgB := b.db.NewOrg(t)
	chartB := b.db.NewChart(t, orgB, true)
	// A manager of org A names org B's chart under org A: the composite
	// foreign key refuses it, whatever the policies say.
	p := b.grantParams(b.clinician, consent.RecordProgressNote)
	p.ChartID = chartB
	_, err := b.store.Grant(ctx, b.manager, p)
	require.ErrorIs(t, err, consent.ErrInvalid)
	// And under org B the manager has no permission.
	p.OrganizationID = orgB
	_, err = b.store.Grant(ctx, b.manager, p)
	require.ErrorIs(t, err, consent.ErrPermissionDenied)
}

func TestBadInputIsRefusedAndNothingIsWritten(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	valid := b.grantParams(b.clinician, consent.RecordProgressNote)
	cases := map[string]struct {
		mutate func(*consent.GrantParams)
		field  string
	}{
		"zero organization":     {func(p *consent.GrantParams) { p.OrganizationID = uuid.Nil }, "OrganizationID"},
		"zero chart":            {func(p *consent.GrantParams) { p.ChartID = uuid.Nil }, "ChartID"},
		"no recipient":          {func(p *consent.GrantParams) { p.Recipient = consent.Recipient{} }, "Recipient"},
		"two recipients":        {func(p *consent.GrantParams) { p.Recipient.OrganizationID = b.org }, "Recipient"},
		"no record types":       {func(p *consent.GrantParams) { p.RecordTypes = nil }, "RecordTypes"},
		"unknown record type":   {func(p *consent.GrantParams) { p.RecordTypes = []consent.RecordType{"psychotherapy"} }, "RecordTypes"},
		"duplicate record type": {func(p *consent.GrantParams) { p.RecordTypes = append(p.RecordTypes, p.RecordTypes[0]) }, "RecordTypes"},
		"no purposes":           {func(p *consent.GrantParams) { p.Purposes = nil }, "Purposes"},
		"emergency purpose":     {func(p *consent.GrantParams) { p.Purposes = []consent.Purpose{consent.PurposeEmergencyTreatment} }, "Purposes"},
		"no expiry":             {func(p *consent.GrantParams) { p.ExpiresAt = time.Time{} }, "ExpiresAt"},
		"expiry before start":   {func(p *consent.GrantParams) { p.EffectiveAt = time.Now().Add(time.Hour); p.ExpiresAt = time.Now() }, "ExpiresAt"},
		"expiry in the past":    {func(p *consent.GrantParams) { p.ExpiresAt = time.Now().Add(-time.Hour) }, "ExpiresAt"},
		"bad expiration event":  {func(p *consent.GrantParams) { p.ExpiresAt = time.Time{}; p.ExpirationEvent = "End of treatment" }, "ExpirationEvent"},
		"unsigned":              {func(p *consent.GrantParams) { p.SignedAt = time.Time{} }, "SignedAt"},
		"signed in the future":  {func(p *consent.GrantParams) { p.SignedAt = time.Now().Add(time.Hour) }, "SignedAt"},
		"unknown signer":        {func(p *consent.GrantParams) { p.Signer = "neighbour" }, "Signer"},
	}
	for name, tc := range cases {
		p := valid
		p.RecordTypes = append([]consent.RecordType(nil), valid.RecordTypes...)
		tc.mutate(&p)
		_, err := b.store.Grant(ctx, b.manager, p)
		var verr *consent.ValidationError
		require.ErrorAs(t, err, &verr, name)
		require.ErrorIs(t, err, consent.ErrInvalid, name)
		require.Equal(t, tc.field, verr.Field, name)
	}

	_, err := b.store.Grant(ctx, uuid.Nil, valid)
	require.ErrorIs(t, err, consent.ErrNoActingUser)
	_, err = b.store.Revoke(ctx, b.manager, b.org, uuid.Nil)
	require.ErrorIs(t, err, consent.ErrInvalid)
	_, err = b.store.BreakGlass(ctx, b.clinician, consent.BreakGlassParams{ChartID: b.part2, Reason: "a real emergency", Duration: 25 * time.Hour})
	require.ErrorIs(t, err, consent.ErrInvalid)
	_, err = b.store.BreakGlass(ctx, b.clinician, consent.BreakGlassParams{Reason: "a real emergency"})
	require.ErrorIs(t, err, consent.ErrInvalid)
	for _, req := range []consent.Request{
		{ChartID: b.part2, RecordType: consent.RecordProgressNote},
		{ActingUser: b.clinician, RecordType: consent.RecordProgressNote},
		{ActingUser: b.clinician, ChartID: b.part2, RecordType: "unknown"},
		{ActingUser: b.clinician, ChartID: b.part2, RecordType: consent.AllRecords},
		{ActingUser: b.clinician, ChartID: b.part2, RecordType: consent.RecordProgressNote, Use: "sell"},
		{ActingUser: b.clinician, ChartID: b.part2, RecordType: consent.RecordProgressNote, Purpose: "MARKETING"},
	} {
		_, err := b.store.Check(ctx, req)
		require.True(t, errors.Is(err, consent.ErrInvalid) || errors.Is(err, consent.ErrNoActingUser), "%+v: %v", req, err)
	}

	var consents, audits, accesses int
	require.NoError(t, b.db.Admin.QueryRow(ctx, `SELECT (SELECT count(*) FROM public.cl_part2_consents),
		(SELECT count(*) FROM public.pf_audit_logs), (SELECT count(*) FROM public.cl_part2_emergency_access)`).Scan(&consents, &audits, &accesses))
	require.Zero(t, consents+audits+accesses, "bad input wrote something")
}

func TestRecordTypesMatchTheDatabase(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	var inDB []string
	require.NoError(t, db.Admin.QueryRow(context.Background(), `SELECT public.cl_part2_record_types()`).Scan(&inDB))
	want := []string{string(consent.AllRecords)}
	for _, r := range consent.RecordTypes() {
		want = append(want, string(r))
	}
	require.ElementsMatch(t, want, inDB)
}
