package workforcetest_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/workforce"
	"github.com/encoreos/platform-go/workforce/workforcetest"
)

// An HR service's own test gives its code the fake instead of a
// workforce.Client: the figures it should show, and a user it must not.
func ExampleReader() {
	org, provider, hr, intruder := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	notes, caseload := 42, 17
	fake := workforcetest.NewReader()
	fake.Set(org, workforce.ProviderProductivitySummary{
		ProviderID: provider, OrganizationID: org,
		NotesCompletedCount: &notes, ActiveCaseloadCount: &caseload,
	})
	fake.Deny(intruder)

	var reader workforce.Reader = fake // what the HR service depends on
	quarter := workforce.Options{
		PeriodStart: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		PeriodEnd:   time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC),
	}
	report, err := reader.GetProviderProductivity(context.Background(), hr, org, quarter)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(report), *report[0].NotesCompletedCount, *report[0].ActiveCaseloadCount)
	_, err = reader.GetProviderProductivity(context.Background(), intruder, org, quarter)
	fmt.Println(errors.Is(err, workforce.ErrPermissionDenied), fake.Calls())
	// Output:
	// 1 42 17
	// true 2
}
