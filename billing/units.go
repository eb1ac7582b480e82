package billing

import "fmt"

// UnitsRule turns the minutes of a timed service into billable units.
type UnitsRule struct {
	// Kind selects the rule.
	Kind UnitsRuleKind
	// UnitMinutes is the length of a unit; default 15.
	UnitMinutes int
	// ThresholdMinutes is, for PerUnitThreshold, how many minutes a
	// remainder needs to count as a unit (8 = the midpoint, 15 = full units
	// only).
	ThresholdMinutes int
}

// UnitsRuleKind names a units rule.
type UnitsRuleKind string

// The units rules.
const (
	// RuleCMS8Minute: 1 unit for 8-22 minutes, 2 for 23-37, 3 for 38-52,
	// and so on; under 8 minutes bills nothing.
	RuleCMS8Minute UnitsRuleKind = "cms_8_minute"
	// RulePerUnitThreshold: each full unit counts, and a remainder counts
	// as one more unit when it reaches the threshold.
	RulePerUnitThreshold UnitsRuleKind = "per_unit_threshold"
)

// CMS8Minute is the CMS 8-minute rule for 15-minute units.
var CMS8Minute = UnitsRule{Kind: RuleCMS8Minute, UnitMinutes: 15}

// PerUnitThreshold is the per-unit rule for 15-minute units with the given
// threshold for a remainder.
func PerUnitThreshold(thresholdMinutes int) UnitsRule {
	return UnitsRule{Kind: RulePerUnitThreshold, UnitMinutes: 15, ThresholdMinutes: thresholdMinutes}
}

// Validate reports a rule that cannot be applied.
func (r UnitsRule) Validate() error {
	unit := r.unit()
	switch {
	case unit < 1:
		return fmt.Errorf("billing: a unit must last at least a minute")
	case r.Kind == RuleCMS8Minute && unit != 15:
		return fmt.Errorf("billing: the CMS 8-minute rule is defined for 15-minute units")
	case r.Kind == RuleCMS8Minute && r.ThresholdMinutes != 0:
		return fmt.Errorf("billing: the CMS 8-minute rule has no threshold setting")
	case r.Kind == RulePerUnitThreshold && (r.ThresholdMinutes < 1 || r.ThresholdMinutes > unit):
		return fmt.Errorf("billing: a threshold must be between 1 and the unit's %d minutes", unit)
	case r.Kind != RuleCMS8Minute && r.Kind != RulePerUnitThreshold:
		return fmt.Errorf("billing: unknown units rule %q", r.Kind)
	}
	return nil
}

func (r UnitsRule) unit() int {
	if r.UnitMinutes == 0 {
		return 15
	}
	return r.UnitMinutes
}

// Units returns the billable units for minutes of a timed service under
// rule, capped at dailyCap when it is positive. Negative minutes bill
// nothing. Units panics on a rule that does not Validate: rules come from
// validated profiles.
func Units(rule UnitsRule, minutes, dailyCap int) int {
	if err := rule.Validate(); err != nil {
		panic(err)
	}
	if minutes <= 0 {
		return 0
	}
	var units int
	switch rule.Kind {
	case RuleCMS8Minute:
		// 8 minutes buy the first unit; each further 15 minutes one more.
		units = (minutes + 7) / 15
	case RulePerUnitThreshold:
		unit := rule.unit()
		units = minutes / unit
		if minutes%unit >= rule.ThresholdMinutes {
			units++
		}
	}
	if dailyCap > 0 {
		units = min(units, dailyCap)
	}
	return units
}
