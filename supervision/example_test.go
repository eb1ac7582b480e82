package supervision_test

import (
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/supervision"
)

// Texas-style rules: weekly supervision during the first year of
// certification, monthly after.
func ExampleEvaluate() {
	day := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	s := supervision.Evaluate(supervision.Input{
		PeerProviderID: uuid.New(),
		From:           day("2026-04-01"),
		To:             day("2026-06-30"),
		Rules:          supervision.Texas,
		CertifiedOn:    day("2024-09-01"),
		Records: []supervision.Record{
			{SupervisionDate: day("2026-04-14"), Modality: supervision.IndividualInPerson},
			{SupervisionDate: day("2026-06-02"), Modality: supervision.GroupVideo},
		},
	})
	for _, r := range s.Results {
		fmt.Println(r.Rule, r.Met, r.Actual, "of", r.Required, "months; missed", r.Missed[0].Format("January"))
	}
	// Output: frequency false 2 of 3 months; missed May
}
