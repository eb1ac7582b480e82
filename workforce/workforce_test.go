package workforce_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/internal/testdb"
	"github.com/encoreos/platform-go/workforce"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// noiseBound is how far a published count may lie from the truth in these
// tests: the perturbation is unbounded (hr_noise), and beyond 11 with
// probability 8e-7.
const noiseBound = 11

var (
	periodStart = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	periodEnd   = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
)

// expected is what a provider's figures are, computed in Go from the rows
// the generator wrote.
type expected struct {
	notes, b1, b2, b3, noShows, due int
	lagSum                          float64
	patients                        map[uuid.UUID]bool
	categories                      map[string]int
}

type world struct {
	db        *testdb.DB
	org, site uuid.UUID
	hr        uuid.UUID
	providers []uuid.UUID
	want      map[uuid.UUID]*expected
}

var serviceTypes = map[string]string{
	"individual_therapy": "Individual Therapy", "case_management": "Case Management",
	"peer_support": "Peer Support", "intake_assessment": "Assessment", "unmapped_type": "Other",
}

// generate writes notes and appointments for providers over the period,
// some outside it, and returns the expected figures.
func generate(t testing.TB, db *testdb.DB, org, site uuid.UUID, providers []uuid.UUID, perProvider int, seed uint64) map[uuid.UUID]*expected {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, seed+1))
	charts := make([]uuid.UUID, 40)
	for i := range charts {
		charts[i] = db.NewChart(t, org, false)
	}
	types := []string{"individual_therapy", "case_management", "peer_support", "intake_assessment", "unmapped_type"}
	want := map[uuid.UUID]*expected{}
	for _, p := range providers {
		e := &expected{patients: map[uuid.UUID]bool{}, categories: map[string]int{}}
		want[p] = e
		for range perProvider {
			chart := charts[rng.IntN(len(charts))]
			start := periodStart.Add(time.Duration(rng.IntN(int(periodEnd.Sub(periodStart)/time.Hour)-72)) * time.Hour)
			typ := types[rng.IntN(len(types))]
			status := []string{"completed", "completed", "completed", "no_show", "cancelled"}[rng.IntN(5)]
			db.Exec(t, `INSERT INTO public.pm_appointments (organization_id, site_id, chart_id, provider_id, service_type, status, starts_at, ends_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz, $7::timestamptz + interval '50 minutes')`, org, site, chart, p, typ, status, start)
			switch status {
			case "completed":
				e.due++
				e.patients[chart] = true
				e.categories[serviceTypes[typ]]++
				lag := time.Duration(rng.IntN(96*60)) * time.Minute
				end := start.Add(50 * time.Minute)
				db.Exec(t, `INSERT INTO public.cl_progress_notes (organization_id, site_id, chart_id, author_id, session_start, session_end, status, finalized_at)
					VALUES ($1, $2, $3, $4, $5, $6, 'signed', $7)`, org, site, chart, p, start, end, end.Add(lag))
				if end.Add(lag).Before(periodEnd) {
					e.notes++
					e.lagSum += min(lag.Hours(), 72) // capped, as hr_lag_cap
					switch h := lag.Hours(); {
					case h < 24:
						e.b1++
					case h <= 48:
						e.b2++
					default:
						e.b3++
					}
				}
			case "no_show":
				e.due++
				e.noShows++
				e.patients[chart] = true
			}
		}
		// Outside the period: never counted.
		db.Exec(t, `INSERT INTO public.pm_appointments (organization_id, site_id, chart_id, provider_id, service_type, status, starts_at, ends_at)
			VALUES ($1, $2, $3, $4, 'individual_therapy', 'completed', $5::timestamptz, $5::timestamptz + interval '1 hour')`, org, site, charts[0], p, periodStart.AddDate(0, -1, 0))
	}
	_, err := db.Admin.Exec(ctx, `ANALYZE`)
	require.NoError(t, err)
	return want
}

func newWorld(t testing.TB, providers, perProvider int) *world {
	t.Helper()
	db := testdb.New(t)
	org := db.NewOrg(t)
	w := &world{db: db, org: org, site: db.NewSite(t, org), hr: db.NewMember(t, org, "hr_manager")}
	for range providers {
		p := db.NewMember(t, org)
		db.AddSiteRole(t, org, p, w.site, "clinician")
		w.providers = append(w.providers, p)
	}
	w.want = generate(t, db, org, w.site, w.providers, perProvider, 42)
	return w
}

func (w *world) get(t testing.TB, user uuid.UUID, opts workforce.Options) ([]workforce.ProviderProductivitySummary, error) {
	t.Helper()
	if opts.PeriodStart.IsZero() {
		opts.PeriodStart, opts.PeriodEnd = periodStart, periodEnd
	}
	return workforce.GetProviderProductivity(context.Background(), w.db.App, user, w.org, opts)
}

func deref(p *int) int {
	if p == nil {
		return -1
	}
	return *p
}

// Aggregates match the source rows, computed independently in Go, within
// the published noise: every count within 11 of the truth (the cell key's
// perturbation is unbounded, SD 1.1; beyond 11 with probability 1e-6), the
// average of the capped lags within 13 hours
// (four steps of one hour with this many notes, then rounding), the rate
// computed from the published counts; the site is the clinician's role's.
func TestAggregatesMatchTheSourceData(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 4, 120)
	got, err := w.get(t, w.hr, workforce.Options{})
	require.NoError(t, err)
	require.Len(t, got, 4)
	near := func(want int, got *int, what string) {
		t.Helper()
		require.NotNil(t, got, what)
		require.InDelta(t, want, *got, noiseBound, what)
	}
	for _, s := range got {
		e := w.want[s.ProviderID]
		require.NotNil(t, e)
		require.False(t, s.Suppressed)
		require.Equal(t, w.site, *s.SiteID, "the provider's own site")
		near(len(e.patients), s.ActiveCaseloadCount, "caseload")
		near(e.notes, s.NotesCompletedCount, "notes")
		weeks := periodEnd.Sub(periodStart).Hours() / (24 * 7)
		require.InDelta(t, float64(*s.NotesCompletedCount)/weeks, *s.NotesCompletedPerWeek, 0.05, "per week, from the published count")
		near(e.noShows, s.NoShowCount, "no-shows")
		require.InDelta(t, e.lagSum/float64(e.notes), *s.AvgDocumentationLagHours, 13, "lag")
		require.InDelta(t, float64(e.noShows)/float64(e.due), *s.NoShowRate, 0.15)
		near(e.b1, s.DocumentationTimeliness.Under24h, "under 24 h")
		near(e.b2, s.DocumentationTimeliness.From24To48h, "24 to 48 h")
		near(e.b3, s.DocumentationTimeliness.Over48h, "over 48 h")
		require.Len(t, s.SessionCountByCategory, len(e.categories))
		for category, n := range s.SessionCountByCategory {
			require.NotContains(t, serviceTypes, category, "a raw service type never appears")
			require.InDelta(t, e.categories[category], n, noiseBound, category)
		}
	}
	// The same question gets the same answer: the noise is the records'.
	again, err := w.get(t, w.hr, workforce.Options{})
	require.NoError(t, err)
	require.Equal(t, got, again)
}

func TestPermissionIsRequiredAndEveryCallIsAudited(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2, 30)
	ctx := context.Background()
	clinician := w.providers[0]
	_, err := w.get(t, clinician, workforce.Options{})
	require.ErrorIs(t, err, workforce.ErrPermissionDenied)
	_, err = w.get(t, w.hr, workforce.Options{ProviderID: w.providers[1]})
	require.NoError(t, err)

	type audit struct {
		Action string
		Actor  uuid.UUID
		Reason *string
	}
	rows, err := w.db.Admin.Query(ctx, `SELECT action, actor_user_id, details->>'reason' FROM public.pf_audit_logs
		WHERE action LIKE 'hr.productivity.%' ORDER BY occurred_at`)
	require.NoError(t, err)
	var got []audit
	for rows.Next() {
		var a audit
		require.NoError(t, rows.Scan(&a.Action, &a.Actor, &a.Reason))
		got = append(got, a)
	}
	noPermission := "no_permission"
	require.Equal(t, []audit{{"hr.productivity.denied", clinician, &noPermission}, {"hr.productivity.viewed", w.hr, nil}}, got)
}

func TestOrganizationsAndSitesAreIsolated(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2, 40)
	ctx := context.Background()
	// Another organization's data in the same tables.
	orgB := w.db.NewOrg(t)
	providerB := w.db.NewMember(t, orgB, "clinician")
	generate(t, w.db, orgB, w.db.NewSite(t, orgB), []uuid.UUID{providerB}, 40, 7)
	got, err := w.get(t, w.hr, workforce.Options{})
	require.NoError(t, err)
	for _, s := range got {
		require.NotEqual(t, providerB, s.ProviderID)
		require.Equal(t, w.org, s.OrganizationID)
	}
	_, err = workforce.GetProviderProductivity(ctx, w.db.App, w.hr, orgB, workforce.Options{PeriodStart: periodStart, PeriodEnd: periodEnd})
	require.ErrorIs(t, err, workforce.ErrPermissionDenied)

	// Site isolation: data at another site of the same organization.
	siteB := w.db.NewSite(t, w.org)
	other := w.db.NewMember(t, w.org)
	w.db.AddSiteRole(t, w.org, other, siteB, "clinician")
	generate(t, w.db, w.org, siteB, []uuid.UUID{other}, 40, 9)
	got, err = w.get(t, w.hr, workforce.Options{SiteID: w.site})
	require.NoError(t, err)
	require.Len(t, got, len(w.providers))
	for _, s := range got {
		require.NotEqual(t, other, s.ProviderID, "site A never sees site B")
		require.Equal(t, w.site, *s.SiteID)
	}
	// In the organization's report, the site-B clinician's own site is
	// their role's.
	got, err = w.get(t, w.hr, workforce.Options{ProviderID: other})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, siteB, *got[0].SiteID)
	// HR at site A only: site A yes, site B and the whole organization no.
	siteHR := w.db.NewMember(t, w.org)
	w.db.AddSiteRole(t, w.org, siteHR, w.site, "hr_manager")
	_, err = w.get(t, siteHR, workforce.Options{SiteID: w.site})
	require.NoError(t, err)
	_, err = w.get(t, siteHR, workforce.Options{SiteID: siteB})
	require.ErrorIs(t, err, workforce.ErrPermissionDenied)
	_, err = w.get(t, siteHR, workforce.Options{})
	require.ErrorIs(t, err, workforce.ErrPermissionDenied)
}

// Publication, checked as invariants over many generated providers with
// small figures, at k = 5 and 11: a published count is at least k and
// within the noise of the truth; a hidden one could be anything under k plus the noise,
// zero included, so hidden tells neither zero nor small; a provider whose
// caseload is hidden has every figure hidden; derived figures come only
// from published ones.
func TestNoSuppressedValueCanBeDerived(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	org := db.NewOrg(t)
	site := db.NewSite(t, org)
	hr := db.NewMember(t, org, "hr_manager")
	var providers []uuid.UUID
	for range 30 {
		providers = append(providers, db.NewMember(t, org, "clinician"))
	}
	// Few sessions each, so that many cells are small.
	want := generate(t, db, org, site, providers, 9, 3)
	for _, k := range []int{5, 11} {
		db.Exec(t, `INSERT INTO public.hr_productivity_settings (organization_id, min_cell_size) VALUES ($1, $2)
			ON CONFLICT (organization_id) DO UPDATE SET min_cell_size = EXCLUDED.min_cell_size`, org, k)
		got, err := workforce.GetProviderProductivity(context.Background(), db.App, hr, org, workforce.Options{PeriodStart: periodStart, PeriodEnd: periodEnd})
		require.NoError(t, err)
		require.Len(t, got, len(providers), "every clinician is a row")
		var hiddenZero, hiddenSmall, shownBelowK bool
		cell := func(truth int, published *int, what string) {
			t.Helper()
			if published == nil {
				require.Less(t, truth, k+noiseBound, "k=%d %s: hidden only when the perturbed count is under k", k, what)
				hiddenZero = hiddenZero || truth == 0
				hiddenSmall = hiddenSmall || (truth > 0 && truth < k)
				return
			}
			require.GreaterOrEqual(t, *published, k, "k=%d %s", k, what)
			require.InDelta(t, truth, *published, noiseBound, "k=%d %s", k, what)
			shownBelowK = shownBelowK || truth < k
		}
		for _, s := range got {
			e := want[s.ProviderID]
			cell(len(e.patients), s.ActiveCaseloadCount, "caseload")
			if s.Suppressed {
				require.Nil(t, s.ActiveCaseloadCount)
				require.Nil(t, s.SiteID)
				require.Equal(t, workforce.ProviderProductivitySummary{ProviderID: s.ProviderID, OrganizationID: org,
					PeriodStart: s.PeriodStart, PeriodEnd: s.PeriodEnd, Suppressed: true}, s, "every figure hidden")
				continue
			}
			cell(e.notes, s.NotesCompletedCount, "notes")
			cell(e.noShows, s.NoShowCount, "no-shows")
			cell(e.b1, s.DocumentationTimeliness.Under24h, "under 24 h")
			cell(e.b2, s.DocumentationTimeliness.From24To48h, "24 to 48 h")
			cell(e.b3, s.DocumentationTimeliness.Over48h, "over 48 h")
			for category, n := range e.categories {
				published, ok := s.SessionCountByCategory[category]
				if ok {
					cell(n, &published, category)
				} else {
					cell(n, nil, category)
				}
			}
			require.Equal(t, s.NotesCompletedCount == nil, s.NotesCompletedPerWeek == nil, "per week from the published count")
			require.Equal(t, s.NotesCompletedCount == nil, s.AvgDocumentationLagHours == nil, "the lag over published notes")
			if s.AvgDocumentationLagHours != nil {
				require.Equal(t, float64(int(*s.AvgDocumentationLagHours)), *s.AvgDocumentationLagHours, "whole hours")
			}
			if s.NoShowRate != nil {
				require.NotNil(t, s.NoShowCount, "the rate from published figures")
			}
		}
		require.True(t, hiddenSmall, "k=%d: small cells are hidden", k)
		require.True(t, hiddenZero || k == 11, "k=%d: so are empty ones (at 11 every provider here is suppressed)", k)
		require.True(t, shownBelowK || k == 11, "k=%d: a count under k may be shown, perturbed to k or more", k)
	}
}

func TestBadParameters(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, 5)
	for _, o := range []workforce.Options{
		{PeriodStart: periodEnd, PeriodEnd: periodStart},
		{PeriodStart: periodStart, PeriodEnd: periodStart.AddDate(1, 0, 2)},
		{PeriodStart: periodStart},
		{PeriodStart: time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC), PeriodEnd: time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC)},
		{PeriodStart: time.Date(-5000, 1, 1, 0, 0, 0, 0, time.UTC), PeriodEnd: periodStart},
		{PeriodStart: periodStart, PeriodEnd: time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		_, err := workforce.GetProviderProductivity(context.Background(), w.db.App, w.hr, w.org, o)
		require.ErrorIs(t, err, workforce.ErrInvalid)
	}
	_, err := workforce.GetProviderProductivity(context.Background(), w.db.App, w.hr, uuid.Nil, workforce.Options{PeriodStart: periodStart, PeriodEnd: periodEnd})
	require.ErrorIs(t, err, workforce.ErrInvalid)
	_, err = workforce.GetProviderProductivity(context.Background(), w.db.App, uuid.Nil, w.org, workforce.Options{PeriodStart: periodStart, PeriodEnd: periodEnd})
	require.ErrorIs(t, err, workforce.ErrNoActingUser)
}

// The auditor's lineage query (docs/productivity-lineage.sql) traces a
// provider's figures to the very notes and appointments they come from: run
// with psql, it finds exactly the rows the expected figures were counted
// from.
func TestLineageQueryTracesTheFigures(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1, 60)
	psql, err := exec.LookPath("psql")
	require.NoError(t, err, "psql runs the lineage query (Debian: apt-get install postgresql-client)")
	cfg := w.db.Admin.Config().ConnConfig
	p := w.providers[0]
	cmd := exec.Command(psql, "-X", "-A", "-t", "-F", "|", "-v", "ON_ERROR_STOP=1",
		"-v", "org="+w.org.String(), "-v", "provider="+p.String(), "-v", "site=",
		"-v", "start="+periodStart.Format(time.RFC3339), "-v", "end="+periodEnd.Format(time.RFC3339),
		"-f", filepath.Join("..", "docs", "productivity-lineage.sql"))
	cmd.Env = append(os.Environ(), "PGHOST="+cfg.Host, fmt.Sprintf("PGPORT=%d", cfg.Port), "PGUSER="+cfg.User,
		"PGPASSWORD="+cfg.Password, "PGDATABASE="+cfg.Database)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	var notes, noShows, due int
	patients := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		switch f[0] {
		case "note":
			notes++
			patients[f[2]] = true
		case "appointment":
			switch f[4] {
			case "no_show":
				noShows++
				due++
				patients[f[2]] = true
			case "completed":
				due++
				patients[f[2]] = true
			}
		}
	}
	e := w.want[p]
	require.Equal(t, e.notes, notes)
	require.Equal(t, e.noShows, noShows)
	require.Equal(t, e.due, due)
	require.Len(t, patients, len(e.patients))
}
