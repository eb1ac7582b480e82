package multiparty_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/encoreos/platform-go/multiparty"
	"github.com/encoreos/platform-go/platformtest"
)

// A family session on video and in the room: the patient (by chart), a
// parent, an interpreter and a colleague (by codes and ids, never names).
// Only users allowed to see the encounter find it.
func ExampleClient_Create() {
	t := platformtest.NewT() // in a test, the test's own t
	defer t.Close()
	db := platformtest.NewDB(t)
	ctx := context.Background()
	org := db.NewOrg(t)
	clinician := db.NewMember(t, org, "clinician")
	colleague := db.NewMember(t, org, "clinician")
	hr := db.NewMember(t, org, "hr_manager")
	chart := db.NewChart(t, org, false)

	encounters, err := multiparty.New(db.App, nil)
	if err != nil {
		panic(err)
	}
	e, err := encounters.Create(ctx, clinician, multiparty.CreateParams{
		OrganizationID:        org,
		Kind:                  multiparty.Family,
		Modality:              multiparty.Hybrid,
		PMTelehealthSessionID: db.NewTelehealthSession(t, org),
		LeadClinicianID:       clinician,
		StartedAt:             time.Now().Add(-time.Hour),
		Participants: []multiparty.ParticipantParams{
			{Kind: multiparty.Patient, ChartID: chart},
			{Kind: multiparty.FamilySupport, RoleCode: "parent"},
			{Kind: multiparty.InterpreterPerson, Language: "es"},
			{Kind: multiparty.Staff, MemberUserID: colleague},
		},
	})
	if err != nil {
		panic(err)
	}
	var withChart []string
	for _, p := range e.Participants {
		if p.ChartID != nil {
			withChart = append(withChart, string(p.Kind))
		}
	}
	fmt.Println(len(e.Participants), "participants; with a chart:", withChart)
	_, err = encounters.Get(ctx, hr, org, e.ID)
	fmt.Println("HR:", errors.Is(err, multiparty.ErrNotFound))
	// Output:
	// 4 participants; with a chart: [patient]
	// HR: true
}
