package platformtest_test

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/encoreos/platform-go/platformtest"
)

// A host's test checks what each user can see through the second door (an
// end user's own JWT running SQL): a database of its own, the host's
// provisioning as fixtures, and plain SQL as each acting user, through a
// role row-level security applies to.
func ExampleAsUser() {
	t := platformtest.NewT() // in a test, the test's own t
	defer t.Close()
	db := platformtest.NewDB(t)
	ctx := context.Background()

	org := db.NewOrg(t)
	clinician := db.NewMember(t, org, "clinician")
	hr := db.NewMember(t, org, "hr_manager")
	db.NewChart(t, org, true)
	db.NewChart(t, org, false)
	db.NewChart(t, db.NewOrg(t), false) // another organization's

	for _, user := range []struct {
		name string
		id   uuid.UUID
	}{{"clinician", clinician}, {"hr_manager", hr}} {
		var charts, part2 int
		err := platformtest.AsUser(ctx, db.App, user.id, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE is_part2) FROM public.cl_charts`).Scan(&charts, &part2)
		})
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s sees %d charts, %d of them Part 2\n", user.name, charts, part2)
	}
	// Output:
	// clinician sees 2 charts, 1 of them Part 2
	// hr_manager sees 0 charts, 0 of them Part 2
}
