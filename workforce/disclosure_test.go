package workforce_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/testdb"
	"github.com/encoreos/platform-go/workforce"
)

// The attacks of issue 19, one test per class, each asserting what HR can
// no longer learn with nothing but hr.productivity.view and the documented
// call (docs/privacy-impact-assessment.md, "Residual risk").

// clinicWithBoundary is an organization whose providers each see ten
// patients in March and one more patient, a no-show, on March 31.
type clinicWithBoundary struct {
	db        *testdb.DB
	org, site uuid.UUID
	hr        uuid.UUID
	providers []uuid.UUID
}

func newClinicWithBoundary(t *testing.T, providers int) *clinicWithBoundary {
	t.Helper()
	db := testdb.New(t)
	c := &clinicWithBoundary{db: db, org: db.NewOrg(t), hr: uuid.Nil}
	c.site = db.NewSite(t, c.org)
	c.hr = db.NewMember(t, c.org, "hr_manager")
	for range providers {
		p := db.NewMember(t, c.org, "clinician")
		c.providers = append(c.providers, p)
		for day := 1; day <= 10; day++ {
			chart := db.NewChart(t, c.org, false)
			start := time.Date(2026, 3, day, 10, 0, 0, 0, time.UTC)
			db.Exec(t, `INSERT INTO public.pm_appointments (organization_id, site_id, chart_id, provider_id, service_type, status, starts_at, ends_at)
				VALUES ($1, $2, $3, $4, 'individual_therapy', 'completed', $5, $5::timestamptz + interval '50 minutes')`,
				c.org, c.site, chart, p, start)
		}
		db.Exec(t, `INSERT INTO public.pm_appointments (organization_id, site_id, chart_id, provider_id, service_type, status, starts_at, ends_at)
			VALUES ($1, $2, $3, $4, 'case_management', 'no_show', '2026-03-31 15:00Z', '2026-03-31 16:00Z')`,
			c.org, c.site, db.NewChart(t, c.org, false), p)
	}
	return c
}

func (c *clinicWithBoundary) report(t *testing.T, start, end time.Time) map[uuid.UUID]workforce.ProviderProductivitySummary {
	t.Helper()
	got, err := workforce.GetProviderProductivity(context.Background(), c.db.App, c.hr, c.org,
		workforce.Options{PeriodStart: start, PeriodEnd: end})
	require.NoError(t, err)
	out := map[uuid.UUID]workforce.ProviderProductivitySummary{}
	for _, s := range got {
		out[s.ProviderID] = s
	}
	return out
}

// Extending the period by the one day that holds one patient's no-show
// changes each figure by the noise of two different cells, not by that
// patient: across providers the published difference is the true one (+1)
// in about a quarter of cases (two independent perturbations agree with
// probability 0.26), and the attacker cannot tell which.
func TestExtendingThePeriodDoesNotIsolateAPatient(t *testing.T) {
	t.Parallel()
	c := newClinicWithBoundary(t, 40)
	march := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	before := c.report(t, march, march.AddDate(0, 0, 30)) // March 1 .. 30
	after := c.report(t, march, march.AddDate(0, 0, 31))  // March 1 .. 31
	differences := map[int]int{}
	for _, p := range c.providers {
		differences[*after[p].ActiveCaseloadCount-*before[p].ActiveCaseloadCount]++
	}
	require.Less(t, differences[1], len(c.providers)/2, "the true difference is not what comes back: %v", differences)
	require.GreaterOrEqual(t, len(differences), 3, "the differences spread over the noise: %v", differences)
	for d := range differences {
		require.LessOrEqual(t, d, 5, "bounded by the noise")
		require.GreaterOrEqual(t, d, -3)
	}
}

// Bisecting the period end to learn when something happened: periods are
// whole days in the organization's time zone, and at least 28 of them.
// Ends a microsecond, or hours, apart within one day give the same period
// and the same answer; a day or a moment cannot be asked about.
func TestThePeriodCannotBeBisected(t *testing.T) {
	t.Parallel()
	c := newClinicWithBoundary(t, 2)
	march := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	a := c.report(t, march, time.Date(2026, 3, 31, 15, 0, 0, 0, time.UTC))
	b := c.report(t, march, time.Date(2026, 3, 31, 15, 0, 0, 1000, time.UTC))
	d := c.report(t, march.Add(7*time.Hour), time.Date(2026, 3, 31, 23, 59, 0, 0, time.UTC))
	require.Equal(t, a, b)
	require.Equal(t, a, d)
	for _, s := range a {
		require.Equal(t, march, s.PeriodStart.UTC())
		require.Equal(t, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), s.PeriodEnd.UTC(), "widened to a midnight")
	}
	_, err := workforce.GetProviderProductivity(context.Background(), c.db.App, c.hr, c.org,
		workforce.Options{PeriodStart: march, PeriodEnd: march.Add(time.Microsecond)})
	require.ErrorIs(t, err, workforce.ErrInvalid)

	// In the organization's time zone: a midnight in Phoenix.
	c.db.Exec(t, `INSERT INTO public.hr_productivity_settings (organization_id, time_zone) VALUES ($1, 'America/Phoenix')`, c.org)
	for _, s := range c.report(t, march, march.AddDate(0, 0, 30)) {
		require.Equal(t, time.Date(2026, 2, 28, 7, 0, 0, 0, time.UTC), s.PeriodStart.UTC())
		require.Equal(t, time.Date(2026, 3, 31, 7, 0, 0, 0, time.UTC), s.PeriodEnd.UTC())
	}
}

// A provider asked for by id gets one suppressed row whatever the reason:
// too few patients, unknown, inactive, or another organization's.
func TestProbingProvidersTellsNothing(t *testing.T) {
	t.Parallel()
	c := newClinicWithBoundary(t, 1)
	ctx := context.Background()
	few := c.db.NewMember(t, c.org, "clinician")
	c.db.Exec(t, `INSERT INTO public.pm_appointments (organization_id, site_id, chart_id, provider_id, service_type, status, starts_at, ends_at)
		VALUES ($1, $2, $3, $4, 'individual_therapy', 'completed', '2026-03-05 10:00Z', '2026-03-05 11:00Z')`,
		c.org, c.site, c.db.NewChart(t, c.org, false), few)
	inactive := c.db.NewMember(t, c.org, "clinician")
	c.db.Exec(t, `UPDATE public.pf_members SET status = 'inactive' WHERE user_id = $1`, inactive)
	orgB := c.db.NewOrg(t)
	stranger := c.db.NewMember(t, orgB, "clinician")
	march := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var answers []workforce.ProviderProductivitySummary
	for _, p := range []uuid.UUID{few, uuid.New(), inactive, stranger} {
		got, err := workforce.GetProviderProductivity(ctx, c.db.App, c.hr, c.org,
			workforce.Options{ProviderID: p, PeriodStart: march, PeriodEnd: march.AddDate(0, 1, 0)})
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.Equal(t, p, got[0].ProviderID)
		got[0].ProviderID = uuid.Nil
		answers = append(answers, got[0])
	}
	for _, a := range answers[1:] {
		require.Equal(t, answers[0], a, "every such provider answers alike")
	}
	require.True(t, answers[0].Suppressed)
	require.Nil(t, answers[0].SiteID)
}

// Every call by a member is audited, refused ones too, with a reason code;
// the cell key's secret is nobody's to read; and the privacy officer sees a
// caller's overlapping and narrowly shifted questions.
func TestEveryCallIsAuditedAndPatternsAreVisible(t *testing.T) {
	t.Parallel()
	c := newClinicWithBoundary(t, 2)
	ctx := context.Background()
	officer := c.db.NewMember(t, c.org, "privacy_officer")
	for _, period := range [][2]string{{"2026-03-01", "2026-03-02"}, {"2026-03-02", "2026-03-01"}, {"2026-03-01", "2028-03-01"},
		{"1000-01-01", "2026-03-01"}} {
		_, err := count(ctx, c.db, c.hr, `SELECT count(public.hr_productivity_request($1, $2::timestamptz, $3::timestamptz))::int`,
			c.org, period[0], period[1])
		require.NoError(t, err, period)
	}
	rows, _ := c.db.Admin.Query(ctx, `SELECT details->>'reason' FROM public.pf_audit_logs
		WHERE organization_id = $1 AND action = 'hr.productivity.denied' ORDER BY occurred_at`, c.org)
	reasons, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"period_too_short", "period_order", "period_too_long", "period_implausible"}, reasons)

	// The figures leave only under a request committed before: not without
	// one, not in the request's own transaction (a rollback would take the
	// audit row back, and with it the question's place in the budget).
	march := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	const report = `SELECT count(*)::int FROM public.get_provider_productivity($1, $2, $3)`
	n, err := count(ctx, c.db, c.hr, report, c.org, march, march.AddDate(0, 1, 0))
	require.NoError(t, err)
	require.Zero(t, n, "no request")
	tx, err := c.db.App.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, dbtx.RunTx(ctx, tx, c.hr, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT public.hr_productivity_request($1, $2, $3)`, c.org, march, march.AddDate(0, 1, 0)); err != nil {
			return err
		}
		return tx.QueryRow(ctx, report, c.org, march, march.AddDate(0, 1, 0)).Scan(&n)
	}))
	require.NoError(t, tx.Rollback(ctx))
	require.Zero(t, n, "a request of the reading transaction opens nothing")
	_, err = count(ctx, c.db, c.hr, `SELECT count(public.hr_productivity_request($1, $2, $3))::int`, c.org, march, march.AddDate(0, 1, 0))
	require.NoError(t, err)
	n, err = count(ctx, c.db, c.hr, report, c.org, march, march.AddDate(0, 1, 0))
	require.NoError(t, err)
	require.Equal(t, 2, n, "committed first, then read")

	n, err = count(ctx, c.db, c.hr, `SELECT count(*)::int FROM public.hr_cell_key_seeds`)
	require.True(t, dbtx.IsPermissionDenied(err), "the seed is nobody's to read: %v, %d", err, n)

	// Two more shifted questions by HR.
	for _, shift := range []int{1, 2} {
		c.report(t, march.AddDate(0, 0, shift), march.AddDate(0, 1, shift))
	}
	type pattern struct {
		Actor                     uuid.UUID
		Reports, Overlaps, Shifts int
	}
	var patterns []pattern
	require.NoError(t, dbtx.Run(ctx, c.db.App, officer, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT actor_user_id, reports, overlapping_pairs, shifted_pairs
			FROM public.hr_productivity_overlaps($1, now() - interval '1 hour')`, c.org)
		var err error
		patterns, err = pgx.CollectRows(rows, pgx.RowToStructByPos[pattern])
		return err
	}))
	require.Equal(t, []pattern{{c.hr, 3, 3, 3}}, patterns)
	n, err = count(ctx, c.db, c.hr, `SELECT count(*)::int FROM public.hr_productivity_overlaps($1, now() - interval '1 hour')`, c.org)
	require.NoError(t, err)
	require.Zero(t, n, "HR does not read the audit")
}

func count(ctx context.Context, db *testdb.DB, user uuid.UUID, sql string, args ...any) (int, error) {
	var n int
	err := dbtx.Run(ctx, db.App, user, func(tx pgx.Tx) error { return tx.QueryRow(ctx, sql, args...).Scan(&n) })
	return n, err
}

// Averaging out the noise needs many different questions about
// overlapping periods: one caller gets at most the organization's budget of
// them within 30 days (a question may overlap 6 earlier periods by
// default), then a typed refusal, audited; the same period asked again is
// always answered.
func TestOverlappingQuestionsHaveABudget(t *testing.T) {
	t.Parallel()
	c := newClinicWithBoundary(t, 2)
	ctx := context.Background()
	march := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	ask := func(shift int) error {
		_, err := workforce.GetProviderProductivity(ctx, c.db.App, c.hr, c.org,
			workforce.Options{PeriodStart: march.AddDate(0, 0, shift), PeriodEnd: march.AddDate(0, 1, shift)})
		return err
	}
	for shift := range 7 {
		require.NoError(t, ask(shift), "question %d", shift+1)
	}
	require.ErrorIs(t, ask(7), workforce.ErrOverlapBudget, "an eighth would overlap seven")
	require.NoError(t, ask(3), "a period asked before gets its answer again")
	var denied int
	require.NoError(t, c.db.Admin.QueryRow(ctx, `SELECT count(*) FROM public.pf_audit_logs WHERE organization_id = $1
		AND action = 'hr.productivity.denied' AND details->>'reason' = 'overlap_budget'`, c.org).Scan(&denied))
	require.Equal(t, 1, denied)
	// Another caller has a budget of their own.
	other := c.db.NewMember(t, c.org, "hr_manager")
	_, err := workforce.GetProviderProductivity(ctx, c.db.App, other, c.org,
		workforce.Options{PeriodStart: march.AddDate(0, 0, 7), PeriodEnd: march.AddDate(0, 1, 7)})
	require.NoError(t, err)
}
