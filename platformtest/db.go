package platformtest

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

	"github.com/encoreos/platform-go/internal/pgserver"
	"github.com/encoreos/platform-go/schema"
)

// AppRole is the login role [DB.App] connects as; its password is its
// name. Row-level security applies to it.
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

// Run runs a test binary's tests and stops the server the harness started
// (a DATABASE_URL server is left alone); it returns the exit code:
//
//	func TestMain(m *testing.M) { os.Exit(platformtest.Run(m)) }
//
// Under -short, when -run is not given, only tests and fuzz seeds run:
// tests that need PostgreSQL skip themselves, and an Example cannot skip.
func Run(m *testing.M) int {
	if !flag.Parsed() {
		flag.Parse()
	}
	if testing.Short() && flag.Lookup("test.run").Value.String() == "" {
		if err := flag.Set("test.run", "^(Test|Fuzz)"); err != nil {
			panic(err)
		}
	}
	code := m.Run()
	if err := StopServer(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "platformtest:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// StopServer stops the server the harness started, if any, and removes
// its cluster. [Run] calls it; a program that uses [NewDB] outside a test
// (with [NewT]) calls it before it exits, after the T's Close.
func StopServer(ctx context.Context) error {
	return pgserver.StopShared(ctx)
}

// template is the shared server's migrated template database and login
// role, made once per server.
var template struct {
	sync.Mutex
	srv  *pgserver.Server
	name string
	err  error
}

// server returns the shared server and its template, starting and
// migrating them on first use. It skips t under -short and fails t when no
// server can be had.
func server(t testing.TB) (*pgserver.Server, string) {
	t.Helper()
	if testing.Testing() && testing.Short() {
		t.Skip("needs PostgreSQL; skipped with -short")
	}
	srv, err := pgserver.Shared()
	if err != nil {
		t.Fatalf("platformtest: %v", err)
	}
	template.Lock()
	defer template.Unlock()
	if template.srv != srv {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		template.srv = srv
		template.name, template.err = ensureTemplate(ctx, srv.URL)
	}
	if template.err != nil {
		t.Fatalf("platformtest: preparing the template database on the %s server: %v", srv.Source, template.err)
	}
	return srv, template.name
}

// ServerURL returns a superuser connection string for the shared server's
// maintenance database, starting the server on first use (see [NewDB]),
// for tests that create databases or roles of their own.
func ServerURL(t testing.TB) string {
	t.Helper()
	srv, _ := server(t)
	return srv.URL
}

// NewDB returns a fresh, migrated database for t, dropped when t ends, with
// a pool for [AppRole] and one for the superuser.
func NewDB(t testing.TB) *DB {
	t.Helper()
	srv, tmpl := server(t)
	db := &DB{Name: createDatabase(t, srv, tmpl)}
	db.Admin = newPool(t, poolConfig(t, srv.URL, db.Name, "", ""))
	db.App = newPool(t, db.AppConfig(t))
	return db
}

// NewEmptyDB creates an empty database (not migrated), dropped when t ends,
// and returns a superuser connection configuration for it: for a test that
// applies the migrations with the host's own tool (goose, golang-migrate,
// tern) or checks them.
func NewEmptyDB(t testing.TB) *pgx.ConnConfig {
	t.Helper()
	srv, _ := server(t)
	cfg, err := pgx.ParseConfig(srv.URL)
	if err != nil {
		t.Fatalf("platformtest: parsing the server URL: %v", err)
	}
	cfg.Database = createDatabase(t, srv, "")
	return cfg
}

// createDatabase creates a database with a new name, from tmpl when it is
// not empty, and drops it when t ends.
func createDatabase(t testing.TB, srv *pgserver.Server, tmpl string) string {
	t.Helper()
	ctx := context.Background()
	name := "platform_test_" + randomHex(8)
	stmt := `CREATE DATABASE ` + pgx.Identifier{name}.Sanitize()
	if tmpl != "" {
		stmt += ` TEMPLATE ` + pgx.Identifier{tmpl}.Sanitize() + ` STRATEGY ` + cloneStrategy(srv)
	}
	if err := execOnServer(ctx, srv, stmt); err != nil {
		t.Fatalf("platformtest: creating a database: %v", err)
	}
	t.Cleanup(func() {
		if err := execOnServer(ctx, srv, `DROP DATABASE `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
			t.Errorf("platformtest: dropping %s: %v", name, err)
		}
	})
	return name
}

func execOnServer(ctx context.Context, srv *pgserver.Server, stmt string) error {
	conn, err := pgx.Connect(ctx, srv.URL)
	if err != nil {
		return fmt.Errorf("connecting to the %s server: %w", srv.Source, err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, stmt)
	return err
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

// AppConfig returns a pool configuration for [AppRole] on this database,
// for tests that need a pool of their own (a different size, say).
func (db *DB) AppConfig(t testing.TB) *pgxpool.Config {
	t.Helper()
	srv, _ := server(t)
	return poolConfig(t, srv.URL, db.Name, AppRole, AppRole)
}

func newPool(t testing.TB, cfg *pgxpool.Config) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("platformtest: %v", err)
	}
	t.Cleanup(pool.Close) // before the database is dropped: cleanups run last in, first out
	return pool
}

func poolConfig(t testing.TB, url, database, user, password string) *pgxpool.Config {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatalf("platformtest: parsing the server URL: %v", err)
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
