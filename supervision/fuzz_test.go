package supervision

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/internal/validate"
)

func FuzzRecordParams(f *testing.F) {
	f.Add("individual_in_person", 60, "notes", int64(-86400))
	f.Add("phone'; --", -1, "\x00", int64(86400*3))
	f.Fuzz(func(t *testing.T, modality string, minutes int, notes string, offset int64) {
		p := RecordParams{OrganizationID: uuid.New(), PeerProviderID: uuid.New(), SupervisorID: uuid.New(),
			SupervisionDate: time.Now().Add(time.Duration(offset%(400*86400)) * time.Second),
			Modality:        Modality(modality), DurationMinutes: minutes, Notes: notes}
		err := p.validate(time.Now())
		if err != nil && !errors.Is(err, validate.ErrInvalid) {
			t.Fatalf("not a validation error: %v", err)
		}
		if err == nil && (!p.Modality.Valid() || minutes < 0 || minutes > 720) {
			t.Fatalf("accepted %+v", p)
		}
	})
}

func FuzzEvaluate(f *testing.F) {
	f.Add(int64(0), int64(90), 365, 60, 7, int64(-400))
	f.Fuzz(func(t *testing.T, fromDays, spanDays int64, initialDays, f2f, maxPeers int, certifiedDays int64) {
		from := date("2026-01-01").AddDate(0, 0, int(fromDays%1000))
		to := from.AddDate(0, 0, int(spanDays%800))
		rules := RuleSet{InitialPeriodDays: initialDays % 1000, InitialFrequency: Weekly, OngoingFrequency: Monthly,
			MinFaceToFaceMinutesPerWeek: f2f % 600, MaxPeersPerSupervisor: maxPeers % 50}
		if rules.Validate() != nil {
			return
		}
		s := Evaluate(Input{From: from, To: to, Rules: rules, CertifiedOn: from.AddDate(0, 0, int(certifiedDays%1000)),
			Records: []Record{rec("2026-02-03", IndividualInPerson, 60)}})
		for _, r := range s.Results {
			if r.Actual < 0 || (r.Rule == RuleFrequency && r.Actual > r.Required) {
				t.Fatalf("%+v", r)
			}
		}
	})
}
