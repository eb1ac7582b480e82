package schema

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// Migrations holds the library's migration files, in the directory
// "migrations" ([MigrationsDir]).
//
//go:embed migrations/*.up.sql
var Migrations embed.FS

// HostStandIns holds the host stand-ins, in the directory "host"
// ([HostStandInsDir]): minimal tables for the records other cores own
// (PF-01/02/30, CL-01/04/14, PM-03/13), with the contract a host's own
// tables meet instead (host/CONTRACT.md). They are a migration line of their
// own, applied before the library's.
//
//go:embed host/*.up.sql host/CONTRACT.md
var HostStandIns embed.FS

// CitusProfile is the SQL a host runs once on a Citus coordinator after the
// migrations, to distribute the schema by organization (README, "Scale-out
// on Citus").
//
//go:embed citus/profile.sql
var CitusProfile string

// MigrationsDir is the directory inside [Migrations] that holds the files.
const MigrationsDir = "migrations"

// HostStandInsDir is the directory inside [HostStandIns] that holds the files.
const HostStandInsDir = "host"

// Migration is one migration file.
type Migration struct {
	Version  int    // the NNNN prefix
	Name     string // the file name
	SQL      string // the file's contents
	Checksum string // the SHA-256 of SQL, hex; [Migrate] records it
}

var fileName = regexp.MustCompile(`^(\d{4})_[a-z0-9_]+\.up\.sql$`)

// List returns the library's migrations in version order.
func List() ([]Migration, error) { return list(Migrations, MigrationsDir) }

// ListHostStandIns returns the host stand-ins in version order.
func ListHostStandIns() ([]Migration, error) { return list(HostStandIns, HostStandInsDir) }

func list(files fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(files, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		if e.Name() == "CONTRACT.md" {
			continue
		}
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("schema: unexpected file %q in %s", e.Name(), dir)
		}
		body, err := fs.ReadFile(files, dir+"/"+e.Name())
		if err != nil {
			return nil, err
		}
		v, _ := strconv.Atoi(m[1])
		sum := sha256.Sum256(body)
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(body), Checksum: hex.EncodeToString(sum[:])})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	return out, nil
}

// line is a migration line and the table that records what of it is applied.
type line struct {
	list  func() ([]Migration, error)
	table string
}

var (
	hostLine    = line{ListHostStandIns, "platform_host_schema_migrations"}
	libraryLine = line{List, "platform_schema_migrations"}
)

// MigrateResult reports what [Migrate] or [MigrateLibrary] did.
type MigrateResult struct {
	HostApplied []int // host stand-in versions applied by this call, in order
	Applied     []int // library versions applied by this call, in order
}

// ErrUnknownVersion is returned when the database has a migration version
// this build of the library does not know: it was migrated by a newer build.
var ErrUnknownVersion = errors.New("schema: the database has migrations newer than this library")

// Migrate applies the host stand-ins and then the library's migrations, every
// one not applied yet, each in its own transaction, recording them in
// public.platform_host_schema_migrations and
// public.platform_schema_migrations. A transaction-level advisory lock
// serializes concurrent callers. It must run as a superuser or a role with
// BYPASSRLS (see the package documentation).
//
// A host with its own PF-01/02/30, CL-01/04/14 and PM-03/13 tables calls
// [MigrateLibrary] instead. Hosts that use their own migration tool apply
// [HostStandIns] (or nothing) and then [Migrations] with it and never call
// Migrate.
func Migrate(ctx context.Context, db Beginner) (*MigrateResult, error) {
	res := &MigrateResult{}
	if err := checkPrivileges(ctx, db); err != nil {
		return nil, err
	}
	var err error
	if res.HostApplied, err = apply(ctx, db, hostLine); err != nil {
		return res, err
	}
	res.Applied, err = apply(ctx, db, libraryLine)
	return res, err
}

// MigrateLibrary is [Migrate] for a host that provides the tables of
// [HostStandIns] itself (host/CONTRACT.md): only the library's migrations.
func MigrateLibrary(ctx context.Context, db Beginner) (*MigrateResult, error) {
	if err := checkPrivileges(ctx, db); err != nil {
		return nil, err
	}
	applied, err := apply(ctx, db, libraryLine)
	return &MigrateResult{Applied: applied}, err
}

func apply(ctx context.Context, db Beginner, l line) ([]int, error) {
	migrations, err := l.list()
	if err != nil {
		return nil, err
	}
	var applied []int
	newest := migrations[len(migrations)-1].Version
	for _, m := range migrations {
		done, err := applyOne(ctx, db, l.table, m, newest)
		if err != nil {
			return applied, fmt.Errorf("schema: migration %s: %w", m.Name, err)
		}
		if done {
			applied = append(applied, m.Version)
		}
	}
	return applied, nil
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

func applyOne(ctx context.Context, db Beginner, table string, m Migration, newest int) (bool, error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit

	if _, err := tx.Exec(ctx, `SELECT pg_catalog.pg_advisory_xact_lock($1)`, int64(lockKey)); err != nil {
		return false, err
	}
	t := "public." + table // one of the two lines' constant names
	if _, err := tx.Exec(ctx, `
		CREATE TABLE IF NOT EXISTS `+t+` (
		  version    integer PRIMARY KEY,
		  name       text NOT NULL,
		  applied_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
		  checksum   text
		);
		REVOKE ALL ON `+t+` FROM PUBLIC;
		ALTER TABLE `+t+` ENABLE ROW LEVEL SECURITY;
		ALTER TABLE `+t+` FORCE ROW LEVEL SECURITY`); err != nil {
		return false, err
	}
	var latest int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+t).Scan(&latest); err != nil {
		return false, err
	}
	if latest > newest {
		return false, fmt.Errorf("%w (database at %d, library at %d)", ErrUnknownVersion, latest, newest)
	}
	var done bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+t+` WHERE version = $1)`, m.Version).Scan(&done); err != nil {
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
	if _, err := tx.Exec(ctx, `INSERT INTO `+t+` (version, name, checksum) VALUES ($1, $2, $3)`, m.Version, m.Name, m.Checksum); err != nil {
		return false, err
	}
	return true, tx.Commit(ctx)
}
