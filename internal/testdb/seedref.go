package testdb

import (
	_ "embed"
	"testing"
)

//go:embed seedref.sql
var seedRefSQL string

// InstallSeedRef creates, in db, the schema seedref with the seed's Part 2
// rule as it stood before the lists decided sets of charts (one chart at a
// time: seedref.cl_check_sud_consent, seedref.cl_part2_opened and their
// helpers): the independent reference the equality tests compare the
// set-based rule (public.cl_sud_consent_charts) with. Call its functions as
// the superuser with the acting user's claims set.
func InstallSeedRef(t testing.TB, db *DB) {
	t.Helper()
	db.Exec(t, seedRefSQL)
}
