package billing_test

import (
	"fmt"
	"time"

	"github.com/encoreos/platform-go/billing"
)

// Minutes to units: the CMS 8-minute rule, and a Medicaid program's
// per-unit threshold, for the same services; a daily cap (Arizona's for
// H0038 is 16 units) bounds a day's units.
func ExampleUnits() {
	threshold := billing.PerUnitThreshold(8)
	for _, minutes := range []int{7, 8, 22, 23, 40} {
		fmt.Println(minutes, "minutes:", billing.Units(billing.CMS8Minute, minutes, 0), "units (CMS),",
			billing.Units(threshold, minutes, 0), "units (threshold 8)")
	}
	fmt.Println("600 minutes, capped at 16:", billing.Units(threshold, 600, 16))
	// Output:
	// 7 minutes: 0 units (CMS), 0 units (threshold 8)
	// 8 minutes: 1 units (CMS), 1 units (threshold 8)
	// 22 minutes: 1 units (CMS), 1 units (threshold 8)
	// 23 minutes: 2 units (CMS), 2 units (threshold 8)
	// 40 minutes: 3 units (CMS), 3 units (threshold 8)
	// 600 minutes, capped at 16: 16
}

// A peer encounter's code must be billable on its date of service.
func ExampleCode_EffectiveOn() {
	serviceDate := time.Date(2026, 5, 4, 15, 30, 0, 0, time.UTC)
	for _, c := range billing.Standard() {
		fmt.Println(c.Code, c.UnitMinutes, "minutes a unit, billable:", c.EffectiveOn(serviceDate))
	}
	fmt.Println(billing.WellFormed("H0038"), billing.WellFormed("h0038; DROP"))
	// Output:
	// H0038 15 minutes a unit, billable: true
	// H2017 15 minutes a unit, billable: true
	// true false
}
