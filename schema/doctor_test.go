package schema_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/internal/testdb"
	"github.com/encoreos/platform-go/schema"
)

// appRoles checks the test's own login role only: roles are the cluster's,
// and other tests create theirs.
var appRoles = &schema.DoctorConfig{AppRoles: []string{testdb.AppRole}, RelayRoles: []string{testdb.AppRole}}

func doctor(t *testing.T, db *testdb.DB, cfg *schema.DoctorConfig) []schema.Finding {
	t.Helper()
	findings, err := schema.Doctor(context.Background(), db.Admin, cfg)
	require.NoError(t, err)
	return findings
}

// newLoginRole creates a login role of the cluster with a unique name
// (role attributes and grants are given as SQL), dropped when t ends.
func newLoginRole(t *testing.T, db *testdb.DB, attributes string, grants ...string) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "doctor_app_" + hex.EncodeToString(b)
	db.Exec(t, `CREATE ROLE `+name+` LOGIN NOINHERIT `+attributes)
	for _, g := range grants {
		db.Exec(t, `GRANT `+g+` TO `+name)
	}
	t.Cleanup(func() {
		// The role may own objects in the test's database, dropped by then.
		_, _ = db.Admin.Exec(context.Background(), `REASSIGN OWNED BY `+name+` TO CURRENT_USER`)
		_, _ = db.Admin.Exec(context.Background(), `DROP OWNED BY `+name)
		if _, err := db.Admin.Exec(context.Background(), `DROP ROLE `+name); err != nil {
			t.Errorf("dropping role %s: %v", name, err)
		}
	})
	return name
}

func TestDoctorFindsNothingWrongAfterMigrate(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	require.Empty(t, doctor(t, db, appRoles))
}

// Each finding's fix, run as the migrating role, puts it right: after
// them the doctor finds nothing.
func TestDoctorNamesTheExactFix(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	superApp := newLoginRole(t, db, "SUPERUSER", "authenticated")
	definerApp := newLoginRole(t, db, "", "authenticated", "cl_definer")
	owningApp := newLoginRole(t, db, "", "authenticated")
	notMember := newLoginRole(t, db, "")
	for _, stmt := range []string{
		`ALTER TABLE public.cl_charts NO FORCE ROW LEVEL SECURITY`,
		`ALTER TABLE public.cl_peer_encounters DISABLE ROW LEVEL SECURITY`,
		`ALTER FUNCTION public.cl_has_org_access(uuid) SECURITY INVOKER`,
		`ALTER FUNCTION public.cl_has_site_access(uuid, uuid) RESET search_path`,
		`GRANT EXECUTE ON FUNCTION public.cl_has_permission(uuid, text) TO PUBLIC`,
		`GRANT EXECUTE ON FUNCTION public.cl_member_has_permission(uuid, uuid, text, uuid) TO authenticated`,
		`ALTER TABLE public.cl_pm_events OWNER TO ` + owningApp,
		`REVOKE UPDATE (last_error) ON public.cl_pm_events FROM cl_event_relay`,
		`ALTER DATABASE ` + db.Name + ` OWNER TO ` + owningApp,
	} {
		db.Exec(t, stmt)
	}
	cfg := &schema.DoctorConfig{AppRoles: []string{superApp, definerApp, owningApp, notMember}, RelayRoles: []string{testdb.AppRole}}
	findings := doctor(t, db, cfg)

	var migrator string // the fixes hand objects back to the role running the doctor
	require.NoError(t, db.Admin.QueryRow(ctx, `SELECT current_user`).Scan(&migrator))
	fixes := map[string]string{} // problem -> fix
	for _, f := range findings {
		fixes[f.Check+": "+f.Problem] = f.Fix
	}
	want := map[string]string{
		"rls: row-level security is not forced on public.cl_charts: its owner reads around the policies":                                                                      `ALTER TABLE public.cl_charts FORCE ROW LEVEL SECURITY;`,
		"rls: row-level security is not enabled on public.cl_peer_encounters":                                                                                                 `ALTER TABLE public.cl_peer_encounters ENABLE ROW LEVEL SECURITY;`,
		"access_helpers: access helper public.cl_has_org_access(uuid) is not SECURITY DEFINER: it runs as the user, whom row-level security keeps from the membership tables": `ALTER FUNCTION public.cl_has_org_access(uuid) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;`,
		"definer_functions: SECURITY DEFINER function public.cl_has_site_access(uuid,uuid) has no fixed search_path: a caller's objects could be found first":                 `ALTER ROUTINE public.cl_has_site_access(uuid,uuid) SET search_path = pg_catalog, pg_temp;`,
		"access_helpers: PUBLIC may execute access helper public.cl_has_permission(uuid,text)":                                                                                `REVOKE ALL ON FUNCTION public.cl_has_permission(uuid,text) FROM PUBLIC;`,
		"definer_functions: PUBLIC may execute SECURITY DEFINER function public.cl_has_permission(uuid,text)":                                                                 `REVOKE ALL ON ROUTINE public.cl_has_permission(uuid,text) FROM PUBLIC;`,
		"access_helpers: authenticated may execute public.cl_member_has_permission(uuid,uuid,text,uuid), which answers about any user's permissions":                          `REVOKE EXECUTE ON FUNCTION public.cl_member_has_permission(uuid,uuid,text,uuid) FROM authenticated;`,
		"privileges: " + superApp + " has SUPERUSER: row-level security never applies to it":                                                                                  `ALTER ROLE ` + superApp + ` NOSUPERUSER;`,
		"privileges: " + owningApp + " owns TABLE public.cl_pm_events: an owner can disable or bypass row-level security":                                                     `ALTER TABLE public.cl_pm_events OWNER TO ` + migrator + `;`,
		"roles: cl_event_relay may not read the outbox and mark its events: the relay fails":                                                                                  `GRANT SELECT, UPDATE (status, attempts, next_attempt_at, last_error, delivered_at, envelope, compacted_at) ON public.cl_pm_events TO cl_event_relay;`,
		"privileges: " + owningApp + " owns DATABASE " + db.Name + ": an owner can disable or bypass row-level security (it owns schema public through pg_database_owner)":    `ALTER DATABASE ` + db.Name + ` OWNER TO ` + migrator + `;`,
		"app_roles: role " + notMember + " is not a member of authenticated":                                                                                                  `GRANT authenticated TO ` + notMember + `;`,
	}
	for problem, fix := range want {
		require.Contains(t, fixes, problem, "all findings: %v", findings)
		require.Equal(t, fix, fixes[problem], problem)
	}
	var definerFinding *schema.Finding
	for i, f := range findings {
		if f.Check == schema.CheckPrivileges && f.Object == definerApp {
			definerFinding = &findings[i]
		}
	}
	require.NotNil(t, definerFinding, "acting as cl_definer, the functions' owner: %v", findings)
	require.Contains(t, definerFinding.Problem, definerApp+" can act as cl_definer, which owns")
	require.Equal(t, `REVOKE cl_definer FROM `+definerApp+`;`, definerFinding.Fix)
	for _, f := range findings {
		require.NotEqual(t, schema.CheckMigrations, f.Check, "nothing wrong with the migrations: %v", f)
	}

	for _, f := range findings {
		_, err := db.Admin.Exec(ctx, f.Fix)
		require.NoError(t, err, "the fix of %v", f)
	}
	require.Empty(t, doctor(t, db, cfg), "every fix applied")
}

// What has no one-statement fix is named with the step: a missing helper,
// unapplied migrations.
func TestDoctorNamesMissingHelpersAndMigrations(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	db.Exec(t, `ALTER FUNCTION public.cl_staff_holds(uuid, uuid, text) RENAME TO cl_staff_holds_renamed`)
	db.Exec(t, `DELETE FROM public.platform_schema_migrations WHERE version = (SELECT max(version) FROM public.platform_schema_migrations)`)
	findings := doctor(t, db, appRoles)
	require.Len(t, findings, 2, "%v", findings)

	migrations, err := schema.List()
	require.NoError(t, err)
	require.Equal(t, schema.CheckMigrations, findings[0].Check)
	require.Equal(t, "1 of the library's migrations are not recorded as applied: "+migrations[len(migrations)-1].Name, findings[0].Problem)
	require.Equal(t, schema.CheckAccessHelpers, findings[1].Check)
	require.Equal(t, "public.cl_staff_holds(uuid,uuid,text)", findings[1].Object)
	require.True(t, strings.HasPrefix(findings[1].Fix, "create it as schema/migrations/"+creating(t, "public.cl_staff_holds")+" does"), findings[1].Fix)
}

// creating names the migration file that creates function fn.
func creating(t *testing.T, fn string) string {
	t.Helper()
	migrations, err := schema.List()
	require.NoError(t, err)
	for _, m := range migrations {
		if strings.Contains(m.SQL, "CREATE FUNCTION "+fn+"(") {
			return m.Name
		}
	}
	t.Fatalf("no migration creates %s", fn)
	return ""
}

// Without names, the doctor checks every login role granted authenticated
// or cl_event_relay.
func TestDoctorFindsTheLoginRoles(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	relay := newLoginRole(t, db, "BYPASSRLS", "cl_event_relay")
	var found bool
	for _, f := range doctor(t, db, nil) {
		if f.Check == schema.CheckPrivileges && f.Object == relay {
			require.Equal(t, `ALTER ROLE `+relay+` NOBYPASSRLS;`, f.Fix)
			found = true
		}
	}
	require.True(t, found, "the relay's login role is found and checked")
}

func TestReadStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	migrations, err := schema.List()
	require.NoError(t, err)
	cfg := testdb.NewEmpty(t)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err)
	defer conn.Close(ctx)

	s, err := schema.ReadStatus(ctx, conn)
	require.NoError(t, err)
	require.Zero(t, s.Version())
	_, err = schema.ReadStatus(ctx, testdb.New(t).App)
	require.ErrorIs(t, err, schema.ErrInsufficientPrivilege, "a role row-level security applies to")
	require.Len(t, s.Pending, len(migrations), "an empty database has everything pending")
	require.False(t, s.Current())

	_, err = schema.Migrate(ctx, conn)
	require.NoError(t, err)
	s, err = schema.ReadStatus(ctx, conn)
	require.NoError(t, err)
	require.True(t, s.Current())
	require.Equal(t, s.Latest, s.Version())
	require.Len(t, s.Applied, len(migrations))

	_, err = conn.Exec(ctx, `UPDATE public.platform_schema_migrations SET name = '0002_something_else.up.sql' WHERE version = 2;
		INSERT INTO public.platform_schema_migrations (version, name) VALUES (9999, '9999_from_the_future.up.sql')`)
	require.NoError(t, err)
	s, err = schema.ReadStatus(ctx, conn)
	require.NoError(t, err)
	require.False(t, s.Current())
	require.Equal(t, 9999, s.Version())
	require.Len(t, s.Renamed, 1)
	require.Equal(t, 2, s.Renamed[0].Version)
	require.Len(t, s.Unknown, 1)
	require.Empty(t, s.Pending)

	// A file edited after it was applied: its recorded checksum differs.
	_, err = conn.Exec(ctx, `UPDATE public.platform_schema_migrations SET checksum = repeat('0', 64) WHERE version = 3`)
	require.NoError(t, err)
	s, err = schema.ReadStatus(ctx, conn)
	require.NoError(t, err)
	require.Len(t, s.Changed, 1)
	require.Equal(t, 3, s.Changed[0].Version)
	for _, m := range migrations {
		if m.Version == 4 {
			require.Equal(t, m.Checksum, *s.Applied[3].Checksum, "the checksum recorded is the file's")
		}
	}
}
