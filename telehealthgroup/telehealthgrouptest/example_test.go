package telehealthgrouptest_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/encoreos/platform-go/platformtest"
	"github.com/encoreos/platform-go/telehealthgroup"
	"github.com/encoreos/platform-go/telehealthgroup/telehealthgrouptest"
)

// Runs the examples and stops the throwaway PostgreSQL cluster; under
// -short only the tests run (an Example cannot skip).
func TestMain(m *testing.M) { os.Exit(platformtest.Run(m)) }

// A host's test hands the client fakes of its scheduling layer (PM-04,
// PM-13) and its notifier (PF-10), and checks what PF-10 was told of a
// technology failure: codes, counts and times only.
func ExampleNotifier() {
	t := platformtest.NewT() // in a test, the test's own t
	defer t.Close()
	db := platformtest.NewDB(t)
	ctx := context.Background()
	org := db.NewOrg(t)
	facilitator := db.NewMember(t, org, "clinician")
	session := db.NewGroupSession(t, org, facilitator)

	scheduling := telehealthgrouptest.NewScheduling()
	scheduling.Set(session, telehealthgroup.SessionContext{TelehealthStatus: "live"})
	notifier := &telehealthgrouptest.Notifier{}
	groups, err := telehealthgroup.New(db.App, &telehealthgroup.Config{Scheduling: scheduling, Notifier: notifier})
	if err != nil {
		panic(err)
	}
	if _, err := groups.Configure(ctx, facilitator, telehealthgroup.ConfigureParams{
		OrganizationID: org, SessionID: session, Modality: telehealthgroup.Virtual,
	}); err != nil {
		panic(err)
	}
	now := time.Now()
	if _, err := groups.LogFailure(ctx, facilitator, telehealthgroup.FailureParams{
		OrganizationID: org, SessionID: session, Kind: telehealthgroup.VideoOutage,
		StartedAt: now.Add(-10 * time.Minute), EndedAt: now.Add(-7 * time.Minute),
		AffectedParticipantCount: 6, ActionTaken: telehealthgroup.SwitchedToAudio,
	}); err != nil {
		panic(err)
	}
	for _, n := range notifier.Notices() {
		fmt.Println(n.Kind, n.ActionTaken, n.AffectedParticipantCount, n.EndedAt.Sub(n.StartedAt))
	}
	// Output: video_outage switched_to_audio 6 3m0s
}
