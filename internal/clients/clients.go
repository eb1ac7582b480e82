// Package clients holds what every client of the library checks and
// defaults the same way when it is made: its database and its clock.
package clients

import (
	"fmt"
	"time"

	"github.com/encoreos/platform-go/internal/dbtx"
)

// Clock checks db for the package pkg's New and returns the clock to use:
// now, or time.Now when now is nil.
func Clock(pkg string, db dbtx.Beginner, now func() time.Time) (func() time.Time, error) {
	if db == nil {
		return nil, fmt.Errorf("%s: New needs a DB (a *pgxpool.Pool or *pgx.Conn connected as a member of %s)", pkg, dbtx.Role)
	}
	if now == nil {
		now = time.Now
	}
	return now, nil
}
