package supervision

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func rec(d string, m Modality, minutes int) Record {
	r := Record{SupervisionDate: date(d), Modality: m}
	if minutes > 0 {
		r.DurationMinutes = &minutes
	}
	return r
}

// Texas: weekly during the initial certification period, monthly after.
func TestFrequencyAcrossThePhases(t *testing.T) {
	// 2026-03-02 is a Monday. Certified 2025-03-16: the initial year ends
	// on 2026-03-16 (the first ongoing day).
	in := Input{
		From: date("2026-03-02"), To: date("2026-05-31"), Rules: Texas, CertifiedOn: date("2025-03-16"),
		Records: []Record{
			rec("2026-03-03", Phone, 0),              // week of 03-02
			rec("2026-03-12", IndividualVideo, 30),   // week of 03-09
			rec("2026-04-20", GroupInPerson, 60),     // April
			rec("2026-05-05", IndividualInPerson, 0), // May
		},
	}
	s := Evaluate(in)
	require.Len(t, s.Results, 1)
	res := s.Results[0]
	// Weeks of 03-02 and 03-09 (initial), then the months April and May
	// (ongoing; March as a whole is not inside the period).
	require.Equal(t, Result{Rule: RuleFrequency, Met: true, Required: 4, Actual: 4}, res)

	in.Records = in.Records[1:] // the week of 03-02 had none
	res = Evaluate(in).Results[0]
	require.False(t, res.Met)
	require.Equal(t, []time.Time{date("2026-03-02")}, res.Missed)
	require.Equal(t, 4, res.Required)
	require.Equal(t, 3, res.Actual)

	// Without a certification date the initial frequency applies throughout.
	in.CertifiedOn = time.Time{}
	res = Evaluate(in).Results[0]
	require.Equal(t, 13, res.Required, "13 whole weeks from 03-02 to 05-31")
}

// The switch from weekly to monthly never judges a day twice.
func TestPhaseSwitchDoesNotOverlap(t *testing.T) {
	in := Input{From: date("2026-03-01"), To: date("2026-04-30"), Rules: Texas, CertifiedOn: date("2025-03-16"),
		Records: []Record{rec("2026-03-03", Phone, 0), rec("2026-03-10", Phone, 0), rec("2026-04-10", Phone, 0)}}
	res := Evaluate(in).Results[0]
	// Weeks of 03-02 and 03-09 (initial), March skipped (it began in the
	// initial phase), April (ongoing).
	require.Equal(t, Result{Rule: RuleFrequency, Met: true, Required: 3, Actual: 3}, res)

	// The initial period ends on a Wednesday: the week of 03-16 is still
	// judged weekly, March is not judged again.
	in.CertifiedOn = date("2025-03-18")
	in.Records = append(in.Records, rec("2026-03-17", Phone, 0))
	res = Evaluate(in).Results[0]
	require.Equal(t, Result{Rule: RuleFrequency, Met: true, Required: 4, Actual: 4}, res)
}

// District of Columbia: an hour face to face each week, seven peers at most
// per supervisor.
func TestFaceToFaceMinutesAndPeersPerSupervisor(t *testing.T) {
	sup1, sup2 := uuid.New(), uuid.New()
	in := Input{
		From: date("2026-03-01"), To: date("2026-03-22"), Rules: DistrictOfColumbia, // a Sunday to a Sunday
		Records: []Record{
			rec("2026-03-02", IndividualInPerson, 45), rec("2026-03-04", GroupInPerson, 15), // week of 03-02: 60
			rec("2026-03-10", IndividualVideo, 90),                                         // video does not count by default: week of 03-09 has 0
			rec("2026-03-16", IndividualInPerson, 0), rec("2026-03-17", GroupInPerson, 75), // no duration counts 0; 75
		},
		PeersPerSupervisor: map[uuid.UUID]int{sup1: 7, sup2: 9},
	}
	s := Evaluate(in)
	require.Len(t, s.Results, 2)
	f2f := s.Results[0]
	require.Equal(t, RuleFaceToFace, f2f.Rule)
	require.False(t, f2f.Met)
	require.Equal(t, []time.Time{date("2026-03-09")}, f2f.Missed)
	require.Equal(t, 60, f2f.Required)
	require.Equal(t, 0, f2f.Actual)
	caps := s.Results[1]
	require.Equal(t, Result{Rule: RuleMaxPeersPerSupe, Met: false, Required: 7, Actual: 9, OverCap: []uuid.UUID{sup2}}, caps)

	// A rule set that counts video as face to face.
	in.Rules.FaceToFace = []Modality{IndividualInPerson, GroupInPerson, IndividualVideo}
	in.PeersPerSupervisor = map[uuid.UUID]int{sup1: 7}
	s = Evaluate(in)
	require.True(t, s.Results[0].Met)
	require.Equal(t, 60, s.Results[0].Actual)
	require.True(t, s.Results[1].Met)
}

func TestRuleSetsAreValidated(t *testing.T) {
	require.NoError(t, Texas.Validate())
	require.NoError(t, DistrictOfColumbia.Validate())
	require.NoError(t, RuleSet{}.Validate())
	for _, bad := range []RuleSet{
		{InitialPeriodDays: 365},                   // no frequency for it
		{InitialFrequency: Weekly},                 // no period
		{OngoingFrequency: "fortnightly"},          // unknown
		{MaxPeersPerSupervisor: -1},                // negative
		{FaceToFace: []Modality{"carrier_pigeon"}}, // unknown modality
		{MinFaceToFaceMinutesPerWeek: 8 * 24 * 60}, // more than a week
	} {
		require.Error(t, bad.Validate(), "%+v", bad)
	}
}
