// Package testdb gives each test an isolated, migrated PostgreSQL database.
//
// The first call in a test binary finds a server with [pgserver.Start]
// (DATABASE_URL, then the local PostgreSQL binaries, then testcontainers),
// creates a template database migrated with [schema.Migrate] (one per
// migration hash, reused across runs on a long-lived server), and a login
// role [AppRole] that is neither a superuser, nor the owner of any table, nor
// BYPASSRLS, and is a member of `authenticated`. Every [New] then clones the
// template (CREATE DATABASE ... TEMPLATE, a few tens of milliseconds) and
// drops the clone when the test ends.
//
// Every connection has search_path set to ” (as River's tests do), so an
// unqualified name fails at once instead of resolving somewhere unexpected.
//
// Without a server the tests fail with a message that says how to get one;
// with -short, tests that need a database are skipped.
package testdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"github.com/encoreos/platform-go/internal/pgserver"
	"github.com/encoreos/platform-go/schema"
)

// AppRole is the login role the tests connect as. RLS applies to it.
const AppRole = "platform_test_app"

// DB is one test's database.
type DB struct {
	// Name is the database's name.
	Name string
	// App connects as [AppRole]: use it for everything a test asserts about
	// access. Row-level security applies to it.
	App *pgxpool.Pool
	// Admin connects as the server's superuser: use it only to arrange
	// fixtures and to inspect the catalogue, never to assert access rules.
	Admin *pgxpool.Pool
}

type shared struct {
	srv      *pgserver.Server
	template string
	err      error
	setup    time.Duration
}

var (
	once  sync.Once
	state shared
)

// Main runs a test binary's tests, stops the server this package started,
// checks for leaked goroutines, and exits. Call it from TestMain.
//
// Under -short (and without -run), only the tests and fuzz seeds run: they
// skip themselves when they need PostgreSQL, and an Example cannot skip.
func Main(m *testing.M) {
	flag.Parse()
	if testing.Short() && flag.Lookup("test.run").Value.String() == "" {
		if err := flag.Set("test.run", "^(Test|Fuzz)"); err != nil {
			panic(err)
		}
	}
	code := m.Run()
	if state.srv != nil {
		if err := state.srv.Stop(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "testdb:", err)
		}
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "testdb: leaked goroutines:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// Server returns the shared server, starting it on first use. It fails t
// when no server can be had.
func Server(t testing.TB) *pgserver.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("needs PostgreSQL; skipped with -short")
	}
	once.Do(func() {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		state.srv, state.err = pgserver.Start(ctx)
		if state.err == nil {
			state.template, state.err = ensureTemplate(ctx, state.srv.URL)
		}
		state.setup = time.Since(start)
	})
	if state.err != nil {
		t.Fatalf("testdb: %v", state.err)
	}
	return state.srv
}

// New returns a fresh, migrated database for t, dropped when t ends.
func New(t testing.TB) *DB {
	t.Helper()
	srv := Server(t)
	ctx := context.Background()
	name := "platform_test_" + randomHex(8)

	admin, err := pgx.Connect(ctx, srv.URL)
	if err != nil {
		t.Fatalf("testdb: connecting to %s server: %v", srv.Source, err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s STRATEGY %s`,
		pgx.Identifier{name}.Sanitize(), pgx.Identifier{state.template}.Sanitize(), cloneStrategy(srv))); err != nil {
		t.Fatalf("testdb: creating database: %v", err)
	}
	db := &DB{Name: name}
	t.Cleanup(func() {
		if db.App != nil {
			db.App.Close()
		}
		if db.Admin != nil {
			db.Admin.Close()
		}
		conn, err := pgx.Connect(ctx, srv.URL)
		if err != nil {
			t.Errorf("testdb: dropping %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP DATABASE `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
			t.Errorf("testdb: dropping %s: %v", name, err)
		}
	})
	db.Admin = newPool(t, srv.URL, name, "", "")
	db.App = newPool(t, srv.URL, name, AppRole, AppRole)
	return db
}

// cloneStrategy picks the faster way to copy the template, measured on
// PostgreSQL 15: FILE_COPY forces a checkpoint, which is cheap on the
// throwaway cluster (fsync off: ~40 ms a database) and costly on a server that
// syncs (~220 ms), where WAL_LOG does better (~170 ms).
func cloneStrategy(srv *pgserver.Server) string {
	if srv.Source == pgserver.EnvDatabaseURL {
		return "WAL_LOG"
	}
	return "FILE_COPY"
}

// AppConfig returns a pool configuration for the app role on this database,
// for tests that need a pool of their own (a different size, say).
func (db *DB) AppConfig(t testing.TB) *pgxpool.Config {
	t.Helper()
	return poolConfig(t, Server(t).URL, db.Name, AppRole, AppRole)
}

func newPool(t testing.TB, url, database, user, password string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.NewWithConfig(context.Background(), poolConfig(t, url, database, user, password))
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	return pool
}

func poolConfig(t testing.TB, url, database, user, password string) *pgxpool.Config {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatalf("testdb: parsing the server URL: %v", err)
	}
	cfg.ConnConfig.Database = database
	if user != "" {
		cfg.ConnConfig.User = user
		cfg.ConnConfig.Password = password
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = ""
	return cfg
}

// templateName is unique to the migrations' contents, so a long-lived server
// keeps one template per schema version.
func templateName() (string, error) {
	host, err := schema.ListHostStandIns()
	if err != nil {
		return "", err
	}
	library, err := schema.List()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, m := range append(host, library...) {
		fmt.Fprintf(h, "%s\n%s\n", m.Name, m.SQL)
	}
	return "platform_tmpl_" + hex.EncodeToString(h.Sum(nil))[:16], nil
}

const templateLock = 0x706c61746d706c // "platmpl"

func ensureTemplate(ctx context.Context, url string) (string, error) {
	name, err := templateName()
	if err != nil {
		return "", err
	}
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", fmt.Errorf("connecting: %w", err)
	}
	defer admin.Close(ctx)
	// A session lock on the maintenance database serializes test binaries
	// that share a server.
	if _, err := admin.Exec(ctx, `SELECT pg_catalog.pg_advisory_lock($1)`, int64(templateLock)); err != nil {
		return "", err
	}
	defer admin.Exec(ctx, `SELECT pg_catalog.pg_advisory_unlock($1)`, int64(templateLock)) //nolint:errcheck

	var complete bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_database
		WHERE datname = $1 AND pg_catalog.shobj_description(oid, 'pg_database') = 'complete')`, name).Scan(&complete); err != nil {
		return "", err
	}
	if complete {
		return name, nil
	}
	ident := pgx.Identifier{name}.Sanitize()
	for _, stmt := range []string{
		`DROP DATABASE IF EXISTS ` + ident + ` WITH (FORCE)`,
		`CREATE DATABASE ` + ident,
	} {
		if _, err := admin.Exec(ctx, stmt); err != nil {
			return "", fmt.Errorf("%s: %w", stmt, err)
		}
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return "", err
	}
	cfg.Database = name
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", err
	}
	_, err = schema.Migrate(ctx, conn)
	conn.Close(ctx)
	if err != nil {
		return "", err
	}
	if err := pgserver.EnsureAppRole(ctx, admin, AppRole, AppRole); err != nil {
		return "", err
	}
	for _, stmt := range []string{
		`COMMENT ON DATABASE ` + ident + ` IS 'complete'`,
		`ALTER DATABASE ` + ident + ` WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`,
	} {
		if _, err := admin.Exec(ctx, stmt); err != nil {
			return "", fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return name, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// NewEmpty creates an empty database (not migrated), dropped when t ends,
// and returns a superuser connection configuration for it: for tests that
// apply the migrations some other way.
func NewEmpty(t testing.TB) *pgx.ConnConfig {
	t.Helper()
	srv := Server(t)
	ctx := context.Background()
	name := "platform_test_" + randomHex(8)
	admin, err := pgx.Connect(ctx, srv.URL)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, srv.URL)
		if err != nil {
			t.Errorf("testdb: dropping %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP DATABASE `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
			t.Errorf("testdb: dropping %s: %v", name, err)
		}
	})
	cfg, err := pgx.ParseConfig(srv.URL)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	cfg.Database = name
	return cfg
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
