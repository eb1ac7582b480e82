package consent_test

import (
	"context"
	"fmt"
	"time"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/platformtest"
)

// A clinician asks before displaying a Part 2 chart's progress notes: denied
// until the patient's consent is recorded, denied again once it is revoked.
func ExampleClient_Check() {
	t := platformtest.NewT() // in a test, the test's own t
	defer t.Close()
	db := platformtest.NewDB(t)
	ctx := context.Background()
	org := db.NewOrg(t)
	officer := db.NewMember(t, org, "privacy_officer")
	clinician := db.NewMember(t, org, "clinician")
	chart := db.NewChart(t, org, true)

	store, err := consent.New(db.App, nil)
	if err != nil {
		panic(err)
	}
	ask := func() {
		d, err := store.Check(ctx, consent.Request{
			ActingUser: clinician,
			ChartID:    chart,
			RecordType: consent.RecordProgressNote,
			Purpose:    consent.PurposeTreatment,
			Use:        consent.UseDisplay,
		})
		if err != nil {
			panic(err)
		}
		fmt.Println(d.Allowed, d.Basis)
	}

	ask()
	c, err := store.Grant(ctx, officer, consent.GrantParams{
		OrganizationID: org,
		ChartID:        chart,
		Recipient:      consent.Recipient{UserID: clinician},
		RecordTypes:    []consent.RecordType{consent.RecordProgressNote},
		Purposes:       []consent.Purpose{consent.PurposeTreatment},
		ExpiresAt:      time.Now().AddDate(1, 0, 0),
		SignedAt:       time.Now(),
		Signer:         consent.SignerPatient,
	})
	if err != nil {
		panic(err)
	}
	ask()
	if _, err := store.Revoke(ctx, officer, org, c.ID); err != nil {
		panic(err)
	}
	ask()
	// Output:
	// false denied
	// true consent
	// false denied
}

// Medical-emergency access (42 CFR 2.51): needs a reason, ends on its own,
// and is always audited.
func ExampleClient_BreakGlass() {
	t := platformtest.NewT() // in a test, the test's own t
	defer t.Close()
	db := platformtest.NewDB(t)
	ctx := context.Background()
	org := db.NewOrg(t)
	clinician := db.NewMember(t, org, "clinician")
	chart := db.NewChart(t, org, true)
	store, err := consent.New(db.App, nil)
	if err != nil {
		panic(err)
	}

	_, err = store.BreakGlass(ctx, clinician, consent.BreakGlassParams{ChartID: chart})
	fmt.Println(err)

	access, err := store.BreakGlass(ctx, clinician, consent.BreakGlassParams{
		ChartID:  chart,
		Reason:   "patient unresponsive on arrival at the emergency department",
		Duration: 30 * time.Minute,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(access.ExpiresAt.Sub(access.StartedAt))
	d, _ := store.Check(ctx, consent.Request{ActingUser: clinician, ChartID: chart, RecordType: consent.RecordProgressNote})
	fmt.Println(d.Allowed, d.Basis)
	// Output:
	// invalid input: Reason is required
	// 30m0s
	// true emergency
}
