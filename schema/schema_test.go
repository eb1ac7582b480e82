package schema_test

import (
	"context"
	_ "embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	ternmigrate "github.com/jackc/tern/v2/migrate"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/internal/testdb"
	"github.com/encoreos/platform-go/schema"
)

func TestMain(m *testing.M) { testdb.Main(m) }

//go:embed testdata/catalog.sql
var catalogSQL string

func catalog(t *testing.T, cfg *pgx.ConnConfig) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, catalogSQL)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.NotEmpty(t, lines)
	return lines
}

func TestFilesFollowTheConventions(t *testing.T) {
	t.Parallel()
	for _, l := range lines {
		migrations, err := l.list()
		require.NoError(t, err)
		require.NotEmpty(t, migrations)
		for i, m := range migrations {
			require.Equal(t, i+1, m.Version, "%s: versions are consecutive from 1", l.dir)
			require.True(t, strings.HasPrefix(m.SQL, "-- +goose Up\n"), "%s starts with -- +goose Up", m.Name)
			require.NotContains(t, m.SQL, "+goose Down", m.Name)
			for _, forbidden := range []string{"CONCURRENTLY", "\n\\", "COMMIT;", "BEGIN;"} {
				require.NotContains(t, m.SQL, forbidden, "%s must run inside a transaction with any tool", m.Name)
			}
			require.Equal(t, strings.Count(m.SQL, "+goose StatementBegin"), strings.Count(m.SQL, "+goose StatementEnd"), m.Name)
		}
		entries, err := fs.ReadDir(l.files, l.dir)
		require.NoError(t, err)
		require.Len(t, entries, len(migrations)+l.extra, "%s: no down files or strays", l.dir)
	}
}

// The host stand-ins stand apart: nothing in them depends on the library
// (a host leaves them out), and nothing of the library's is in them.
func TestHostStandInsStandApart(t *testing.T) {
	t.Parallel()
	host, err := schema.ListHostStandIns()
	require.NoError(t, err)
	for _, m := range host {
		statements := regexp.MustCompile(`--[^\n]*`).ReplaceAllString(m.SQL, "")
		for _, library := range []string{"authenticated", "auth.uid", "POLICY", "ROW LEVEL SECURITY", "GRANT", "FUNCTION", "TRIGGER",
			"public.cl_has_", "public.pf_plausible", "public.cl_check_sud_consent"} {
			require.NotContains(t, statements, library, "%s: the library's rules live in its own line", m.Name)
		}
	}
	contract, err := fs.ReadFile(schema.HostStandIns, schema.HostStandInsDir+"/CONTRACT.md")
	require.NoError(t, err)
	for _, m := range host {
		require.Contains(t, string(contract), m.Name, "the contract names every stand-in")
	}
}

// lines are the two migration lines, with the bookkeeping table each tool
// keeps for it.
var lines = []struct {
	dir, gooseTable, migrateTable, ternTable string
	files                                    fs.FS
	list                                     func() ([]schema.Migration, error)
	extra                                    int // files that are not migrations (the contract)
}{
	{schema.HostStandInsDir, "goose_host_db_version", "host_schema_migrations", "public.host_schema_version",
		schema.HostStandIns, schema.ListHostStandIns, 1},
	{schema.MigrationsDir, "goose_db_version", "schema_migrations", "public.schema_version",
		schema.Migrations, schema.List, 0},
}

// The same files, applied by the library, by goose, golang-migrate, tern and
// psql in file order (the host stand-ins, then the library's line, each with
// its own bookkeeping table), give the same catalogue.
func TestOtherToolsBuildTheSameSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	want := catalog(t, testdb.NewEmptyMigrated(t))

	t.Run("goose", func(t *testing.T) {
		t.Parallel()
		cfg := testdb.NewEmpty(t)
		db := stdlib.OpenDB(*cfg)
		defer db.Close()
		for _, l := range lines {
			sub, err := fs.Sub(l.files, l.dir)
			require.NoError(t, err)
			store, err := database.NewStore(goose.DialectPostgres, l.gooseTable)
			require.NoError(t, err)
			provider, err := goose.NewProvider("", db, sub, goose.WithStore(store))
			require.NoError(t, err)
			results, err := provider.Up(ctx)
			require.NoError(t, err)
			migrations, _ := l.list()
			require.Len(t, results, len(migrations))
		}
		require.Equal(t, want, catalog(t, cfg))
	})

	t.Run("golang-migrate", func(t *testing.T) {
		t.Parallel()
		cfg := testdb.NewEmpty(t)
		db := stdlib.OpenDB(*cfg)
		defer db.Close()
		for _, l := range lines {
			src, err := iofs.New(l.files, l.dir)
			require.NoError(t, err)
			driver, err := migratepgx.WithInstance(db, &migratepgx.Config{MigrationsTable: l.migrateTable})
			require.NoError(t, err)
			m, err := migrate.NewWithInstance("iofs", src, "pgx5", driver)
			require.NoError(t, err)
			require.NoError(t, m.Up())
			migrations, _ := l.list()
			version, dirty, err := m.Version()
			require.NoError(t, err)
			require.False(t, dirty)
			require.EqualValues(t, len(migrations), version)
		}
		require.Equal(t, want, catalog(t, cfg))
	})

	t.Run("tern", func(t *testing.T) {
		t.Parallel()
		cfg := testdb.NewEmpty(t)
		conn, err := pgx.ConnectConfig(ctx, cfg)
		require.NoError(t, err)
		defer conn.Close(ctx)
		for _, l := range lines {
			m, err := ternmigrate.NewMigrator(ctx, conn, l.ternTable)
			require.NoError(t, err)
			sub, err := fs.Sub(l.files, l.dir)
			require.NoError(t, err)
			require.NoError(t, m.LoadMigrations(sub))
			require.NoError(t, m.Migrate(ctx))
			migrations, _ := l.list()
			require.Len(t, m.Migrations, len(migrations))
		}
		require.Equal(t, want, catalog(t, cfg))
	})

	t.Run("psql", func(t *testing.T) {
		t.Parallel()
		psql, err := exec.LookPath("psql")
		require.NoError(t, err, "psql is needed to prove the files run with it (Debian: apt-get install postgresql-client)")
		cfg := testdb.NewEmpty(t)
		for _, l := range lines {
			migrations, err := l.list()
			require.NoError(t, err)
			for _, m := range migrations {
				cmd := exec.Command(psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", "-")
				cmd.Env = append(os.Environ(), "PGHOST="+cfg.Host, fmt.Sprintf("PGPORT=%d", cfg.Port),
					"PGUSER="+cfg.User, "PGPASSWORD="+cfg.Password, "PGDATABASE="+cfg.Database)
				cmd.Stdin = strings.NewReader(m.SQL)
				out, err := cmd.CombinedOutput()
				require.NoError(t, err, "%s: %s", m.Name, out)
			}
		}
		require.Equal(t, want, catalog(t, cfg))
	})
}

// A host with its own tables: it creates them (here the stand-ins, with a
// column of its own and its own bookkeeping), and MigrateLibrary installs the
// library over them, as Migrate does over the stand-ins.
func TestAHostWithItsOwnTablesMigratesTheLibraryOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := testdb.NewEmpty(t)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err)
	defer conn.Close(ctx)
	host, err := schema.ListHostStandIns()
	require.NoError(t, err)
	for _, m := range host {
		_, err := conn.Exec(ctx, m.SQL)
		require.NoError(t, err, m.Name)
	}
	_, err = conn.Exec(ctx, `ALTER TABLE public.cl_charts ADD COLUMN host_mrn_token text`)
	require.NoError(t, err)
	res, err := schema.MigrateLibrary(ctx, conn)
	require.NoError(t, err)
	library, _ := schema.List()
	require.Len(t, res.Applied, len(library))
	require.Empty(t, res.HostApplied)
	var forced bool
	require.NoError(t, conn.QueryRow(ctx, `SELECT relforcerowsecurity FROM pg_catalog.pg_class WHERE oid = 'public.cl_charts'::regclass`).Scan(&forced))
	require.True(t, forced, "the library forces row-level security on the host's table")
	var hostLine bool
	require.NoError(t, conn.QueryRow(ctx, `SELECT to_regclass('public.platform_host_schema_migrations') IS NOT NULL`).Scan(&hostLine))
	require.False(t, hostLine, "MigrateLibrary leaves the host's bookkeeping alone")
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := testdb.NewEmptyMigrated(t)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err)
	defer conn.Close(ctx)
	res, err := schema.Migrate(ctx, conn)
	require.NoError(t, err)
	require.Empty(t, res.Applied)

	_, err = conn.Exec(ctx, `INSERT INTO public.platform_schema_migrations (version, name) VALUES (9999, 'from_the_future')`)
	require.NoError(t, err)
	_, err = schema.Migrate(ctx, conn)
	require.ErrorIs(t, err, schema.ErrUnknownVersion)
}

func TestMigrateRefusesARoleThatCannotBypassRLS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := testdb.NewEmpty(t)
	admin, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err)
	defer admin.Close(ctx)
	// A role that may create objects in the database but is neither a
	// superuser nor BYPASSRLS.
	tx, err := admin.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck
	_, err = tx.Exec(ctx, `GRANT CREATE ON SCHEMA public TO `+testdb.AppRole+`; SET LOCAL ROLE `+testdb.AppRole)
	require.NoError(t, err)
	_, err = schema.Migrate(ctx, tx)
	require.ErrorIs(t, err, schema.ErrInsufficientPrivilege)

	// Another tool applying the first file hits the same check in SQL.
	migrations, err := schema.List()
	require.NoError(t, err)
	_, err = tx.Exec(ctx, migrations[0].SQL)
	require.ErrorContains(t, err, "superuser or a role with BYPASSRLS")
}
