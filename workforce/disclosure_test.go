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

// clinicWithBoundary is an organization whose providers each have, in
// January and in February, ten patients seen and sixteen who missed their
// appointment (so that every month's no-shows are published), and in
// March exactly one patient: a no-show on March 31.
type clinicWithBoundary struct {
	db        *testdb.DB
	org, site uuid.UUID
	hr        uuid.UUID
	providers []uuid.UUID
}

func newClinicWithBoundary(t *testing.T, providers int) *clinicWithBoundary {
	t.Helper()
	db := testdb.New(t)
	c := &clinicWithBoundary{db: db, org: db.NewOrg(t)}
	c.site = db.NewSite(t, c.org)
	c.hr = db.NewMember(t, c.org, "hr_manager")
	for range providers {
		p := db.NewMember(t, c.org, "clinician")
		c.providers = append(c.providers, p)
		db.Exec(t, `WITH charts AS (
				INSERT INTO public.cl_charts (organization_id) SELECT $1 FROM pg_catalog.generate_series(1, 53) RETURNING id
			), numbered AS (
				SELECT id, (row_number() OVER ())::int - 1 AS n FROM charts
			), planned AS (
				SELECT id, n = 52 AS boundary, n % 26 < 10 AS seen,
				       CASE WHEN n = 52 THEN timestamptz '2026-03-31 15:00Z'
				            ELSE timestamptz '2026-01-01 10:00Z' + (n / 26) * interval '1 month' + (n % 26) * interval '1 day' END AS t
				FROM numbered
			)
			INSERT INTO public.pm_appointments (organization_id, site_id, chart_id, provider_id, service_type, status, starts_at, ends_at)
			SELECT $1, $2, id, $3, CASE WHEN seen THEN 'individual_therapy' ELSE 'case_management' END,
			       CASE WHEN seen AND NOT boundary THEN 'completed' ELSE 'no_show' END, t, t + interval '50 minutes'
			FROM planned`, c.org, c.site, p)
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

func month(m time.Month) time.Time { return time.Date(2026, m, 1, 0, 0, 0, 0, time.UTC) }

// Extending the period by the one day that holds one patient's no-show
// asks the same question: both periods are March. Asking March alone
// shows nothing of that patient (a caseload of one is hidden, like none,
// but for the rare noise that lifts it to k).
// Subtracting January's and February's no-shows from the quarter's leaves
// the noise of three cells: across providers the estimate comes out at the
// true value (one) for fewer than half (expected 26%), spread over several
// values, and nothing tells which ones are true.
func TestDifferencingTheGridLeavesNoise(t *testing.T) {
	t.Parallel()
	c := newClinicWithBoundary(t, 40)
	march := c.report(t, month(3), month(4))
	require.Equal(t, c.report(t, month(3), month(3).AddDate(0, 0, 30)), march)
	shown := 0 // a caseload of one reaches k = 5 only by noise of +4 or more (probability 0.006)
	for _, s := range march {
		if !s.Suppressed {
			shown++
		}
	}
	require.LessOrEqual(t, shown, 3, "one patient in March: hidden")
	jan, feb, q1 := c.report(t, month(1), month(2)), c.report(t, month(2), month(3)), c.report(t, month(1), month(4))
	estimates := map[int]int{}
	for _, p := range c.providers {
		require.NotNil(t, q1[p].NoShowCount)
		require.NotNil(t, jan[p].NoShowCount)
		require.NotNil(t, feb[p].NoShowCount)
		estimates[*q1[p].NoShowCount-*jan[p].NoShowCount-*feb[p].NoShowCount]++
	}
	require.Less(t, estimates[1], len(c.providers)/2, "the true March count is not what comes back: %v", estimates)
	require.GreaterOrEqual(t, len(estimates), 3, "the estimates spread over the noise: %v", estimates)
}

// Bisecting the period end to learn when something happened: a report
// covers the smallest calendar month, quarter or year of the
// organization's time zone that holds the period asked about. Ends a
// microsecond, or weeks, apart within one month give the same period and
// the same answer; a period of a microsecond is its month; the questions
// about a year are 17, however they are asked; a period across two years
// is refused.
func TestThePeriodIsOnTheGrid(t *testing.T) {
	t.Parallel()
	c := newClinicWithBoundary(t, 2)
	a := c.report(t, month(3), time.Date(2026, 3, 31, 15, 0, 0, 0, time.UTC))
	require.Equal(t, a, c.report(t, month(3), time.Date(2026, 3, 31, 15, 0, 0, 1000, time.UTC)))
	require.Equal(t, a, c.report(t, month(3).Add(7*time.Hour), time.Date(2026, 3, 12, 23, 59, 0, 0, time.UTC)))
	require.Equal(t, a, c.report(t, month(3), month(3).Add(time.Microsecond)))
	for _, s := range a {
		require.Equal(t, month(3), s.PeriodStart.UTC())
		require.Equal(t, month(4), s.PeriodEnd.UTC())
	}
	covered := map[[2]time.Time]bool{}
	for start := month(1); start.Year() == 2026; start = start.AddDate(0, 0, 9) {
		for end := start.AddDate(0, 0, 1); end.Year() == 2026; end = end.AddDate(0, 0, 11) {
			for _, s := range c.report(t, start, end) {
				covered[[2]time.Time{s.PeriodStart.UTC(), s.PeriodEnd.UTC()}] = true
			}
		}
	}
	require.Len(t, covered, 17, "12 months, 4 quarters and the year")
	_, err := workforce.GetProviderProductivity(context.Background(), c.db.App, c.hr, c.org,
		workforce.Options{PeriodStart: time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC), PeriodEnd: time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC)})
	require.ErrorIs(t, err, workforce.ErrInvalid)

	// The grid is the organization's time zone, set before its first
	// report and never moved after (old and new answers would isolate
	// the hours between the boundaries).
	err = c.db.Admin.QueryRow(context.Background(), `INSERT INTO public.hr_productivity_settings (organization_id, time_zone)
		VALUES ($1, 'America/Phoenix') RETURNING 1`, c.org).Scan(new(int))
	require.ErrorContains(t, err, "time zone")

	// In Phoenix, March 1 at midnight UTC is still February 28, so the
	// period asked spans two months there and the report covers their
	// quarter.
	phoenix := newClinicWithBoundary(t, 1)
	phoenix.db.Exec(t, `INSERT INTO public.hr_productivity_settings (organization_id, time_zone) VALUES ($1, 'America/Phoenix')`, phoenix.org)
	for _, s := range phoenix.report(t, month(3), month(3).AddDate(0, 0, 30)) {
		require.Equal(t, time.Date(2026, 1, 1, 7, 0, 0, 0, time.UTC), s.PeriodStart.UTC())
		require.Equal(t, time.Date(2026, 4, 1, 7, 0, 0, 0, time.UTC), s.PeriodEnd.UTC())
	}
	// The first report kept the zone with the seed: deleting the setting
	// moves nothing.
	phoenix.db.Exec(t, `DELETE FROM public.hr_productivity_settings WHERE organization_id = $1`, phoenix.org)
	for _, s := range phoenix.report(t, month(3), month(3).AddDate(0, 0, 30)) {
		require.Equal(t, time.Date(2026, 1, 1, 7, 0, 0, 0, time.UTC), s.PeriodStart.UTC())
	}
}

// Equal figures say nothing of equal records: the organization's report
// and the site's cover the very same records here, yet each question and
// each figure draws its own noise, so the two agree on every figure about
// as often as chance would have it (a review showed that with one key per
// record, agreement proved that a provider had nothing elsewhere). The
// same question asked again still gets the same answer.
func TestEqualFiguresTellNothing(t *testing.T) {
	t.Parallel()
	c := newClinicWithBoundary(t, 40)
	ctx := context.Background()
	ask := func(site uuid.UUID) map[uuid.UUID]workforce.ProviderProductivitySummary {
		got, err := workforce.GetProviderProductivity(ctx, c.db.App, c.hr, c.org,
			workforce.Options{SiteID: site, PeriodStart: month(1), PeriodEnd: month(4)})
		require.NoError(t, err)
		out := map[uuid.UUID]workforce.ProviderProductivitySummary{}
		for _, s := range got {
			out[s.ProviderID] = s
		}
		return out
	}
	org, site := ask(uuid.Nil), ask(c.site)
	require.Equal(t, org, ask(uuid.Nil))
	agree := 0
	for _, p := range c.providers {
		o, s := org[p], site[p]
		if *o.ActiveCaseloadCount == *s.ActiveCaseloadCount && *o.NoShowCount == *s.NoShowCount &&
			o.SessionCountByCategory["Individual Therapy"] == s.SessionCountByCategory["Individual Therapy"] {
			agree++
		}
	}
	// Three figures agree by chance with probability about 0.34^3 = 0.04.
	require.Less(t, agree, 10, "org and site agree on all three figures for %d of %d providers", agree, len(c.providers))
}

// Every clinician is a row, and every provider without figures to publish
// answers alike: none, too few patients, unknown, inactive or another
// organization's, asked for by id or listed.
func TestProbingProvidersTellsNothing(t *testing.T) {
	t.Parallel()
	c := newClinicWithBoundary(t, 1)
	ctx := context.Background()
	// At CMS's k = 11 the noise lifts a caseload of one to k with
	// probability 5e-6 (at 5, 0.006), so that this test does not flicker.
	c.db.Exec(t, `INSERT INTO public.hr_productivity_settings (organization_id, min_cell_size) VALUES ($1, 11)`, c.org)
	few := c.db.NewMember(t, c.org, "clinician")
	c.db.Exec(t, `INSERT INTO public.pm_appointments (organization_id, site_id, chart_id, provider_id, service_type, status, starts_at, ends_at)
		VALUES ($1, $2, $3, $4, 'individual_therapy', 'completed', '2026-03-05 10:00Z', '2026-03-05 11:00Z')`,
		c.org, c.site, c.db.NewChart(t, c.org, false), few)
	idle := c.db.NewMember(t, c.org, "clinician")
	inactive := c.db.NewMember(t, c.org, "clinician")
	c.db.Exec(t, `UPDATE public.pf_members SET status = 'inactive' WHERE user_id = $1`, inactive)
	orgB := c.db.NewOrg(t)
	stranger := c.db.NewMember(t, orgB, "clinician")
	var answers []workforce.ProviderProductivitySummary
	for _, p := range []uuid.UUID{few, idle, uuid.New(), inactive, stranger} {
		got, err := workforce.GetProviderProductivity(ctx, c.db.App, c.hr, c.org,
			workforce.Options{ProviderID: p, PeriodStart: month(3), PeriodEnd: month(4)})
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

	listed := c.report(t, month(3), month(4))
	require.Equal(t, withID(listed[few], uuid.Nil), withID(listed[idle], uuid.Nil), "one patient or none: the same row")
	require.NotContains(t, listed, inactive)
	require.NotContains(t, listed, stranger)
	require.Len(t, listed, 3, "the clinicians, with or without work")
}

// Every call by a member is audited, refused ones too, with a reason code;
// the figures leave only under a committed request, which also draws the
// organization's secret seed (nobody's to read); and the privacy officer
// sees each caller's distinct and overlapping questions, whatever their
// filters.
func TestEveryCallIsAuditedAndPatternsAreVisible(t *testing.T) {
	t.Parallel()
	c := newClinicWithBoundary(t, 2)
	ctx := context.Background()
	officer := c.db.NewMember(t, c.org, "privacy_officer")
	for _, period := range [][2]string{{"2026-03-02", "2026-03-01"}, {"2026-03-01", "2028-03-01"},
		{"1000-01-01", "2026-03-01"}, {"2026-12-15", "2027-01-15"}} {
		_, err := count(ctx, c.db, c.hr, `SELECT count(public.hr_productivity_request($1, $2::timestamptz, $3::timestamptz))::int`,
			c.org, period[0], period[1])
		require.NoError(t, err, period)
	}
	rows, _ := c.db.Admin.Query(ctx, `SELECT details->>'reason' FROM public.pf_audit_logs
		WHERE organization_id = $1 AND action = 'hr.productivity.denied' ORDER BY occurred_at`, c.org)
	reasons, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"period_order", "period_too_long", "period_implausible", "period_too_long"}, reasons)

	// The figures leave only under a request committed before: not without
	// one, not in the request's own transaction (a rollback would take the
	// audit row back, and the seed it drew: fresh noise for every answer).
	seeds := func() int {
		var n int
		require.NoError(t, c.db.Admin.QueryRow(ctx, `SELECT count(*) FROM public.hr_cell_key_seeds WHERE organization_id = $1`, c.org).Scan(&n))
		return n
	}
	const report = `SELECT count(*)::int FROM public.get_provider_productivity($1, $2, $3)`
	n, err := count(ctx, c.db, c.hr, report, c.org, month(3), month(4))
	require.NoError(t, err)
	require.Zero(t, n, "no request")
	tx, err := c.db.App.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, dbtx.RunTx(ctx, tx, c.hr, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT public.hr_productivity_request($1, $2, $3)`, c.org, month(3), month(4)); err != nil {
			return err
		}
		return tx.QueryRow(ctx, report, c.org, month(3), month(4)).Scan(&n)
	}))
	require.NoError(t, tx.Rollback(ctx))
	require.Zero(t, n, "a request of the reading transaction opens nothing")
	require.Zero(t, seeds(), "nor leaves a seed")
	_, err = count(ctx, c.db, c.hr, `SELECT count(public.hr_productivity_request($1, $2, $3))::int`, c.org, month(3), month(4))
	require.NoError(t, err)
	require.Equal(t, 1, seeds())
	n, err = count(ctx, c.db, c.hr, report, c.org, month(3), month(4))
	require.NoError(t, err)
	require.Equal(t, 2, n, "committed first, then read")

	n, err = count(ctx, c.db, c.hr, `SELECT count(*)::int FROM public.hr_cell_key_seeds`)
	require.True(t, dbtx.IsPermissionDenied(err), "the seed is nobody's to read: %v, %d", err, n)

	// HR asks the quarter, March at the site, and March again: with March
	// for the organization, three distinct questions, every pair
	// overlapping.
	c.report(t, month(1), month(4))
	for range 2 {
		_, err := workforce.GetProviderProductivity(ctx, c.db.App, c.hr, c.org,
			workforce.Options{SiteID: c.site, PeriodStart: month(3), PeriodEnd: month(4)})
		require.NoError(t, err)
	}
	type pattern struct {
		Actor                       uuid.UUID
		Reports, Questions, Overlap int
	}
	var patterns []pattern
	require.NoError(t, dbtx.Run(ctx, c.db.App, officer, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT actor_user_id, reports, questions, overlapping_pairs
			FROM public.hr_productivity_overlaps($1, now() - interval '1 hour')`, c.org)
		var err error
		patterns, err = pgx.CollectRows(rows, pgx.RowToStructByPos[pattern])
		return err
	}))
	require.Equal(t, []pattern{{c.hr, 4, 3, 3}}, patterns)
	n, err = count(ctx, c.db, c.hr, `SELECT count(*)::int FROM public.hr_productivity_overlaps($1, now() - interval '1 hour')`, c.org)
	require.NoError(t, err)
	require.Zero(t, n, "HR does not read the audit")
}

func count(ctx context.Context, db *testdb.DB, user uuid.UUID, sql string, args ...any) (int, error) {
	var n int
	err := dbtx.Run(ctx, db.App, user, func(tx pgx.Tx) error { return tx.QueryRow(ctx, sql, args...).Scan(&n) })
	return n, err
}

func withID(s workforce.ProviderProductivitySummary, id uuid.UUID) workforce.ProviderProductivitySummary {
	s.ProviderID = id
	return s
}
