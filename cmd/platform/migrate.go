package main

import (
	"context"
	"flag"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/encoreos/platform-go/schema"
)

const migratingRole = "the migrating role (a superuser, or a role with BYPASSRLS such as Supabase's postgres)"

var migrateCommand = &command{
	name:    "migrate",
	summary: "apply the host stand-ins and the library's migrations (-dry-run lists the library's pending ones)",
	help: `
Applies every migration of this build of the library that the database has not
applied yet, in version order, each in its own transaction: first the host
stand-ins (schema/host: minimal PF-01/02/30, CL-01/04/14, PM-03/13 tables,
recorded in public.platform_host_schema_migrations), then the library's own
(recorded in public.platform_schema_migrations; schema.Migrate). A host with
its own tables for those records passes -library-only (schema.MigrateLibrary;
schema/host/CONTRACT.md says what its tables must provide). Concurrent runs
wait for each other. It refuses a database migrated by a newer build.

Needs DATABASE_URL for the migrating role: a superuser, or a role with
BYPASSRLS (on Supabase: postgres). The migrations create the roles
authenticated, cl_event_relay and cl_definer where they are missing; then
give your application's login role what it needs (platform doctor checks):

  CREATE ROLE app LOGIN PASSWORD '...' NOINHERIT;
  GRANT authenticated, cl_event_relay TO app;

Example:
  DATABASE_URL=postgres://postgres@db:5432/clinic platform migrate -dry-run
  DATABASE_URL=postgres://postgres@db:5432/clinic platform migrate
`,
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
		url := databaseFlag(fs)
		dryRun := fs.Bool("dry-run", false, "list the migrations that would be applied, and apply none")
		libraryOnly := fs.Bool("library-only", false, "apply only the library's line: the host provides its own tables (schema/host/CONTRACT.md)")
		return func(ctx context.Context, c *cli) int {
			if len(c.args) > 0 {
				return c.usage("unexpected argument %q", c.args[0])
			}
			return c.withPool(ctx, *url, migratingRole, func(pool *pgxpool.Pool) int {
				if *dryRun {
					return dryRunMigrate(ctx, c, pool)
				}
				return doMigrate(ctx, c, pool, *libraryOnly)
			})
		}
	},
}

func dryRunMigrate(ctx context.Context, c *cli, pool *pgxpool.Pool) int {
	s, err := schema.ReadStatus(ctx, pool)
	if err != nil {
		return c.fail(err)
	}
	if len(s.Unknown) > 0 {
		c.printf("the database has migrations newer than this library (database at %d, library at %d): migrate would refuse\n", s.Version(), s.Latest)
		return exitProblems
	}
	if len(s.Pending) == 0 {
		c.printf("nothing to apply: the database is at version %d, this library's newest\n", s.Version())
		return exitOK
	}
	c.printf("would apply %d migrations:\n", len(s.Pending))
	for _, m := range s.Pending {
		c.printf("  %s\n", m.Name)
	}
	return exitOK
}

func doMigrate(ctx context.Context, c *cli, pool *pgxpool.Pool, libraryOnly bool) int {
	migrate := schema.Migrate
	if libraryOnly {
		migrate = schema.MigrateLibrary
	}
	res, err := migrate(ctx, pool)
	if res != nil {
		hostNames, names := migrationNames(schema.ListHostStandIns), migrationNames(schema.List)
		for _, v := range res.HostApplied {
			c.printf("applied host stand-in %s\n", hostNames[v])
		}
		for _, v := range res.Applied {
			c.printf("applied %s\n", names[v])
		}
	}
	if err != nil {
		return c.fail(err)
	}
	s, err := schema.ReadStatus(ctx, pool)
	if err != nil {
		return c.fail(err)
	}
	if len(res.Applied)+len(res.HostApplied) == 0 {
		c.printf("nothing to apply: ")
	}
	c.printf("the database is at version %d, this library's newest\n", s.Version())
	return exitOK
}

// migrationNames maps a line's versions to their file names.
func migrationNames(list func() ([]schema.Migration, error)) map[int]string {
	migrations, _ := list() // embedded: it cannot fail
	names := map[int]string{}
	for _, m := range migrations {
		names[m.Version] = m.Name
	}
	return names
}

var versionCommand = &command{
	name:    "version",
	summary: "the schema version applied to the database, and this library's",
	help: `
Prints the newest migration the database has applied and the newest this
build of the library has, and whether the database is up to date. The
status is 0 whenever it could read them; verify fails on a difference.

Needs DATABASE_URL for the migrating role (the bookkeeping table,
public.platform_schema_migrations, forces row-level security).

Example:
  DATABASE_URL=postgres://postgres@db:5432/clinic platform version
`,
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
		url := databaseFlag(fs)
		return func(ctx context.Context, c *cli) int {
			return c.withStatus(ctx, *url, func(s *schema.Status) int {
				names := migrationNames(schema.List)
				if len(s.Applied) == 0 {
					c.printf("database: no migrations applied\n")
				} else {
					last := s.Applied[len(s.Applied)-1]
					c.printf("database: %d (%s, applied %s)\n", last.Version, last.Name, last.AppliedAt.UTC().Format(time.RFC3339))
				}
				c.printf("library:  %d (%s)\n", s.Latest, names[s.Latest])
				switch {
				case s.Current():
					c.printf("up to date\n")
				case len(s.Unknown) > 0:
					c.printf("the database was migrated by a newer build of the library\n")
				case len(s.Pending) > 0:
					c.printf("%d migrations pending: run platform migrate\n", len(s.Pending))
				default:
					c.printf("the applied migrations differ from this library's: run platform verify\n")
				}
				return exitOK
			})
		}
	},
}

var verifyCommand = &command{
	name:    "verify",
	summary: "check that the applied migrations are exactly this library's",
	help: `
Compares the migrations recorded in public.platform_schema_migrations with this
build of the library's, by version, file name and checksum (the SHA-256
platform migrate records of each file it applies), and names every
difference: a migration pending, one applied by a newer build, one recorded
under another file's name, one applied from a file that differs from this
build's. platform doctor checks what the schema must guarantee (roles,
row-level security, helpers).

Needs DATABASE_URL for the migrating role.

Example:
  DATABASE_URL=postgres://postgres@db:5432/clinic platform verify && echo ok
`,
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
		url := databaseFlag(fs)
		return func(ctx context.Context, c *cli) int {
			return c.withStatus(ctx, *url, func(s *schema.Status) int {
				names := migrationNames(schema.List)
				for _, m := range s.Pending {
					c.printf("pending: %s is not applied (run platform migrate)\n", m.Name)
				}
				for _, a := range s.Unknown {
					c.printf("unknown: %s is applied but not in this library (a newer build migrated the database)\n", a.Name)
				}
				for _, a := range s.Renamed {
					c.printf("differs: version %d is recorded as %s; this library's is %s\n", a.Version, a.Name, names[a.Version])
				}
				for _, a := range s.Changed {
					c.printf("changed: %s was applied from a different file (checksum)\n", a.Name)
				}
				if !s.Current() {
					return exitProblems
				}
				c.printf("verified: the %d applied migrations are this library's, by version, name and checksum (run platform doctor for the schema's guarantees)\n", len(s.Applied))
				return exitOK
			})
		}
	},
}

// withStatus runs f with the database's migration status, read as the
// migrating role; the command takes no arguments.
func (c *cli) withStatus(ctx context.Context, url string, f func(*schema.Status) int) int {
	if len(c.args) > 0 {
		return c.usage("unexpected argument %q", c.args[0])
	}
	return c.withPool(ctx, url, migratingRole, func(pool *pgxpool.Pool) int {
		s, err := schema.ReadStatus(ctx, pool)
		if err != nil {
			return c.fail(err)
		}
		return f(s)
	})
}
