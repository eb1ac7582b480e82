package multiparty_test

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
	"github.com/encoreos/platform-go/multiparty"
)

func TestMain(m *testing.M) { testdb.Main(m) }

type bundle struct {
	db                              *testdb.DB
	client                          *multiparty.Client
	consents                        *consent.Client
	org, clinician, colleague, peer uuid.UUID
	officer                         uuid.UUID
	chart, part2                    uuid.UUID
	telehealth                      uuid.UUID // a PM-13 session of org
}

func setup(t testing.TB) *bundle {
	t.Helper()
	db := testdb.New(t)
	org := db.NewOrg(t)
	client, err := multiparty.New(db.App, nil)
	require.NoError(t, err)
	consents, err := consent.New(db.App, nil)
	require.NoError(t, err)
	return &bundle{db: db, client: client, consents: consents, org: org,
		clinician: db.NewMember(t, org, "clinician"), colleague: db.NewMember(t, org, "clinician"),
		peer: db.NewMember(t, org, "peer_specialist"), officer: db.NewMember(t, org, "privacy_officer"),
		chart: db.NewChart(t, org, false), part2: db.NewChart(t, org, true), telehealth: db.NewTelehealthSession(t, org)}
}

func (b *bundle) family(chart uuid.UUID) multiparty.CreateParams {
	return multiparty.CreateParams{
		OrganizationID: b.org, Kind: multiparty.Family, Modality: multiparty.Hybrid, PMTelehealthSessionID: b.telehealth,
		LeadClinicianID: b.clinician, StartedAt: time.Now().Add(-time.Hour),
		Participants: []multiparty.ParticipantParams{
			{Kind: multiparty.Patient, ChartID: chart},
			{Kind: multiparty.FamilySupport, RoleCode: "parent"},
			{Kind: multiparty.InterpreterPerson, Language: "es"},
			{Kind: multiparty.Staff, MemberUserID: b.colleague},
			{Kind: multiparty.ExternalProfessional, RoleCode: "probation_officer"},
		},
	}
}

func (b *bundle) consentTo(t testing.TB, user, chart uuid.UUID) *consent.Consent {
	t.Helper()
	c, err := b.consents.Grant(context.Background(), b.officer, consent.GrantParams{
		OrganizationID: b.org, ChartID: chart, Recipient: consent.Recipient{UserID: user},
		RecordTypes: []consent.RecordType{consent.RecordMultiPartyEncounter}, Purposes: []consent.Purpose{consent.PurposeTreatment},
		ExpirationEvent: "end_of_treatment", SignedAt: time.Now(), Signer: consent.SignerPatient})
	require.NoError(t, err)
	return c
}

func TestCreateGetEnd(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	e, err := b.client.Create(ctx, b.clinician, b.family(b.chart))
	require.NoError(t, err)
	require.Len(t, e.Participants, 5)
	for _, p := range e.Participants {
		require.Equal(t, p.Kind == multiparty.Patient, p.ChartID != nil, "only a patient carries a chart")
	}
	got, err := b.client.Get(ctx, b.colleague, b.org, e.ID)
	require.NoError(t, err)
	require.Len(t, got.Participants, 5)

	e, err = b.client.AddParticipant(ctx, b.colleague, b.org, e.ID, multiparty.ParticipantParams{Kind: multiparty.FamilySupport, RoleCode: "sibling"})
	require.NoError(t, err)
	require.Len(t, e.Participants, 6)
	_, err = b.client.AddParticipant(ctx, b.clinician, b.org, e.ID, multiparty.ParticipantParams{Kind: multiparty.Patient, ChartID: b.chart})
	require.ErrorIs(t, err, multiparty.ErrInvalid, "the same patient twice")

	ended, err := b.client.End(ctx, b.clinician, b.org, e.ID, time.Now(), "Safety plan agreed with the family.")
	require.NoError(t, err)
	require.NotNil(t, ended.EndedAt)
	_, err = b.client.End(ctx, b.clinician, b.org, e.ID, time.Now(), "again")
	require.ErrorIs(t, err, multiparty.ErrEnded)
}

func TestPart2PatientsNeedConsent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	_, err := b.client.Create(ctx, b.clinician, b.family(b.part2))
	require.ErrorIs(t, err, multiparty.ErrPermissionDenied, "no consent to include the Part 2 patient")

	b.consentTo(t, b.clinician, b.part2)
	e, err := b.client.Create(ctx, b.clinician, b.family(b.part2))
	require.NoError(t, err)

	// The colleague (cl.multi_party.view, no consent) sees neither the
	// encounter nor any participant, not even the non-patients.
	_, err = b.client.Get(ctx, b.colleague, b.org, e.ID)
	require.ErrorIs(t, err, multiparty.ErrNotFound)
	var n int
	require.NoError(t, dbtx.Run(ctx, b.db.App, b.colleague, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM public.cl_multi_party_participants`).Scan(&n)
	}))
	require.Zero(t, n)

	c := b.consentTo(t, b.colleague, b.part2)
	disclosures := func() int {
		require.NoError(t, b.db.Admin.QueryRow(ctx, `SELECT count(*) FROM public.pf_audit_logs WHERE organization_id = $1
			AND action = 'part2.record.disclosed' AND target_id = $2 AND actor_user_id = $3
			AND details->>'record_type' = 'multi_party_encounter'`, b.org, b.part2, b.colleague).Scan(&n))
		return n
	}
	// Under consent, plain SQL still sees nothing until the disclosure is
	// accounted for and committed; then it does, and the accounting has its
	// row.
	count := func() (n int) {
		require.NoError(t, dbtx.Run(ctx, b.db.App, b.colleague, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*) FROM public.cl_multi_party_participants`).Scan(&n)
		}))
		return n
	}
	before := count()
	require.NoError(t, testdb.ExecCommitted(ctx, b.db.App, b.colleague, `SELECT public.cl_multi_party_disclose($1, $2, 'display')`, b.org, e.ID))
	after := count()
	require.Zero(t, before)
	require.Equal(t, 5, after)
	require.Equal(t, 1, disclosures())
	_, err = b.client.Get(ctx, b.colleague, b.org, e.ID)
	require.NoError(t, err)
	require.Equal(t, 1, disclosures(), "the API's read is the same disclosure, within cl_part2_disclosure_reuse: its line stands")
	_, err = b.consents.Revoke(ctx, b.officer, b.org, c.ID)
	require.NoError(t, err)
	_, err = b.client.Get(ctx, b.colleague, b.org, e.ID)
	require.ErrorIs(t, err, multiparty.ErrNotFound, "revocation hides it again")

	// Nor can the colleague slip a participant into it in SQL.
	err = dbtx.Run(ctx, b.db.App, b.colleague, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO public.cl_multi_party_participants (organization_id, encounter_id, kind, role_code, created_by)
			VALUES ($1, $2, 'family_support', 'parent', $3)`, b.org, e.ID, b.colleague)
		return err
	})
	require.True(t, dbtx.IsPermissionDenied(err), "got %v", err)

	// Adding a second, Part 2, patient to a plain encounter needs consent too.
	plain, err := b.client.Create(ctx, b.colleague, b.family(b.chart))
	require.NoError(t, err)
	_, err = b.client.AddParticipant(ctx, b.colleague, b.org, plain.ID, multiparty.ParticipantParams{Kind: multiparty.Patient, ChartID: b.part2})
	require.ErrorIs(t, err, multiparty.ErrPermissionDenied)
}

func TestEveryActionNeedsItsPermission(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	e, err := b.client.Create(ctx, b.clinician, b.family(b.chart))
	require.NoError(t, err)
	// A peer specialist holds neither cl.multi_party.view nor .manage.
	_, err = b.client.Create(ctx, b.peer, b.family(b.chart))
	require.ErrorIs(t, err, multiparty.ErrPermissionDenied)
	_, err = b.client.Get(ctx, b.peer, b.org, e.ID)
	require.ErrorIs(t, err, multiparty.ErrNotFound)
	_, err = b.client.AddParticipant(ctx, b.peer, b.org, e.ID, multiparty.ParticipantParams{Kind: multiparty.FamilySupport})
	require.ErrorIs(t, err, multiparty.ErrNotFound)
	_, err = b.client.End(ctx, b.peer, b.org, e.ID, time.Now(), "done")
	require.ErrorIs(t, err, multiparty.ErrNotFound)

	// View without manage: sees, cannot change.
	viewer := b.db.NewMember(t, b.org, "peer_specialist")
	b.db.NewRole(t, "mp_viewer", "views multi-party encounters", "cl.multi_party.view")
	b.db.Exec(t, `INSERT INTO public.pf_member_roles (organization_id, user_id, role) VALUES ($1, $2, 'mp_viewer')`, b.org, viewer)
	_, err = b.client.Get(ctx, viewer, b.org, e.ID)
	require.NoError(t, err)
	_, err = b.client.End(ctx, viewer, b.org, e.ID, time.Now(), "done")
	require.ErrorIs(t, err, multiparty.ErrPermissionDenied)
	_, err = b.client.AddParticipant(ctx, viewer, b.org, e.ID, multiparty.ParticipantParams{Kind: multiparty.FamilySupport})
	require.ErrorIs(t, err, multiparty.ErrPermissionDenied)

	// Another organization sees nothing and creates nothing here.
	orgB := b.db.NewOrg(t)
	outsider := b.db.NewMember(t, orgB, "clinician")
	_, err = b.client.Get(ctx, outsider, b.org, e.ID)
	require.ErrorIs(t, err, multiparty.ErrNotFound)
	_, err = b.client.Create(ctx, outsider, b.family(b.chart))
	require.ErrorIs(t, err, multiparty.ErrPermissionDenied)

	// An ended encounter cannot be reopened or rewritten, even in SQL.
	ended, err := b.client.Create(ctx, b.clinician, b.family(b.chart))
	require.NoError(t, err)
	_, err = b.client.End(ctx, b.clinician, b.org, ended.ID, time.Now(), "Plan agreed.")
	require.NoError(t, err)
	err = dbtx.Run(ctx, b.db.App, b.clinician, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE public.cl_multi_party_encounters SET ended_at = NULL, summary = 'rewritten', updated_by = $2 WHERE id = $1`, ended.ID, b.clinician)
		return err
	})
	require.True(t, dbtx.IsCheckViolation(err), "got %v", err)
	_, err = b.client.AddParticipant(ctx, b.clinician, b.org, ended.ID, multiparty.ParticipantParams{Kind: multiparty.FamilySupport})
	require.ErrorIs(t, err, multiparty.ErrPermissionDenied, "no one joins an ended encounter")

	// WITH CHECK: an encounter cannot be moved to another organization.
	err = dbtx.Run(ctx, b.db.App, b.clinician, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE public.cl_multi_party_encounters SET organization_id = $1 WHERE id = $2`, orgB, e.ID)
		return err
	})
	require.True(t, dbtx.IsPermissionDenied(err), "got %v", err)
}

func TestValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	cases := map[string]func(*multiparty.CreateParams){
		"unknown kind":            func(p *multiparty.CreateParams) { p.Kind = "party" },
		"unknown modality":        func(p *multiparty.CreateParams) { p.Modality = "smoke_signals" },
		"in person with PM-13":    func(p *multiparty.CreateParams) { p.Modality = multiparty.InPerson },
		"future start":            func(p *multiparty.CreateParams) { p.StartedAt = time.Now().Add(time.Hour) },
		"no lead":                 func(p *multiparty.CreateParams) { p.LeadClinicianID = uuid.Nil },
		"one party":               func(p *multiparty.CreateParams) { p.Participants = p.Participants[:1] },
		"patient without chart":   func(p *multiparty.CreateParams) { p.Participants[0].ChartID = uuid.Nil },
		"family with a chart":     func(p *multiparty.CreateParams) { p.Participants[1].ChartID = b.chart },
		"interpreter no language": func(p *multiparty.CreateParams) { p.Participants[2].Language = "" },
		"language not a tag":      func(p *multiparty.CreateParams) { p.Participants[2].Language = "Spanish (Mexico)" },
		"staff without member":    func(p *multiparty.CreateParams) { p.Participants[3].MemberUserID = uuid.Nil },
		"a name as a role":        func(p *multiparty.CreateParams) { p.Participants[4].RoleCode = "Officer Jane Smith" },
		"unknown participant":     func(p *multiparty.CreateParams) { p.Participants[1].Kind = "pet" },
		"same patient twice": func(p *multiparty.CreateParams) {
			p.Participants = append(p.Participants, multiparty.ParticipantParams{Kind: multiparty.Patient, ChartID: b.chart})
		},
	}
	for name, mutate := range cases {
		p := b.family(b.chart)
		mutate(&p)
		_, err := b.client.Create(ctx, b.clinician, p)
		require.ErrorIs(t, err, multiparty.ErrInvalid, name)
	}
	p := b.family(b.chart)
	p.Participants[3].MemberUserID = uuid.New() // not a member
	_, err := b.client.Create(ctx, b.clinician, p)
	require.ErrorIs(t, err, multiparty.ErrInvalid)
	// What the database checks comes back as the field it names.
	hr := b.db.NewMember(t, b.org, "hr_manager")
	for field, mutate := range map[string]func(*multiparty.CreateParams){
		"LeadClinicianID":       func(p *multiparty.CreateParams) { p.LeadClinicianID = hr },
		"PMTelehealthSessionID": func(p *multiparty.CreateParams) { p.PMTelehealthSessionID = uuid.New() },
	} {
		p := b.family(b.chart)
		mutate(&p)
		_, err := b.client.Create(ctx, b.clinician, p)
		var ve *multiparty.ValidationError
		require.ErrorAs(t, err, &ve, field)
		require.Equal(t, field, ve.Field)
	}
	var n int
	require.NoError(t, b.db.Admin.QueryRow(ctx, `SELECT count(*) FROM public.cl_multi_party_encounters`).Scan(&n))
	require.Zero(t, n, "nothing written")
}

// A Part 2 patient added while an encounter is read is never returned
// unchecked: the read decides the charts of the participants it returns
// (a red team's finding: the participants were read again after the
// decision, and a quarter of the reads during a loop of additions returned
// the new patient, with no consent and no accounting).
func TestAPatientAddedDuringAReadIsNeverReturned(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	part2 := b.db.NewChart(t, b.org, true) // no consent for anyone
	var enc uuid.UUID
	require.NoError(t, b.db.Admin.QueryRow(ctx, `INSERT INTO public.cl_multi_party_encounters (organization_id, kind, modality,
		lead_clinician_id, started_at, summary, created_by, updated_by)
		VALUES ($1, 'family', 'in_person', $2, now() - interval '1 hour', 'summary', $2, $2) RETURNING id`, b.org, b.clinician).Scan(&enc))
	b.db.Exec(t, `INSERT INTO public.cl_multi_party_participants (organization_id, encounter_id, kind, chart_id, created_by)
		VALUES ($1, $2, 'patient', $3, $4)`, b.org, enc, b.chart, b.clinician)
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			_, err := b.db.Admin.Exec(ctx, `INSERT INTO public.cl_multi_party_participants (organization_id, encounter_id, kind, chart_id,
				created_by) VALUES ($1, $2, 'patient', $3, $4)`, b.org, enc, part2, b.clinician)
			if err == nil {
				_, err = b.db.Admin.Exec(ctx, `DELETE FROM public.cl_multi_party_participants
					WHERE organization_id = $1 AND encounter_id = $2 AND chart_id = $3`, b.org, enc, part2)
			}
			if err != nil {
				done <- err
				return
			}
		}
	}()
	reads, shown := 0, 0
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); reads++ {
		e, err := b.client.Get(ctx, b.clinician, b.org, enc)
		if errors.Is(err, multiparty.ErrNotFound) {
			continue
		}
		require.NoError(t, err)
		shown++
		for _, p := range e.Participants {
			require.False(t, p.ChartID != nil && *p.ChartID == part2, "read %d returned the unconsented Part 2 patient", reads)
		}
	}
	close(stop)
	require.NoError(t, <-done)
	require.NotZero(t, shown, "no read found the encounter without the Part 2 patient: the test saw nothing")
	t.Logf("%d reads, %d shown", reads, shown)
}
