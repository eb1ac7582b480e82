package workforce_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/encoreos/platform-go/platformtest"
	"github.com/encoreos/platform-go/workforce"
)

// HR asks for February's productivity: one row per active clinician, and
// a caseload too small to publish is hidden, not shown as a small number.
// A clinician may not ask.
func ExampleGetProviderProductivity() {
	t := platformtest.NewT() // in a test, the test's own t
	defer t.Close()
	db := platformtest.NewDB(t)
	ctx := context.Background()
	org := db.NewOrg(t)
	hr := db.NewMember(t, org, "hr_manager")
	clinician := db.NewMember(t, org, "clinician")

	february := workforce.Options{
		PeriodStart: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC),
		PeriodEnd:   time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
	}
	report, err := workforce.GetProviderProductivity(ctx, db.App, hr, org, february)
	if err != nil {
		panic(err)
	}
	for _, s := range report {
		fmt.Println(s.ProviderID == clinician, s.Suppressed, s.ActiveCaseloadCount == nil,
			s.PeriodStart.Format(time.DateOnly), s.PeriodEnd.Format(time.DateOnly))
	}
	_, err = workforce.GetProviderProductivity(ctx, db.App, clinician, org, february)
	fmt.Println(errors.Is(err, workforce.ErrPermissionDenied))
	// Output:
	// true true true 2026-02-01 2026-03-01
	// true
}
