package consenttest_test

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/consent/consenttest"
)

// A host's test of code that asks a consent.Checker before it exports a
// note gives it the fake, arranges charts and consents, and checks the
// answers and what was asked.
func ExampleChecker() {
	part2, plain := uuid.New(), uuid.New()
	clinician := uuid.New()
	fake := consenttest.NewChecker()
	fake.AddChart(part2, true)
	fake.AddChart(plain, false)

	var checker consent.Checker = fake // what the host's code depends on
	ask := func(chart uuid.UUID) consent.Decision {
		d, err := checker.Check(context.Background(), consent.Request{
			ActingUser: clinician, ChartID: chart, RecordType: consent.RecordProgressNote,
			Purpose: consent.PurposeTreatment, Use: consent.UseExport,
		})
		if err != nil {
			panic(err)
		}
		return d
	}
	fmt.Println(ask(plain).Allowed, ask(part2).Allowed)
	fake.Grant(part2, clinician, consent.RecordProgressNote)
	fmt.Println(ask(part2).Allowed, ask(part2).Basis)
	fake.Revoke(part2, clinician)
	fmt.Println(ask(part2).Allowed, len(fake.Requests()), "requests")
	// Output:
	// true false
	// true consent
	// false 5 requests
}
