package billing_test

import (
	"fmt"
	"time"

	"github.com/encoreos/platform-go/billing"
)

// Minutes to units: the CMS 8-minute rule, and a Medicaid program's
// per-unit threshold, for the same services.
func ExampleUnits() {
	threshold := billing.PerUnitThreshold(8)
	for _, minutes := range []int{7, 8, 22, 23, 40} {
		fmt.Println(minutes, "minutes:", billing.Units(billing.CMS8Minute, minutes, 0), "units (CMS),",
			billing.Units(threshold, minutes, 0), "units (threshold 8)")
	}
	fmt.Println("capped:", billing.Units(threshold, 600, billing.ArizonaAHCCCS.DailyUnitCaps["H0038"]))
	// Output:
	// 7 minutes: 0 units (CMS), 0 units (threshold 8)
	// 8 minutes: 1 units (CMS), 1 units (threshold 8)
	// 22 minutes: 1 units (CMS), 1 units (threshold 8)
	// 23 minutes: 2 units (CMS), 2 units (threshold 8)
	// 40 minutes: 3 units (CMS), 3 units (threshold 8)
	// capped: 16
}

// A jurisdiction profile suggests modifiers and a place of service for each
// attendee of a group, by how they took part.
func ExampleProfile_Suggest() {
	profile := billing.ArizonaAHCCCS.Clone()
	date := time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC)
	for _, s := range []billing.Service{
		{Date: date, Group: true, Delivery: billing.Video, PatientAtHome: true},
		{Date: date, Group: true, Delivery: billing.AudioOnly},
		{Date: date, Group: true, Delivery: billing.InPerson},
	} {
		got := profile.Suggest(s)
		fmt.Printf("%-10s modifiers %v, place of service %q\n", s.Delivery, got.Modifiers, got.PlaceOfService)
	}
	// Output:
	// video      modifiers [95 HQ], place of service "10"
	// audio_only modifiers [93 HQ], place of service "02"
	// in_person  modifiers [HQ], place of service ""
}

// A host's own profile is checked when it is loaded: here two rules would
// suggest both 95 and GT for one video service.
func ExampleProfile_Validate() {
	p := billing.Default.Clone()
	p.Code, p.Name = "my_payer", "My payer"
	p.Rules = append(p.Rules, billing.Rule{
		From:      time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		Delivery:  []billing.Delivery{billing.Video},
		Modifiers: []billing.Modifier{"GT"},
	})
	fmt.Println(p.Validate())
	fmt.Println(billing.Default.Clone().Validate())
	// Output:
	// billing: profile my_payer: modifiers 95 and GT would be suggested together (video, group=false, 2025-01-01)
	// <nil>
}
