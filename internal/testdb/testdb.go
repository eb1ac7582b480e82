// Package testdb is the library's own test harness: the public
// [platformtest] (a migrated, isolated database per test as a role
// row-level security applies to, and the fixtures) plus what only the
// library's tests need: a goroutine-leak check in [Main], the server
// itself, and databases migrated from scratch.
package testdb

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/pgserver"
	"github.com/encoreos/platform-go/platformtest"
	"github.com/encoreos/platform-go/schema"
)

// AppRole is the login role the tests connect as. RLS applies to it.
const AppRole = platformtest.AppRole

// DB is one test's database: see [platformtest.DB].
type DB = platformtest.DB

// FinalizedPeerEncounter is [platformtest.FinalizedPeerEncounter].
type FinalizedPeerEncounter = platformtest.FinalizedPeerEncounter

// Main runs a test binary's tests with [platformtest.Run], then the
// teardown functions (servers the binary started for its examples, say),
// checks for leaked goroutines, and exits. Call it from TestMain.
func Main(m *testing.M, teardown ...func()) {
	code := platformtest.Run(m)
	for _, f := range teardown {
		f()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "testdb: leaked goroutines:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// Server returns the shared server, starting it on first use. It skips t
// under -short and fails t when no server can be had.
func Server(t testing.TB) *pgserver.Server {
	t.Helper()
	platformtest.ServerURL(t) // skips, fails or starts the server and its template
	srv, err := pgserver.Shared()
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	return srv
}

// New returns a fresh, migrated database for t, dropped when t ends.
func New(t testing.TB) *DB {
	t.Helper()
	return platformtest.NewDB(t)
}

// NewEmpty creates an empty database (not migrated), dropped when t ends,
// and returns a superuser connection configuration for it.
func NewEmpty(t testing.TB) *pgx.ConnConfig {
	t.Helper()
	return platformtest.NewEmptyDB(t)
}

// NewEmptyMigrated creates a database migrated by [schema.Migrate] from
// scratch (not cloned from the template) and returns a superuser
// connection configuration for it.
func NewEmptyMigrated(t testing.TB) *pgx.ConnConfig {
	t.Helper()
	cfg := NewEmpty(t)
	ctx := context.Background()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := schema.Migrate(ctx, conn); err != nil {
		t.Fatalf("testdb: %v", err)
	}
	return cfg
}

// ForExample is [platformtest.NewDB] for Example functions: it returns the
// database, a testing.TB for the fixture helpers, and a function to call
// (deferred) at the end of the example. New examples use
// [platformtest.NewT] directly.
func ForExample() (*DB, testing.TB, func()) {
	t := platformtest.NewT()
	return platformtest.NewDB(t), t, t.Close
}

// RequireStoredEventsValid asserts that every event stored for org passes
// the checks cl_pm_events_store makes of an envelope built outside the
// database (cl_pm_events_envelope_ok), and that there is at least one: the
// events the database builds itself (finalizations, corrections, charge
// lines) skip those checks when they are stored.
func RequireStoredEventsValid(t testing.TB, db *DB, org uuid.UUID) {
	t.Helper()
	var stored, invalid int
	require.NoError(t, db.Admin.QueryRow(context.Background(), `SELECT count(*),
		count(*) FILTER (WHERE NOT public.cl_pm_events_envelope_ok(organization_id, id, event_type, aggregate_id, envelope))
		FROM public.cl_pm_events WHERE organization_id = $1 AND compacted_at IS NULL`, org).Scan(&stored, &invalid))
	require.Positive(t, stored, "no event to check")
	require.Zero(t, invalid, "stored envelopes the store would refuse")
}

// ExecCommitted runs one statement as actor in a transaction of its own on
// db and commits it before it returns: how a test commits an accounting
// (cl_part2_disclosed, cl_group_disclose, ...) before reading by plain SQL,
// as a plain-SQL client must.
func ExecCommitted(ctx context.Context, db dbtx.Beginner, actor uuid.UUID, sql string, args ...any) error {
	return dbtx.Pipeline(ctx, db, actor, []dbtx.Statement{{SQL: sql, Args: args}})
}
