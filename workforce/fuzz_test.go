package workforce_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/internal/testdb"
	"github.com/encoreos/platform-go/workforce"
)

// Every parameter that reaches SQL, fuzzed: any period, site and provider
// is either refused as invalid or answered (possibly empty) — never another
// error, never rows of another organization.
func FuzzGetProviderProductivity(f *testing.F) {
	f.Add(int64(0), int64(90*24), []byte("0123456789abcdef"), []byte{}, true)
	f.Add(int64(-1e6), int64(-5), []byte("'; DROP TABLE x;"), []byte("ffffffffffffffff"), false)
	f.Add(int64(1e9), int64(9000), []byte{}, []byte("0000000000000000"), true)
	db := testdb.New(f)
	org := db.NewOrg(f)
	site := db.NewSite(f, org)
	hr := db.NewMember(f, org, "hr_manager")
	providers := []uuid.UUID{db.NewMember(f, org, "clinician")}
	generate(f, db, org, site, providers, 10, 1)
	f.Fuzz(func(t *testing.T, startHours, lengthHours int64, siteBytes, providerBytes []byte, useSite bool) {
		opts := workforce.Options{
			PeriodStart: periodStart.Add(time.Duration(startHours%1e7) * time.Hour),
			PeriodEnd:   periodStart.Add(time.Duration(startHours%1e7+lengthHours%1e5) * time.Hour),
		}
		if id, err := uuid.FromBytes(pad16(siteBytes)); err == nil && len(siteBytes) > 0 {
			opts.SiteID = id
		}
		if useSite {
			opts.SiteID = site
		}
		if id, err := uuid.FromBytes(pad16(providerBytes)); err == nil && len(providerBytes) > 0 {
			opts.ProviderID = id
		}
		got, err := workforce.GetProviderProductivity(context.Background(), db.App, hr, org, opts)
		if err != nil {
			if !errors.Is(err, workforce.ErrInvalid) && !errors.Is(err, workforce.ErrPermissionDenied) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		for _, s := range got {
			if s.OrganizationID != org {
				t.Fatalf("a row of another organization")
			}
		}
	})
}

func pad16(b []byte) []byte {
	out := make([]byte, 16)
	copy(out, b)
	return out
}
