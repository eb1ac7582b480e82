package peer_test

import (
	"context"
	"fmt"
	"time"

	"github.com/encoreos/platform-go/billing"
	"github.com/encoreos/platform-go/peer"
	"github.com/encoreos/platform-go/platformtest"
)

// A peer specialist documents an encounter and finalizes it; finalizing
// publishes peer_encounter_finalized for charge capture in the same
// transaction, and a second finalize changes nothing.
func ExampleClient_Finalize() {
	t := platformtest.NewT() // in a test, the test's own t
	defer t.Close()
	db := platformtest.NewDB(t)
	ctx := context.Background()
	org := db.NewOrg(t)
	specialist := db.NewMember(t, org, "peer_specialist")
	chart := db.NewChart(t, org, false)

	peers, err := peer.New(db.App, nil)
	if err != nil {
		panic(err)
	}
	end := time.Now().Add(-time.Hour)
	e, err := peers.Create(ctx, specialist, peer.CreateParams{
		OrganizationID: org,
		ChartID:        chart,
		Fields: peer.Fields{
			PeerProviderID: specialist,
			ServiceDate:    end.Add(-40 * time.Minute),
			StartTime:      end.Add(-40 * time.Minute),
			EndTime:        end,
			ServiceType:    "peer_support",
			HCPCSCode:      billing.H0038.Code,
			FocusNotes:     "Practised a coping plan for cravings.",
		},
	})
	if err != nil {
		panic(err)
	}
	for range 2 {
		e, err = peers.Finalize(ctx, specialist, org, e.ID)
		if err != nil {
			panic(err)
		}
	}
	var events int
	if err := db.Admin.QueryRow(ctx, `SELECT count(*) FROM public.cl_pm_events WHERE event_type = 'peer_encounter_finalized'`).Scan(&events); err != nil {
		panic(err)
	}
	fmt.Println(e.Status, e.DurationMinutes, "minutes,", billing.Units(billing.CMS8Minute, e.DurationMinutes, 0), "units,", events, "event")
	// Output: finalized 40 minutes, 3 units, 1 event
}
