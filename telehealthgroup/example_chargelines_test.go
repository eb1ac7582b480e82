package telehealthgroup_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/billing"
	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/platformtest"
	"github.com/encoreos/platform-go/telehealthgroup"
)

// A hybrid group under Arizona's profile, and the charge lines PM-07
// receives through the relay: eight attendees, three in the room (one
// leaves at minute 60), one at home who switches from video to audio only
// at minute 40, one whose connection drops for 15 minutes, one by phone,
// and two remote Part 2 patients, only one of whom consented to disclosure
// for payment.
func ExampleClient_SwitchMode() {
	tb := platformtest.NewT() // in a test, the test's own t
	defer tb.Close()
	db := platformtest.NewDB(tb)
	ctx := context.Background()
	org := db.NewOrg(tb)
	facilitator := db.NewMember(tb, org, "clinician")
	officer := db.NewMember(tb, org, "privacy_officer")
	session := db.NewGroupSession(tb, org, facilitator) // the host's CL-14 session
	check := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	groups, err := telehealthgroup.New(db.App, nil)
	check(err)
	_, err = groups.Configure(ctx, facilitator, telehealthgroup.ConfigureParams{OrganizationID: org, SessionID: session,
		Modality: telehealthgroup.Hybrid, JurisdictionProfile: billing.ProfileArizonaAHCCCS})
	check(err)

	// The two Part 2 patients consented to group participation; one also to
	// disclosure for payment.
	consents, err := consent.New(db.App, nil)
	check(err)
	grant := func(chart uuid.UUID, purpose consent.Purpose, types ...consent.RecordType) {
		_, err := consents.Grant(ctx, officer, consent.GrantParams{OrganizationID: org, ChartID: chart,
			Recipient: consent.Recipient{OrganizationID: org}, RecordTypes: types, Purposes: []consent.Purpose{purpose},
			ExpirationEvent: "end_of_treatment", SignedAt: time.Now(), Signer: consent.SignerPatient})
		check(err)
	}
	payable, unpayable := db.NewChart(tb, org, true), db.NewChart(tb, org, true)
	for _, chart := range []uuid.UUID{payable, unpayable} {
		grant(chart, consent.PurposeTreatment, consent.RecordVirtualGroupParticipation, consent.RecordGroupSession)
	}
	grant(payable, consent.PurposePayment, consent.RecordGroupSession)

	attendees := []struct {
		name  string
		chart uuid.UUID
		mode  telehealthgroup.Mode
		home  bool
		id    uuid.UUID
	}{
		{"room 1", db.NewChart(tb, org, false), telehealthgroup.InPerson, false, uuid.Nil},
		{"room 2", db.NewChart(tb, org, false), telehealthgroup.InPerson, false, uuid.Nil},
		{"room 3, left at 60", db.NewChart(tb, org, false), telehealthgroup.InPerson, false, uuid.Nil},
		{"home, video then audio", db.NewChart(tb, org, false), telehealthgroup.Video, true, uuid.Nil},
		{"office video, dropped 15", db.NewChart(tb, org, false), telehealthgroup.Video, false, uuid.Nil},
		{"phone", db.NewChart(tb, org, false), telehealthgroup.AudioOnly, false, uuid.Nil},
		{"Part 2, consented to payment", payable, telehealthgroup.Video, true, uuid.Nil},
		{"Part 2, no payment consent", unpayable, telehealthgroup.Video, true, uuid.Nil},
	}
	names := map[uuid.UUID]string{}
	for i, a := range attendees {
		added, err := groups.AddAttendee(ctx, facilitator, telehealthgroup.AttendeeParams{OrganizationID: org, SessionID: session,
			ChartID: a.chart, Mode: a.mode, AtHome: a.home})
		check(err)
		attendees[i].id = added.AttendanceID
		names[added.AttendanceID] = a.name
	}
	_, err = groups.Start(ctx, facilitator, org, session, uuid.New())
	check(err)
	// So that the story runs in a moment: the host's maintenance moves the
	// start 90 minutes back (and, below, the switch to minute 40).
	var start time.Time
	check(db.Admin.QueryRow(ctx, `UPDATE public.cl_group_session_telehealth_metadata
		SET started_at = date_trunc('minute', now()) - interval '90 minutes' WHERE session_id = $1 RETURNING started_at`, session).Scan(&start))
	db.Exec(tb, `UPDATE public.cl_group_sessions SET started_at = $2 WHERE id = $1`, session, start)
	at := func(minute int) time.Time { return start.Add(time.Duration(minute) * time.Minute) }

	for _, a := range attendees {
		left := time.Time{}
		if a.name == "room 3, left at 60" {
			left = at(60)
		}
		check(groups.SetAttendance(ctx, facilitator, org, a.id, telehealthgroup.Present, at(0), left))
	}
	check(groups.SwitchMode(ctx, facilitator, org, attendees[3].id, telehealthgroup.AudioOnly, true, time.Time{})) // now
	db.Exec(tb, `UPDATE public.cl_group_mode_switches SET switched_at = $2 WHERE attendance_id = $1`, attendees[3].id, at(40))
	_, err = groups.LogFailure(ctx, facilitator, telehealthgroup.FailureParams{OrganizationID: org, SessionID: session,
		Kind: telehealthgroup.ParticipantConnection, StartedAt: at(10), EndedAt: at(25), AffectedParticipantCount: 1,
		ActionTaken: telehealthgroup.Reconnected, AffectedAttendanceID: attendees[4].id})
	check(err)
	concluded, err := groups.Conclude(ctx, facilitator, org, session, uuid.New(), at(90))
	check(err)
	fmt.Println("concluded:", concluded.Event.DurationMinutes, "minutes,", concluded.Event.ParticipantCount, "present, session suggests",
		concluded.Event.ModifierSuggestions)

	// PM-07's side of the relay.
	var lines []string
	pm07 := events.SinkFunc(func(_ context.Context, batch []events.Envelope) (int, error) {
		for _, env := range batch {
			if env.Type != events.TypeVirtualGroupChargeLine {
				continue
			}
			var l events.VirtualGroupChargeLine
			if err := json.Unmarshal(env.Data, &l); err != nil {
				return 0, err
			}
			pos := "-"
			if l.PlaceOfService != nil {
				pos = string(*l.PlaceOfService)
			}
			lines = append(lines, fmt.Sprintf("%-30s %-22s %2d min %d units POS %-2s %-8s %v", names[l.AttendanceID], fmt.Sprint(l.Modes),
				l.BillableMinutes, l.Units, pos, fmt.Sprint(l.ModifierSuggestions), l.SecurityLabels))
		}
		return len(batch), nil
	})
	relay, err := events.NewRelay(&events.RelayConfig{Pool: db.App, Sink: pm07})
	check(err)
	check(relay.Drain(ctx))
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// concluded: 90 minutes, 8 present, session suggests [95 HQ]
	// Part 2, consented to payment   [video]                90 min 6 units POS 10 [95 HQ]  [R 42CFRPart2 NORDSCLCD]
	// home, video then audio         [video audio_only]     90 min 6 units POS 10 [93 HQ]  []
	// office video, dropped 15       [video]                75 min 5 units POS 02 [95 HQ]  []
	// phone                          [audio_only]           90 min 6 units POS 02 [93 HQ]  []
	// room 1                         [in_person]            90 min 6 units POS -  [HQ]     []
	// room 2                         [in_person]            90 min 6 units POS -  [HQ]     []
	// room 3, left at 60             [in_person]            60 min 4 units POS -  [HQ]     []
}
