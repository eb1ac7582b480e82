package billing

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Every boundary minute of the CMS 8-minute rule (domain.md): 1 unit for
// 8-22 minutes, 2 for 23-37, 3 for 38-52, 4 for 53-67, then one more per 15.
func TestCMS8MinuteRuleAtEveryBoundary(t *testing.T) {
	want := func(m int) int {
		switch {
		case m < 8:
			return 0
		case m <= 22:
			return 1
		case m <= 37:
			return 2
		case m <= 52:
			return 3
		case m <= 67:
			return 4
		}
		return 4 + (m-53)/15
	}
	for m := -1; m <= 240; m++ {
		require.Equal(t, want(m), Units(CMS8Minute, m, 0), "%d minutes", m)
	}
	for m, u := range map[int]int{7: 0, 8: 1, 22: 1, 23: 2, 37: 2, 38: 3, 52: 3, 53: 4, 67: 4, 68: 5, 82: 5, 83: 6} {
		require.Equal(t, u, Units(CMS8Minute, m, 0), "%d minutes", m)
	}
}

func TestPerUnitThresholdAtEveryBoundary(t *testing.T) {
	for _, threshold := range []int{1, 8, 14, 15} {
		rule := PerUnitThreshold(threshold)
		for m := 0; m <= 240; m++ {
			want := m / 15
			if m%15 >= threshold {
				want++
			}
			require.Equal(t, want, Units(rule, m, 0), "threshold %d, %d minutes", threshold, m)
		}
	}
	full := PerUnitThreshold(15)
	require.Equal(t, 0, Units(full, 14, 0))
	require.Equal(t, 1, Units(full, 15, 0))
	require.Equal(t, 1, Units(full, 29, 0))
	require.Equal(t, 2, Units(full, 30, 0))
	mid := PerUnitThreshold(8)
	require.Equal(t, 0, Units(mid, 7, 0))
	require.Equal(t, 1, Units(mid, 8, 0))
	require.Equal(t, 1, Units(mid, 22, 0))
	require.Equal(t, 2, Units(mid, 23, 0))
}

func TestDailyCap(t *testing.T) {
	// e.g. one New Jersey Medicaid plan caps H0038 at 16 units a day.
	require.Equal(t, 16, Units(CMS8Minute, 8*60, 16))
	require.Equal(t, 2, Units(CMS8Minute, 30, 16))
}

func TestRulesAreValidated(t *testing.T) {
	for _, bad := range []UnitsRule{
		{Kind: "hourly"},
		{Kind: RuleCMS8Minute, UnitMinutes: 30},
		{Kind: RuleCMS8Minute, ThresholdMinutes: 8},
		PerUnitThreshold(0),
		PerUnitThreshold(16),
		{Kind: RulePerUnitThreshold, UnitMinutes: -1, ThresholdMinutes: 1},
	} {
		require.Error(t, bad.Validate(), "%+v", bad)
		require.Panics(t, func() { Units(bad, 30, 0) })
	}
	require.NoError(t, CMS8Minute.Validate())
}

func TestStandardCodes(t *testing.T) {
	for _, c := range Standard() {
		require.True(t, WellFormed(c.Code))
		require.Equal(t, 15, c.UnitMinutes)
		require.True(t, c.EffectiveOn(c.EffectiveFrom))
	}
	require.False(t, WellFormed("h0038"))
	require.False(t, WellFormed("H0038; DROP"))
}

func FuzzUnits(f *testing.F) {
	f.Add(37, 8, 0)
	f.Fuzz(func(t *testing.T, minutes, threshold, dailyCap int) {
		for _, rule := range []UnitsRule{CMS8Minute, PerUnitThreshold(threshold)} {
			if rule.Validate() != nil {
				continue
			}
			u := Units(rule, minutes, dailyCap)
			if u < 0 || (dailyCap > 0 && u > dailyCap) || (minutes > 0 && u > minutes/rule.unit()+1) {
				t.Fatalf("%+v: %d minutes -> %d units", rule, minutes, u)
			}
		}
	})
}
