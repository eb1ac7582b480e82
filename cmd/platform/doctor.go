package main

import (
	"context"
	"flag"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/encoreos/platform-go/schema"
)

var doctorCommand = &command{
	name:    "doctor",
	summary: "check a host's database for what would make it unsafe, and say how to fix it",
	help: `
Checks that the database is set up as the library needs it to be safe
(schema.Doctor), and prints each problem with the exact statement that fixes
it, to run as the migrating role:

  migrations         the library's migrations are applied, and no other
  roles              authenticated, cl_event_relay, cl_definer and auth.uid() exist;
                     cl_event_relay may read and mark the outbox
  app_roles          the application's login roles may log in and are members of authenticated
  relay_roles        the relay's login roles may log in and are members of cl_event_relay
  privileges         none of those roles is or can act as a superuser, a BYPASSRLS or
                     CREATEROLE role, or the owner of the database, schema public or auth,
                     or anything in them
  rls                every table in public that other roles may use forces row-level security
  access_helpers     cl_has_org_access, cl_has_site_access, cl_member_has_permission,
                     cl_has_permission, cl_has_site_permission and cl_staff_holds exist with
                     their signatures, return boolean, are SECURITY DEFINER owned by
                     cl_definer, executable by authenticated (cl_member_has_permission:
                     by nobody) and not by PUBLIC
  definer_functions  every SECURITY DEFINER function fixes a safe search_path, pg_temp
                     last, and is not executable by PUBLIC

Without -app-role and -relay-role it checks every login role granted
authenticated or cl_event_relay (except the role it connects as).

Needs DATABASE_URL for the migrating role (it reads the catalogue and the
migrations' bookkeeping; it changes nothing).

Example:
  DATABASE_URL=postgres://postgres@db:5432/clinic platform doctor -app-role app -relay-role app
`,
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
		url := databaseFlag(fs)
		app := fs.String("app-role", "", "the application's login roles, comma-separated (default: every login role granted authenticated)")
		relay := fs.String("relay-role", "", "the relay's login roles, comma-separated (default: every login role granted cl_event_relay)")
		return func(ctx context.Context, c *cli) int {
			if len(c.args) > 0 {
				return c.usage("unexpected argument %q", c.args[0])
			}
			return c.withPool(ctx, *url, migratingRole, func(pool *pgxpool.Pool) int {
				findings, err := schema.Doctor(ctx, pool, &schema.DoctorConfig{AppRoles: roleList(*app), RelayRoles: roleList(*relay)})
				if err != nil {
					return c.fail(err)
				}
				for _, f := range findings {
					c.printf("%s\n", f)
				}
				if len(findings) > 0 {
					c.printf("%d problems found\n", len(findings))
					return exitProblems
				}
				c.printf("all good: %s checked\n", strings.Join(schema.DoctorChecks, ", "))
				return exitOK
			})
		}
	},
}

func roleList(s string) []string {
	var out []string
	for r := range strings.SplitSeq(s, ",") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	return out
}
