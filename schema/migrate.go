package schema

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// Migrations holds the migration files, in the directory "migrations".
//
//go:embed migrations/*.up.sql
var Migrations embed.FS

// CitusProfile is the SQL a host runs once on a Citus coordinator after the
// migrations, to distribute the schema by organization (README, "Scale-out
// on Citus").
//
//go:embed citus/profile.sql
var CitusProfile string

// MigrationsDir is the directory inside [Migrations] that holds the files.
const MigrationsDir = "migrations"

// Migration is one migration file.
type Migration struct {
	Version int    // the NNNN prefix
	Name    string // the file name
	SQL     string // the file's contents
}

var fileName = regexp.MustCompile(`^(\d{4})_[a-z0-9_]+\.up\.sql$`)

// List returns the migrations in version order.
func List() ([]Migration, error) {
	entries, err := fs.ReadDir(Migrations, MigrationsDir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("schema: unexpected file %q in %s", e.Name(), MigrationsDir)
		}
		body, err := fs.ReadFile(Migrations, MigrationsDir+"/"+e.Name())
		if err != nil {
			return nil, err
		}
		v, _ := strconv.Atoi(m[1])
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(body)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	return out, nil
}

// MigrateResult reports what [Migrate] did.
type MigrateResult struct {
	Applied []int // versions applied by this call, in order
}

// ErrUnknownVersion is returned when the database has a migration version
// this build of the library does not know: it was migrated by a newer build.
var ErrUnknownVersion = errors.New("schema: the database has migrations newer than this library")

// Migrate applies every migration that has not been applied yet, each in its
// own transaction, and records it in public.platform_schema_migrations. A
// transaction-level advisory lock serializes concurrent callers. It must run
// as a superuser or a role with BYPASSRLS (see the package documentation).
//
// Hosts that use their own migration tool apply [Migrations] with it instead
// and never call Migrate.
func Migrate(ctx context.Context, db Beginner) (*MigrateResult, error) {
	migrations, err := List()
	if err != nil {
		return nil, err
	}
	if err := checkPrivileges(ctx, db); err != nil {
		return nil, err
	}
	res := &MigrateResult{}
	newest := migrations[len(migrations)-1].Version
	for _, m := range migrations {
		applied, err := applyOne(ctx, db, m, newest)
		if err != nil {
			return res, fmt.Errorf("schema: migration %s: %w", m.Name, err)
		}
		if applied {
			res.Applied = append(res.Applied, m.Version)
		}
	}
	return res, nil
}

// ErrInsufficientPrivilege is returned when the migrating role is neither a
// superuser nor BYPASSRLS (see the package documentation).
var ErrInsufficientPrivilege = errors.New("schema: migrations must run as a superuser or a role with BYPASSRLS: they create roles, force row-level security on every table and hand the SECURITY DEFINER functions to cl_definer")

func checkPrivileges(ctx context.Context, db Beginner) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT r.rolsuper OR r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return ErrInsufficientPrivilege
	}
	return nil
}

// Beginner starts a transaction: *pgx.Conn, *pgxpool.Pool and pgx.Tx all do.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// lockKey is the advisory lock that serializes migrations ("platform-go").
const lockKey = 0x706c6174666f726d

func applyOne(ctx context.Context, db Beginner, m Migration, newest int) (bool, error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit

	if _, err := tx.Exec(ctx, `SELECT pg_catalog.pg_advisory_xact_lock($1)`, int64(lockKey)); err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, `
		CREATE TABLE IF NOT EXISTS public.platform_schema_migrations (
		  version    integer PRIMARY KEY,
		  name       text NOT NULL,
		  applied_at timestamptz NOT NULL DEFAULT pg_catalog.now()
		);
		REVOKE ALL ON public.platform_schema_migrations FROM PUBLIC;
		ALTER TABLE public.platform_schema_migrations ENABLE ROW LEVEL SECURITY;
		ALTER TABLE public.platform_schema_migrations FORCE ROW LEVEL SECURITY`); err != nil {
		return false, err
	}
	var latest int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM public.platform_schema_migrations`).Scan(&latest); err != nil {
		return false, err
	}
	if latest > newest {
		return false, fmt.Errorf("%w (database at %d, library at %d)", ErrUnknownVersion, latest, newest)
	}
	var done bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM public.platform_schema_migrations WHERE version = $1)`, m.Version).Scan(&done); err != nil {
		return false, err
	}
	if done {
		return false, nil
	}
	// The file may hold many statements: Exec without arguments sends it with
	// the simple protocol, as one batch, inside this transaction.
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO public.platform_schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
		return false, err
	}
	return true, tx.Commit(ctx)
}
