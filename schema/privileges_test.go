package schema_test

import (
	"context"
	"regexp"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/internal/testdb"
	"github.com/encoreos/platform-go/schema"
)

// privilegesSQL lists what the client roles may do with the library's
// objects: every table and view privilege, column by column, and EXECUTE
// on every function of the library (owned by cl_definer).
const privilegesSQL = `
WITH roles(role) AS (SELECT r.rolname FROM pg_catalog.pg_roles r WHERE r.rolname IN ('authenticated', 'anon')),
rels AS (
  SELECT c.oid, c.relname FROM pg_catalog.pg_class c
  WHERE c.relnamespace = 'public'::regnamespace
    AND (c.relname = ANY (public.pf_library_tables()) OR c.relname IN ('cl_peer_supervision_shown', 'cl_multi_party_encounters_shown'))
)
SELECT r.role || ' ' || x.relname || ' ' || p.priv FROM roles r, rels x,
  pg_catalog.unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) p(priv)
WHERE pg_catalog.has_table_privilege(r.role, x.oid, p.priv)
UNION ALL
SELECT r.role || ' ' || x.relname || '.' || a.attname || ' ' || p.priv FROM roles r, rels x
  JOIN pg_catalog.pg_attribute a ON a.attrelid = x.oid AND a.attnum > 0 AND NOT a.attisdropped,
  pg_catalog.unnest(ARRAY['SELECT', 'INSERT', 'UPDATE']) p(priv)
WHERE pg_catalog.has_column_privilege(r.role, x.oid, a.attnum, p.priv)
UNION ALL
SELECT r.role || ' ' || f.oid::regprocedure::text || ' EXECUTE' FROM roles r, pg_catalog.pg_proc f
WHERE f.pronamespace = 'public'::regnamespace AND f.proowner = 'cl_definer'::regrole
  AND pg_catalog.has_function_privilege(r.role, f.oid, 'EXECUTE')
ORDER BY 1`

func privileges(t *testing.T, conn *pgx.Conn) []string {
	t.Helper()
	rows, _ := conn.Query(context.Background(), privilegesSQL)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return out
}

// A host like Supabase grants its client roles everything in schema public
// by default, and may have granted them its own tables before the library
// arrives. The library's migrations leave `authenticated` exactly the
// privileges they grant and `anon` none, take over no function of the
// host's or of an extension, and add nothing to the host's other tables.
func TestTheLibraryGrantsExactlyItsPrivilegesWhateverTheHostGranted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	plain, err := pgx.ConnectConfig(ctx, testdb.NewEmptyMigrated(t))
	require.NoError(t, err)
	defer plain.Close(ctx)
	want := privileges(t, plain)
	require.NotEmpty(t, want)

	conn, err := pgx.ConnectConfig(ctx, testdb.NewEmpty(t))
	require.NoError(t, err)
	defer conn.Close(ctx)
	exec := func(sql string) {
		t.Helper()
		_, err := conn.Exec(ctx, sql)
		require.NoError(t, err, sql)
	}
	exec(`DO $$ BEGIN
	  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN CREATE ROLE anon NOLOGIN; END IF;
	  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN CREATE ROLE authenticated NOLOGIN NOINHERIT; END IF;
	  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'host_reporting') THEN CREATE ROLE host_reporting NOLOGIN; END IF;
	END $$`)
	exec(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated`)
	exec(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated`)
	exec(`CREATE EXTENSION IF NOT EXISTS pgcrypto SCHEMA public`)
	host, err := schema.ListHostStandIns()
	require.NoError(t, err)
	for _, m := range host {
		exec(m.SQL)
	}
	exec(`CREATE TABLE public.host_payroll (id int PRIMARY KEY)`)
	exec(`ALTER TABLE public.host_payroll ENABLE ROW LEVEL SECURITY`)
	exec(`CREATE FUNCTION public.host_lookup() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1'`)
	exec(`ALTER FUNCTION public.host_lookup() OWNER TO host_reporting`)
	exec(`GRANT ALL ON ALL TABLES IN SCHEMA public TO anon, authenticated`)

	_, err = schema.MigrateLibrary(ctx, conn)
	require.NoError(t, err)
	got := privileges(t, conn)
	require.Equal(t, filter(want, "authenticated"), filter(got, "authenticated"), "authenticated holds exactly the library's grants")
	rows, _ := conn.Query(ctx, `SELECT 'anon ' || f.oid::regprocedure::text || ' EXECUTE' FROM pg_proc f
		WHERE f.pronamespace = 'public'::regnamespace AND f.proowner = 'cl_definer'::regrole
		  AND (f.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(f.proacl) a WHERE a.grantee = 0)) ORDER BY 1`)
	everyones, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Subset(t, everyones, filter(got, "anon"),
		"anon holds nothing of the library's but what everyone may run (pure checks such as pf_plausible_time)")

	var owner string
	require.NoError(t, conn.QueryRow(ctx, `SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE oid = 'public.host_lookup()'::regprocedure`).Scan(&owner))
	require.Equal(t, "host_reporting", owner, "the host's function stays the host's")
	require.NoError(t, conn.QueryRow(ctx, `SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE oid = 'public.digest(text, text)'::regprocedure`).Scan(&owner))
	require.NotEqual(t, "cl_definer", owner, "an extension's function stays the extension's")
	var policies int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_policies WHERE tablename = 'host_payroll'`).Scan(&policies))
	require.Zero(t, policies, "the host's other tables are left alone")
}

func filter(lines []string, role string) []string {
	return slices.DeleteFunc(slices.Clone(lines), func(l string) bool { return !regexp.MustCompile(`^` + role + ` `).MatchString(l) })
}

// pf_library_tables names every table the two lines create: the one list
// pf_apply_least_privilege works from.
func TestTheLibraryKnowsItsTables(t *testing.T) {
	t.Parallel()
	created := regexp.MustCompile(`CREATE TABLE public\.([a-z0-9_]+)`)
	var want []string
	for _, list := range []func() ([]schema.Migration, error){schema.ListHostStandIns, schema.List} {
		migrations, err := list()
		require.NoError(t, err)
		for _, m := range migrations {
			for _, match := range created.FindAllStringSubmatch(m.SQL, -1) {
				want = append(want, match[1])
			}
		}
	}
	conn, err := pgx.ConnectConfig(context.Background(), testdb.NewEmptyMigrated(t))
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var got []string
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT public.pf_library_tables()`).Scan(&got))
	slices.Sort(want)
	slices.Sort(got)
	require.Equal(t, want, got)
}
