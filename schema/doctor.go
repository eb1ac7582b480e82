package schema

import (
	"context"
	"embed"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Finding is one thing [Doctor] found wrong in a database, with its fix.
// It names roles, tables and functions only, never a row's content.
type Finding struct {
	// Check is the check that found it: one of the Check constants.
	Check string
	// Object is the role, table, function or migration it is about.
	Object string
	// Problem says what is wrong and why it matters.
	Problem string
	// Fix is the SQL statement (or the step) that puts it right, to run as
	// the migrating role.
	Fix string
}

// String is the finding as the CLI prints it: the check and the problem,
// and the fix on a line of its own.
func (f Finding) String() string { return f.Check + ": " + f.Problem + "\n  fix: " + f.Fix }

// The checks [Doctor] runs, in order.
const (
	// CheckMigrations: the library's migrations are applied, and no other
	// (see [ReadStatus]).
	CheckMigrations = "migrations"
	// CheckRoles: authenticated, cl_event_relay, cl_definer and auth.uid()
	// exist, authenticated may call auth.uid(), and cl_event_relay may
	// read and mark the outbox.
	CheckRoles = "roles"
	// CheckAppRoles: the application's login roles exist, may log in and
	// are members of authenticated.
	CheckAppRoles = "app_roles"
	// CheckRelayRoles: the relay's login roles exist, may log in and are
	// members of cl_event_relay.
	CheckRelayRoles = "relay_roles"
	// CheckPrivileges: none of those roles, nor authenticated and
	// cl_event_relay, is or can act as a superuser, a BYPASSRLS or
	// CREATEROLE role, or the owner of the database, of schema public or
	// auth or of anything in them; cl_definer is no superuser, BYPASSRLS
	// or CREATEROLE role either.
	CheckPrivileges = "privileges"
	// CheckRLS: every table in schema public that another role than its
	// owner may use has row-level security enabled and forced.
	CheckRLS = "rls"
	// CheckAccessHelpers: the access helpers ([AccessHelpers]) exist with
	// their signatures, return boolean, are SECURITY DEFINER owned by
	// cl_definer, and are executable by authenticated where policies call
	// them and by nobody else.
	CheckAccessHelpers = "access_helpers"
	// CheckDefiners: every SECURITY DEFINER function in schemas public and
	// auth fixes a search_path no user can create objects in, pg_temp
	// last, and is not executable by PUBLIC.
	CheckDefiners = "definer_functions"
)

// DoctorChecks lists the checks [Doctor] runs, in order.
var DoctorChecks = []string{CheckMigrations, CheckRoles, CheckAppRoles, CheckRelayRoles, CheckPrivileges, CheckRLS,
	CheckAccessHelpers, CheckDefiners}

// AccessHelper is a function every policy is built on. A host with its own
// membership tables replaces the bodies of the first three (README, "What
// a host provides"), keeping everything [Doctor] checks.
type AccessHelper struct {
	// Signature is the function's schema-qualified name and argument types.
	Signature string
	// Authenticated says whether authenticated may execute it (policies
	// call it as the user); the others answer about any user and are
	// called only by definer functions.
	Authenticated bool
}

// AccessHelpers are the functions [CheckAccessHelpers] checks.
var AccessHelpers = []AccessHelper{
	{"public.cl_has_org_access(uuid)", true},
	{"public.cl_has_site_access(uuid,uuid)", true},
	{"public.cl_member_has_permission(uuid,uuid,text,uuid)", false},
	{"public.cl_has_permission(uuid,text)", true},
	{"public.cl_has_site_permission(uuid,uuid,text)", true},
	{"public.cl_staff_holds(uuid,uuid,text)", true},
}

// DoctorConfig names the host's login roles; nil means find them.
type DoctorConfig struct {
	// AppRoles are the login roles the application connects as. Default:
	// every login role granted authenticated (directly or through other
	// roles), except the role running Doctor.
	AppRoles []string
	// RelayRoles are the login roles event relays connect as. Default:
	// every login role granted cl_event_relay, except the role running
	// Doctor.
	RelayRoles []string
}

// The roles the library creates.
const (
	roleAuthenticated = "authenticated"
	roleRelay         = "cl_event_relay"
	roleDefiner       = "cl_definer"
)

//go:embed doctor/*.sql
var doctorSQL embed.FS

func doctorQuery(name string) string {
	b, err := doctorSQL.ReadFile("doctor/" + name + ".sql")
	if err != nil {
		panic(err) // embedded: cannot happen
	}
	return string(b)
}

// Doctor checks that a database is set up as the library needs it to be
// safe: migrations applied, roles in place and subject to row-level
// security, every table's row-level security forced, the access helpers
// and every SECURITY DEFINER function locked down. It returns what is
// wrong, each with its exact fix; none means all is well. It only reads
// the catalogue (and the migrations' bookkeeping, which needs a superuser
// or BYPASSRLS role: connect as the role that migrates). cfg may be nil.
func Doctor(ctx context.Context, db Beginner, cfg *DoctorConfig) ([]Finding, error) {
	if cfg == nil {
		cfg = &DoctorConfig{}
	}
	status, err := ReadStatus(ctx, db)
	if err != nil {
		return nil, err
	}
	findings := migrationFindings(status)

	tx, err := db.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only
	// Names in the catalogue come out schema-qualified.
	if _, err := tx.Exec(ctx, `SET LOCAL search_path TO ''`); err != nil {
		return nil, err
	}
	run := func(check, query string, args ...any) error {
		rows, _ := tx.Query(ctx, doctorQuery(query), args...)
		got, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Finding, error) {
			f := Finding{Check: check}
			return f, row.Scan(&f.Object, &f.Problem, &f.Fix)
		})
		if err != nil {
			return fmt.Errorf("schema: doctor: %s: %w", check, err)
		}
		findings = append(findings, got...)
		return nil
	}
	if err := run(CheckRoles, "roles"); err != nil {
		return nil, err
	}
	appRoles, err := loginRoles(ctx, tx, CheckAppRoles, cfg.AppRoles, roleAuthenticated, &findings)
	if err != nil {
		return nil, err
	}
	relayRoles, err := loginRoles(ctx, tx, CheckRelayRoles, cfg.RelayRoles, roleRelay, &findings)
	if err != nil {
		return nil, err
	}
	checked := append(append([]string{roleAuthenticated, roleRelay, roleDefiner}, appRoles...), relayRoles...)
	sigs, granted, sources := make([]string, len(AccessHelpers)), make([]bool, len(AccessHelpers)), make([]string, len(AccessHelpers))
	for i, h := range AccessHelpers {
		sigs[i], granted[i], sources[i] = h.Signature, h.Authenticated, creatingMigration(h.Signature)
	}
	for _, c := range []struct {
		check, query string
		args         pgx.NamedArgs
	}{
		{CheckPrivileges, "privileges", pgx.NamedArgs{"roles": checked, "may_own": []string{roleDefiner}}},
		{CheckRLS, "rls", nil},
		{CheckAccessHelpers, "helpers", pgx.NamedArgs{"signatures": sigs, "granted": granted, "sources": sources}},
		{CheckDefiners, "definers", nil},
	} {
		var args []any
		if c.args != nil {
			args = []any{c.args}
		}
		if err := run(c.check, c.query, args...); err != nil {
			return nil, err
		}
	}
	return findings, nil
}

// loginRoles returns the login roles to check for one purpose: those
// named, else the members of memberOf; it records their findings.
func loginRoles(ctx context.Context, tx pgx.Tx, check string, named []string, memberOf string, findings *[]Finding) ([]string, error) {
	roles := named
	if len(roles) == 0 {
		rows, _ := tx.Query(ctx, doctorQuery("members"), memberOf)
		var err error
		if roles, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return nil, fmt.Errorf("schema: doctor: %s: %w", check, err)
		}
		if len(roles) == 0 {
			*findings = append(*findings, Finding{Check: check, Object: memberOf,
				Problem: "no login role is a member of " + memberOf,
				Fix:     fmt.Sprintf("CREATE ROLE app LOGIN PASSWORD '...' NOINHERIT; GRANT %s TO app;", memberOf)})
			return nil, nil
		}
	}
	rows, _ := tx.Query(ctx, doctorQuery("login_roles"), pgx.NamedArgs{"roles": roles, "member_of": memberOf})
	got, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Finding, error) {
		f := Finding{Check: check}
		return f, row.Scan(&f.Object, &f.Problem, &f.Fix)
	})
	if err != nil {
		return nil, fmt.Errorf("schema: doctor: %s: %w", check, err)
	}
	*findings = append(*findings, got...)
	return roles, nil
}

// creatingMigration names the migration file that creates the function of
// signature sig ("public.name(types)").
func creatingMigration(sig string) string {
	name := sig[:strings.IndexByte(sig, '(')]
	migrations, _ := List()
	for _, m := range migrations {
		if strings.Contains(m.SQL, "CREATE FUNCTION "+name+"(") {
			return "schema/migrations/" + m.Name
		}
	}
	return "the library's migrations"
}

func migrationFindings(s *Status) []Finding {
	var out []Finding
	if len(s.Pending) > 0 {
		names := make([]string, len(s.Pending))
		for i, m := range s.Pending {
			names[i] = m.Name
		}
		out = append(out, Finding{Check: CheckMigrations, Object: "public.platform_schema_migrations",
			Problem: fmt.Sprintf("%d of the library's migrations are not recorded as applied: %s", len(names), strings.Join(names, ", ")),
			Fix:     "platform migrate (or, where another tool applied schema/migrations, check that tool's bookkeeping)"})
	}
	for _, a := range s.Unknown {
		out = append(out, Finding{Check: CheckMigrations, Object: a.Name,
			Problem: fmt.Sprintf("migration %d (%s) is applied but unknown to this build of the library (newest %d): a newer build migrated the database", a.Version, a.Name, s.Latest),
			Fix:     "run the build of github.com/encoreos/platform-go that migrated the database, or a newer one"})
	}
	migrations, _ := List()
	for _, a := range s.Renamed {
		ours := ""
		for _, m := range migrations {
			if m.Version == a.Version {
				ours = m.Name
			}
		}
		out = append(out, Finding{Check: CheckMigrations, Object: a.Name,
			Problem: fmt.Sprintf("migration %d is recorded as %s; this library's file of that version is %s", a.Version, a.Name, ours),
			Fix:     fmt.Sprintf("find out which file was applied as version %d: a different migration is not this library's schema", a.Version)})
	}
	for _, a := range s.Changed {
		out = append(out, Finding{Check: CheckMigrations, Object: a.Name,
			Problem: fmt.Sprintf("migration %d (%s) was applied from a file that differs from this library's (checksum)", a.Version, a.Name),
			Fix:     "apply the schema from this build to a fresh database, or migrate with the build whose files this database was made from: an edited migration is not re-applied"})
	}
	return out
}
