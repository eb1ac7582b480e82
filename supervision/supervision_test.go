package supervision_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/internal/testdb"
	"github.com/encoreos/platform-go/supervision"
)

func TestMain(m *testing.M) { testdb.Main(m) }

type bundle struct {
	db               *testdb.DB
	client           *supervision.Client
	org              uuid.UUID
	supervisor, peer uuid.UUID
}

func setup(t testing.TB) *bundle {
	t.Helper()
	db := testdb.New(t)
	org := db.NewOrg(t)
	client, err := supervision.New(db.App, nil)
	require.NoError(t, err)
	return &bundle{db: db, client: client, org: org,
		supervisor: db.NewMember(t, org, "peer_supervisor"), peer: db.NewMember(t, org, "peer_specialist")}
}

func (b *bundle) params() supervision.RecordParams {
	return supervision.RecordParams{OrganizationID: b.org, PeerProviderID: b.peer, SupervisorID: b.supervisor,
		SupervisionDate: time.Now().AddDate(0, 0, -1), Modality: supervision.IndividualInPerson, DurationMinutes: 60,
		Notes: "Reviewed boundaries and self-care."}
}

func TestRecordAndList(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	r, err := b.client.Record(ctx, b.supervisor, b.params())
	require.NoError(t, err)
	require.Equal(t, 60, *r.DurationMinutes)
	p := b.params()
	p.DurationMinutes = 0
	r2, err := b.client.Record(ctx, b.supervisor, p)
	require.NoError(t, err)
	require.Nil(t, r2.DurationMinutes, "a duration is optional")

	// Any member of the organization sees them (org-scoped, non-SUD MVP).
	list, err := b.client.ListByPeer(ctx, b.peer, b.org, b.peer, time.Now().AddDate(0, 0, -7), time.Now())
	require.NoError(t, err)
	require.Len(t, list, 2)

	// Another organization sees nothing and records nothing.
	orgB := b.db.NewOrg(t)
	outsider := b.db.NewMember(t, orgB, "peer_supervisor")
	list, err = b.client.ListByPeer(ctx, outsider, b.org, b.peer, time.Now().AddDate(0, 0, -7), time.Now())
	require.NoError(t, err)
	require.Empty(t, list)
	_, err = b.client.Record(ctx, outsider, b.params())
	require.ErrorIs(t, err, supervision.ErrPermissionDenied)
	// A peer specialist cannot record supervision.
	_, err = b.client.Record(ctx, b.peer, b.params())
	require.ErrorIs(t, err, supervision.ErrPermissionDenied)
}

func TestRecordValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	clinician := b.db.NewMember(t, b.org, "clinician")
	cases := map[string]struct {
		mutate func(*supervision.RecordParams)
		field  string
	}{
		"supervisor is the peer":    {func(p *supervision.RecordParams) { p.SupervisorID = b.peer }, "SupervisorID"},
		"supervisor lacks the role": {func(p *supervision.RecordParams) { p.SupervisorID = clinician }, "SupervisorID"},
		"peer lacks the role":       {func(p *supervision.RecordParams) { p.PeerProviderID = clinician }, "PeerProviderID"},
		"no peer":                   {func(p *supervision.RecordParams) { p.PeerProviderID = uuid.Nil }, "PeerProviderID"},
		"future date":               {func(p *supervision.RecordParams) { p.SupervisionDate = time.Now().AddDate(0, 0, 2) }, "SupervisionDate"},
		"no date":                   {func(p *supervision.RecordParams) { p.SupervisionDate = time.Time{} }, "SupervisionDate"},
		"unknown modality":          {func(p *supervision.RecordParams) { p.Modality = "telepathy" }, "Modality"},
		"duration too long":         {func(p *supervision.RecordParams) { p.DurationMinutes = 721 }, "DurationMinutes"},
		"negative duration":         {func(p *supervision.RecordParams) { p.DurationMinutes = -5 }, "DurationMinutes"},
		"NUL in notes":              {func(p *supervision.RecordParams) { p.Notes = "a\x00b" }, "Notes"},
	}
	for name, tc := range cases {
		p := b.params()
		tc.mutate(&p)
		_, err := b.client.Record(ctx, b.supervisor, p)
		var verr *supervision.ValidationError
		require.ErrorAs(t, err, &verr, name)
		require.Equal(t, tc.field, verr.Field, name)
	}
	require.ErrorIs(t, b.client.SetRules(ctx, b.supervisor, b.org, supervision.RuleSet{InitialPeriodDays: 30}), supervision.ErrInvalid)
}

func TestComplianceEndToEnd(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	rules := supervision.Texas
	rules.MaxPeersPerSupervisor = 1
	require.NoError(t, b.client.SetRules(ctx, b.supervisor, b.org, rules))
	got, err := b.client.Rules(ctx, b.peer, b.org)
	require.NoError(t, err)
	require.Equal(t, rules, got)
	// Certified two years ago: monthly supervision applies.
	require.NoError(t, b.client.SetCertifiedOn(ctx, b.supervisor, b.org, b.peer, time.Now().AddDate(-2, 0, 0)))

	lastMonth := time.Date(time.Now().Year(), time.Now().Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
	p := b.params()
	p.SupervisionDate = lastMonth.AddDate(0, 0, 9)
	_, err = b.client.Record(ctx, b.supervisor, p)
	require.NoError(t, err)
	// The supervisor also supervises a second peer: over this org's cap of one.
	other := b.db.NewMember(t, b.org, "peer_specialist")
	p.PeerProviderID = other
	_, err = b.client.Record(ctx, b.supervisor, p)
	require.NoError(t, err)

	s, err := b.client.Compliance(ctx, b.supervisor, b.org, b.peer, lastMonth, lastMonth.AddDate(0, 1, -1))
	require.NoError(t, err)
	require.Equal(t, 1, s.Sessions)
	require.Len(t, s.Results, 2)
	require.Equal(t, supervision.Result{Rule: supervision.RuleFrequency, Met: true, Required: 1, Actual: 1}, s.Results[0])
	require.Equal(t, supervision.Result{Rule: supervision.RuleMaxPeersPerSupe, Met: false, Required: 1, Actual: 2,
		OverCap: []uuid.UUID{b.supervisor}}, s.Results[1])

	_, err = b.client.Compliance(ctx, b.supervisor, b.org, b.peer, lastMonth, lastMonth.AddDate(-4, 0, 0))
	require.ErrorIs(t, err, supervision.ErrInvalid)
}
