package schema

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// AppliedMigration is a migration recorded as applied in a database's
// public.platform_schema_migrations.
type AppliedMigration struct {
	Version   int       `db:"version"`
	Name      string    `db:"name"`
	AppliedAt time.Time `db:"applied_at"`
	// Checksum is the SHA-256 of the file as applied (hex); nil where the
	// row was written by hand or another tool.
	Checksum *string `db:"checksum"`
}

// Status compares the migrations applied to a database with this
// library's, by version, file name and checksum (the SHA-256 [Migrate]
// recorded of the file it applied); [Doctor] checks what the schema must
// guarantee.
type Status struct {
	// Applied is what the database records, in version order.
	Applied []AppliedMigration
	// Pending are this library's migrations the database has not applied,
	// in version order: [Migrate] applies them.
	Pending []Migration
	// Unknown are applied versions this library does not have: a newer
	// build migrated the database ([Migrate] refuses to run).
	Unknown []AppliedMigration
	// Renamed are applied versions recorded under another file name than
	// this library's file of that version: not the same migration.
	Renamed []AppliedMigration
	// Changed are applied versions whose file, as applied, differs from
	// this library's file of that version (its checksum): edited after it
	// was applied, or applied from another build.
	Changed []AppliedMigration
	// Latest is this library's newest version.
	Latest int
}

// Version is the newest version applied, 0 when none is.
func (s *Status) Version() int {
	if len(s.Applied) == 0 {
		return 0
	}
	return s.Applied[len(s.Applied)-1].Version
}

// Current reports whether the database has exactly this library's
// migrations: nothing pending, unknown, renamed or changed.
func (s *Status) Current() bool {
	return len(s.Pending) == 0 && len(s.Unknown) == 0 && len(s.Renamed) == 0 && len(s.Changed) == 0
}

// ReadStatus reads which migrations db has applied and compares them with
// [List]. A database never migrated by [Migrate] has everything pending.
// It reads public.platform_schema_migrations, which only a superuser or a
// BYPASSRLS role may read: connect as the role that migrates (any other
// gets ErrInsufficientPrivilege).
func ReadStatus(ctx context.Context, db Beginner) (*Status, error) {
	migrations, err := List()
	if err != nil {
		return nil, err
	}
	if err := checkPrivileges(ctx, db); err != nil {
		return nil, fmt.Errorf("schema: reading the applied migrations needs the migrating role: %w", err)
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT pg_catalog.to_regclass('public.platform_schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return nil, err
	}
	s := &Status{Latest: migrations[len(migrations)-1].Version}
	if exists {
		rows, _ := tx.Query(ctx, `SELECT version, name, applied_at, checksum FROM public.platform_schema_migrations ORDER BY version`)
		if s.Applied, err = pgx.CollectRows(rows, pgx.RowToStructByName[AppliedMigration]); err != nil {
			return nil, err
		}
	}
	library := map[int]Migration{}
	for _, m := range migrations {
		library[m.Version] = m
	}
	applied := map[int]bool{}
	for _, a := range s.Applied {
		applied[a.Version] = true
		switch m, ok := library[a.Version]; {
		case !ok:
			s.Unknown = append(s.Unknown, a)
		case m.Name != a.Name:
			s.Renamed = append(s.Renamed, a)
		case a.Checksum != nil && *a.Checksum != m.Checksum:
			s.Changed = append(s.Changed, a)
		}
	}
	for _, m := range migrations {
		if !applied[m.Version] {
			s.Pending = append(s.Pending, m)
		}
	}
	return s, nil
}
