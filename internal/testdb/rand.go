package testdb

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Rand returns a random source for a test's randomized data, seeded from
// the clock, and logs the seed so that a failure can be replayed.
func Rand(t testing.TB) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, 0))
}

// RandomConsents records, for each reader (uuid.Nil stands for the
// organization as recipient), with a chance of one in every, a Part 2
// consent to chart's records of recordTypes, recorded by officer: for
// treatment three times in four, else for payment only (which opens no
// read), and revoked one time in four. For the equality tests on
// randomized data.
func RandomConsents(t testing.TB, db *DB, rng *rand.Rand, org, chart, officer uuid.UUID, recordTypes []string, every int,
	readers ...uuid.UUID) {
	t.Helper()
	for _, reader := range readers {
		if rng.IntN(every) != 0 {
			continue
		}
		recipient, orgRecipient := any(reader), any(nil)
		if reader == uuid.Nil {
			recipient, orgRecipient = nil, org
		}
		purpose := []string{"TREAT", "TREAT", "TREAT", "HPAYMT"}[rng.IntN(4)]
		revoked := "NULL"
		if rng.IntN(4) == 0 {
			revoked = "now()"
		}
		db.Exec(t, `INSERT INTO public.cl_part2_consents (organization_id, chart_id, disclosing_organization_id, recipient_user_id,
			recipient_organization_id, record_types, purposes, expiration_event, signed_at, signer, recorded_by, revoked_at, revoked_by)
			VALUES ($1, $2, $1, $3, $4, $5, ARRAY[$6::text], 'end_of_treatment',
			        now() - interval '1 day', 'patient', $7, `+revoked+`, CASE WHEN `+revoked+` IS NULL THEN NULL ELSE $7::uuid END)`,
			org, chart, recipient, orgRecipient, recordTypes, purpose, officer)
	}
}

// RandomChart adds a chart to org for the equality tests: Part 2 with a
// chance of one in part2Every, at one of sites or, as often as at each of
// them, at none.
func RandomChart(t testing.TB, db *DB, rng *rand.Rand, org uuid.UUID, sites []uuid.UUID, part2Every int) uuid.UUID {
	t.Helper()
	chart := db.NewChart(t, org, rng.IntN(part2Every) == 0)
	if k := rng.IntN(len(sites) + 1); k < len(sites) {
		db.Exec(t, `UPDATE public.cl_charts SET site_id = $2 WHERE id = $1`, chart, sites[k])
	}
	return chart
}

// SiteScopedReaders adds n members of org for the equality tests, each
// holding orgRole organization-wide (none when empty) and siteRole at one
// of sites only.
func SiteScopedReaders(t testing.TB, db *DB, rng *rand.Rand, org uuid.UUID, sites []uuid.UUID, n int, orgRole, siteRole string) []uuid.UUID {
	t.Helper()
	var roles []string
	if orgRole != "" {
		roles = []string{orgRole}
	}
	readers := make([]uuid.UUID, n)
	for i := range readers {
		readers[i] = db.NewMember(t, org, roles...)
		db.AddSiteRole(t, org, readers[i], sites[rng.IntN(len(sites))], siteRole)
	}
	return readers
}
