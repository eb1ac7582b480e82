package telehealthgroup_test

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/billing"
	"github.com/encoreos/platform-go/platformtest"
	"github.com/encoreos/platform-go/telehealthgroup"
)

// A hybrid group from start to conclusion, with Arizona's profile: one
// attendee in the room, one on video from home, one by phone.
func ExampleClient_Conclude() {
	t := platformtest.NewT() // in a test, the test's own t
	defer t.Close()
	db := platformtest.NewDB(t)
	ctx := context.Background()
	org := db.NewOrg(t)
	facilitator := db.NewMember(t, org, "clinician")
	session := db.NewGroupSession(t, org, facilitator) // CL-14's row, the host's

	groups, err := telehealthgroup.New(db.App, nil)
	if err != nil {
		panic(err)
	}
	if _, err := groups.Configure(ctx, facilitator, telehealthgroup.ConfigureParams{
		OrganizationID: org, SessionID: session, Modality: telehealthgroup.Hybrid,
		VendorSessionRef: "vendor-81422", JurisdictionProfile: billing.ProfileArizonaAHCCCS,
	}); err != nil {
		panic(err)
	}
	for _, m := range []struct {
		mode telehealthgroup.Mode
		home bool
	}{{telehealthgroup.InPerson, false}, {telehealthgroup.Video, true}, {telehealthgroup.AudioOnly, false}} {
		a, err := groups.AddAttendee(ctx, facilitator, telehealthgroup.AttendeeParams{
			OrganizationID: org, SessionID: session, ChartID: db.NewChart(t, org, false), Mode: m.mode, AtHome: m.home})
		if err != nil {
			panic(err)
		}
		if err := groups.SetAttendance(ctx, facilitator, org, a.AttendanceID, telehealthgroup.Present, time.Time{}, time.Time{}); err != nil {
			panic(err)
		}
	}

	started, err := groups.Start(ctx, facilitator, org, session, uuid.New())
	if err != nil {
		panic(err)
	}
	fmt.Println("started:", started.EventType(), started.Modality, started.AttendeeCount, "attendees")
	concluded, err := groups.Conclude(ctx, facilitator, org, session, uuid.New(), time.Time{})
	if err != nil {
		panic(err)
	}
	fmt.Println("concluded:", concluded.Event.ParticipantCount, "present, suggested", concluded.Event.ModifierSuggestions)
	lines := map[string]int{}
	for _, a := range concluded.Attendees {
		lines[fmt.Sprint(a.Modifiers, " POS ", a.PlaceOfService)]++
	}
	fmt.Println(len(lines), "kinds of line:", lines["[95 HQ] POS 10"], "video at home,", lines["[93 HQ] POS 02"], "by phone,", lines["[HQ] POS "], "in the room")
	// Output:
	// started: cl_virtual_group_started hybrid 3 attendees
	// concluded: 3 present, suggested [95 HQ]
	// 3 kinds of line: 1 video at home, 1 by phone, 1 in the room
}
