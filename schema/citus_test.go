package schema_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/testdb"
)

// The rules that keep the schema distributable by organization on Citus
// (README, "Scale-out on Citus"), checked over the migrated catalogue and
// the library's SQL without a Citus cluster. Each names what breaks on
// Citus when it is broken.

// citusReferenceTables are the tables without organization_id: global
// catalogues and the organizations themselves, replicated to every node.
// cl_charts has an organization but is a reference table too: the seed's
// cl_check_sud_consent(chart, type, user) finds a chart by id alone.
var citusReferenceTables = []string{"pf_organizations", "pf_permissions", "pf_roles", "pf_role_permissions",
	"pf_billing_codes", "pf_lookup_values", "hr_service_categories", "cl_charts",
	"pf_jurisdiction_profiles", "pf_jurisdiction_daily_caps", "pf_jurisdiction_rules"}

// citusOrganizationless are the functions reachable from policies that
// read tables without taking the organization, and why that holds on
// Citus.
var citusOrganizationless = map[string]string{
	"cl_check_sud_consent": "the seed's signature (chart, record type, user); it reads the organization from cl_charts, a reference table, and passes it on",
}

type function struct {
	name, lang, volatility, src string
	args                        []string
	trigger                     bool
}

func loadFunctions(t *testing.T, db *testdb.DB) map[string][]function {
	t.Helper()
	rows, err := db.Admin.Query(context.Background(), `
		SELECT p.proname, l.lanname, p.provolatile::text, p.prosrc, coalesce(p.proargnames, '{}'),
		       p.prorettype = 'trigger'::regtype
		FROM pg_catalog.pg_proc p
		JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
		JOIN pg_catalog.pg_language l ON l.oid = p.prolang
		WHERE n.nspname IN ('public', 'auth')`)
	require.NoError(t, err)
	out := map[string][]function{}
	for rows.Next() {
		var f function
		require.NoError(t, rows.Scan(&f.name, &f.lang, &f.volatility, &f.src, &f.args, &f.trigger))
		out[f.name] = append(out[f.name], f)
	}
	require.NoError(t, rows.Err())
	return out
}

var (
	callPattern  = regexp.MustCompile(`\b(?:public|auth)\.([a-z_][a-z0-9_]*)\s*\(`)
	tablePattern = regexp.MustCompile(`(?i)\b(?:FROM|JOIN|UPDATE|INTO)\s+public\.([a-z_][a-z0-9_]*)`)
)

func TestCitusRules(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	functions := loadFunctions(t, db)
	tables := map[string]bool{} // table -> has organization_id
	rows, err := db.Admin.Query(ctx, `
		SELECT c.relname, EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
		                          WHERE a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped)
		FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname NOT IN ('platform_schema_migrations', 'platform_host_schema_migrations')`)
	require.NoError(t, err)
	for rows.Next() {
		var name string
		var tenant bool
		require.NoError(t, rows.Scan(&name, &tenant))
		tables[name] = tenant
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, tables)

	t.Run("reference tables are the tables without an organization", func(t *testing.T) {
		for name, tenant := range tables {
			if !tenant {
				require.Contains(t, citusReferenceTables, name, "%s has no organization_id: a reference table, or a tenant table missing its key", name)
			}
		}
	})

	t.Run("every key of a tenant table includes organization_id", func(t *testing.T) {
		// Citus enforces uniqueness only within a shard.
		var broken []string
		require.NoError(t, pgx.BeginFunc(ctx, db.Admin, func(tx pgx.Tx) error {
			rows, _ := tx.Query(ctx, `
				SELECT i.indexrelid::regclass::text
				FROM pg_catalog.pg_index i
				JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
				JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
				WHERE n.nspname = 'public' AND i.indisunique
				  AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'organization_id')
				  AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(i.indkey) k
				                  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = k
				                  WHERE a.attname = 'organization_id')`)
			var err error
			broken, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		}))
		require.Empty(t, broken)
	})

	t.Run("no sequence orders tenant rows", func(t *testing.T) {
		// A sequence is per node on Citus: no global order to rely on.
		var broken []string
		rows, _ := db.Admin.Query(ctx, `
			SELECT c.relname || '.' || a.attname
			FROM pg_catalog.pg_attribute a
			JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
			JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
			LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
			WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0
			  AND (a.attidentity <> '' OR pg_catalog.pg_get_expr(d.adbin, c.oid) LIKE '%nextval%')`)
		broken, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		require.Empty(t, broken)
	})

	t.Run("no column-level INSERT grant", func(t *testing.T) {
		// Citus writes defaults out, which a column grant then refuses.
		var n int
		require.NoError(t, db.Admin.QueryRow(ctx, `
			SELECT count(*) FROM pg_catalog.pg_attribute a
			JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
			JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace,
			LATERAL pg_catalog.aclexplode(a.attacl) x
			WHERE n.nspname = 'public' AND x.privilege_type = 'INSERT'`).Scan(&n))
		require.Zero(t, n)
	})

	// The functions policies reach, directly or through other functions.
	var policyCalls []string
	require.NoError(t, pgx.BeginFunc(ctx, db.Admin, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `
			SELECT DISTINCT p.proname
			FROM pg_catalog.pg_policy pol,
			     LATERAL pg_catalog.regexp_matches(coalesce(pol.polqual::text, '') || coalesce(pol.polwithcheck::text, ''),
			                                       ':funcid (\d+)', 'g') m
			JOIN pg_catalog.pg_proc p ON p.oid = m[1]::oid
			JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
			WHERE n.nspname IN ('public', 'auth')`)
		var err error
		policyCalls, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	}))
	require.Contains(t, policyCalls, "cl_has_org_access")
	reach := map[string]bool{}
	for queue := policyCalls; len(queue) > 0; {
		name := queue[0]
		queue = queue[1:]
		if reach[name] {
			continue
		}
		reach[name] = true
		for _, f := range functions[name] {
			for _, m := range callPattern.FindAllStringSubmatch(f.src, -1) {
				if _, ok := functions[m[1]]; ok && !reach[m[1]] {
					queue = append(queue, m[1])
				}
			}
		}
	}

	t.Run("no sub-query in a policy", func(t *testing.T) {
		var n int
		require.NoError(t, db.Admin.QueryRow(ctx, `SELECT count(*) FROM pg_catalog.pg_policy
			WHERE polqual::text LIKE '%SUBLINK%' OR polwithcheck::text LIKE '%SUBLINK%'`).Scan(&n))
		require.Zero(t, n, "Subqueries are not supported in policies on distributed tables")
	})

	t.Run("functions policies reach take the organization and are PL/pgSQL", func(t *testing.T) {
		var broken []string
		for name := range reach {
			for _, f := range functions[name] {
				var read []string
				for _, m := range tablePattern.FindAllStringSubmatch(f.src, -1) {
					if _, isTable := tables[m[1]]; isTable && !slices.Contains(citusReferenceTables, m[1]) {
						read = append(read, m[1])
					}
				}
				if len(read) == 0 {
					continue
				}
				// An SQL function is inlined into the policy, where Citus
				// cannot plan it with parameters.
				if f.lang != "plpgsql" {
					broken = append(broken, name+" is "+f.lang)
				}
				// Without the organization every call fans out to every
				// shard.
				if _, excepted := citusOrganizationless[name]; !excepted && !slices.Contains(f.args, "p_organization_id") {
					broken = append(broken, name+" reads "+strings.Join(read, ", ")+" without the organization")
				}
			}
		}
		slices.Sort(broken)
		require.Empty(t, broken)
	})

	t.Run("triggers decide by the row, not by session state", func(t *testing.T) {
		// A worker sees neither the coordinator's SET ROLE nor its clock.
		equalsNow := regexp.MustCompile(`(?:[^:<>!]=|<>|!=|>=|<=)\s*pg_catalog\.(?:now|statement_timestamp|transaction_timestamp)\(\)(?:\s*$|\s*[^\s+\-])`)
		var broken []string
		for name, fs := range functions {
			for _, f := range fs {
				if !f.trigger {
					continue
				}
				if strings.Contains(f.src, "current_setting('role'") || regexp.MustCompile(`\bcurrent_user\b`).MatchString(f.src) {
					broken = append(broken, name+" decides by who runs the statement")
				}
				for _, m := range equalsNow.FindAllString(f.src, -1) {
					broken = append(broken, name+": "+strings.TrimSpace(m))
				}
				// On a shard TG_TABLE_NAME names the shard (table_102524):
				// naming it in a message is fine, deciding by it is not.
				if regexp.MustCompile(`(?i)TG_(?:TABLE_NAME|RELNAME)\s*(?:=|<>|!=|\bIN\b)|(?:=|<>|!=)\s*TG_(?:TABLE_NAME|RELNAME)\b|\bTG_RELID\b`).MatchString(f.src) {
					broken = append(broken, name+" decides by the trigger's table name")
				}
				// On a shard NEW and OLD are of the shard's row type, which
				// none of our functions takes (built-in polymorphic ones
				// such as to_jsonb do): pass ROW(NEW.*)::the_table.
				if regexp.MustCompile(`public\.\w+\(\s*(?:[^();]*,\s*)?(?:NEW|OLD)\s*[,)]`).MatchString(f.src) {
					broken = append(broken, name+" passes NEW or OLD itself to a function")
				}
			}
		}
		slices.Sort(broken)
		require.Empty(t, broken)
	})

	// A query over distributed tables runs on a worker, with whatever it
	// calls: there the transaction has another id than on the coordinator
	// (where the audit rows' transaction_id is filled in), so a query that
	// asks for it there takes this transaction's accounting line for an
	// earlier one (a Citus run found same-transaction lines opening Part 2
	// rows), and an accounting written there gives the coordinator no id
	// (the library would not read again).
	t.Run("the transaction's id is read on the coordinator, and the accounting runs there", func(t *testing.T) {
		anyXid := regexp.MustCompile(`pg_current_xact_id(?:_if_assigned)?\(\)`)
		assigned := regexp.MustCompile(`(?:(?:\w+\s+xid8\s*)?:=\s*|PERFORM\s+)pg_catalog\.pg_current_xact_id(?:_if_assigned)?\(\)\s*;`)
		accounting := regexp.MustCompile(`public\.cl_part2_(?:disclosed|account)\(`)
		var broken []string
		for name, fs := range functions {
			for _, f := range fs {
				if len(anyXid.FindAllString(f.src, -1)) != len(assigned.FindAllString(f.src, -1)) {
					broken = append(broken, name+" asks for the transaction's id inside a query")
				}
				for _, statement := range strings.Split(f.src, ";") {
					if !accounting.MatchString(statement) {
						continue
					}
					for _, m := range tablePattern.FindAllStringSubmatch(statement, -1) {
						if _, isTable := tables[m[1]]; isTable {
							broken = append(broken, name+" calls the accounting in a statement that reads "+m[1])
						}
					}
				}
			}
		}
		slices.Sort(broken)
		require.Empty(t, broken)
	})

	// Citus plans no sub-query inside an INSERT ... VALUES: read into a
	// variable first.
	subqueryInInsert := regexp.MustCompile(`(?is)\bINSERT\s+INTO\s+public\.\w+[^;]*?\bVALUES\b[^;]*?\(\s*SELECT\b`)
	volatileWrite := regexp.MustCompile(`(?is)\b(?:UPDATE\s+public\.\w+|DELETE\s+FROM\s+public\.\w+)[^;]*?\b(?:clock_timestamp|random|gen_random_uuid|nextval|timeofday)\s*\(`)
	t.Run("no ctid and no volatile function in an UPDATE or DELETE, in functions", func(t *testing.T) {
		var broken []string
		for name, fs := range functions {
			for _, f := range fs {
				if regexp.MustCompile(`\bctid\b`).MatchString(f.src) || volatileWrite.MatchString(f.src) || uidInWrite(f.src) ||
					subqueryInInsert.MatchString(f.src) {
					broken = append(broken, name)
				}
			}
		}
		slices.Sort(broken)
		require.Empty(t, broken, "pass the time in, the user as (SELECT auth.uid()), and no sub-query in an INSERT")
	})

	// A generic plan of a query over distributed tables with the
	// organization as a parameter cannot be routed to its shard: Citus
	// fails it (0A000), in the function and every function it calls.
	t.Run("no function forces a generic plan", func(t *testing.T) {
		rows, _ := db.Admin.Query(ctx, `SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
			JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
			WHERE n.nspname IN ('public', 'auth') AND 'plan_cache_mode=force_generic_plan' = ANY (p.proconfig)`)
		forced, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		require.Empty(t, forced)
	})

	// Citus runs an INSERT ... SELECT into a distributed table through
	// COPY, which row-level security refuses (0A000): a function inserts
	// row by row, with VALUES.
	t.Run("no INSERT ... SELECT in functions", func(t *testing.T) {
		insertSelect := regexp.MustCompile(`(?is)\bINSERT\s+INTO\s+[a-z_.]+\s*\([^)]*\)\s*SELECT\b`)
		var broken []string
		for name, fs := range functions {
			for _, f := range fs {
				if insertSelect.MatchString(f.src) {
					broken = append(broken, name)
				}
			}
		}
		slices.Sort(broken)
		require.Empty(t, broken)
	})

	t.Run("no ctid and no volatile function in an UPDATE or DELETE, in the library's SQL", func(t *testing.T) {
		var files int
		var broken []string
		require.NoError(t, filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "migrations" || strings.HasPrefix(d.Name(), ".")) && path != ".." {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".sql") {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			if regexp.MustCompile(`\bctid\b`).Match(b) || volatileWrite.Match(b) || subqueryInInsert.Match(b) {
				broken = append(broken, path)
			}
			// An upsert's DO UPDATE SET takes no function at all
			// (EXCLUDED carries the inserted values).
			text := string(b)
			if uidInWrite(text) {
				broken = append(broken, path+": auth.uid() in a write, not as (SELECT auth.uid())")
			}
			if i := strings.Index(text, "DO UPDATE"); i >= 0 && regexp.MustCompile(`\b(?:auth\.uid|now|statement_timestamp|clock_timestamp)\s*\(`).MatchString(text[i:]) {
				broken = append(broken, path+": a function in DO UPDATE SET")
			}
			return nil
		}))
		require.Greater(t, files, 20)
		require.Empty(t, broken, "pass the time in instead")
	})
}

// A worker that did not receive the claims sees a session without an
// acting user: it must refuse, never skip its checks. So must plain
// PostgreSQL for any session as `authenticated` without claims.
func TestNoActingUserMeansNoAccess(t *testing.T) {
	t.Parallel()
	c := newClinic(t)
	ctx := context.Background()
	asNobody := func(sql string, args ...any) (int, error) {
		var n int
		err := pgx.BeginFunc(ctx, c.db.App, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_catalog.set_config('role', 'authenticated', true)`); err != nil {
				return err
			}
			return tx.QueryRow(ctx, sql, args...).Scan(&n)
		})
		return n, err
	}
	for table := range clinicalReads {
		n, err := asNobody(`SELECT count(*)::int FROM public.` + table)
		require.NoError(t, err, table)
		require.Zero(t, n, table)
	}
	_, err := asNobody(insertEncounter, c.org, c.chart, c.peerA, twoHoursAgo(), nil)
	require.Equal(t, denied, dbtx.Code(err), "got %v", err)
	n, err := asNobody(`WITH u AS (UPDATE public.cl_peer_encounters SET service_type = service_type WHERE id = $1 RETURNING 1)
		SELECT count(*)::int FROM u`, c.draftB)
	require.NoError(t, err)
	require.Zero(t, n)
}

// Every PL/pgSQL function, and every trigger function on each table it is
// attached to, passes plpgsql_check with its extra, performance and
// security warnings: no error and no warning, so a future function can't
// slip by unverified. (plpgsql_check: Debian's postgresql-15-plpgsql-check,
// which .ci/run installs.)
func TestEveryFunctionPassesPlpgsqlCheck(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	_, err := db.Admin.Exec(ctx, `CREATE SCHEMA plpgsql_check; CREATE EXTENSION plpgsql_check SCHEMA plpgsql_check`)
	require.NoError(t, err, "install plpgsql_check (postgresql-15-plpgsql-check) to run this test")
	var checked int
	require.NoError(t, db.Admin.QueryRow(ctx, `
		SELECT count(*) FROM pg_catalog.pg_proc p
		JOIN pg_catalog.pg_language l ON l.oid = p.prolang
		JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname IN ('public', 'auth') AND l.lanname = 'plpgsql'`).Scan(&checked))
	require.Greater(t, checked, 50)
	const check = `
		WITH targets AS (
		  SELECT p.oid AS fn, 0::oid AS rel
		  FROM pg_catalog.pg_proc p
		  JOIN pg_catalog.pg_language l ON l.oid = p.prolang
		  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
		  WHERE n.nspname IN ('public', 'auth') AND l.lanname = 'plpgsql' AND p.prorettype <> 'trigger'::regtype
		  UNION
		  SELECT t.tgfoid, t.tgrelid
		  FROM pg_catalog.pg_trigger t
		  JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
		  JOIN pg_catalog.pg_language l ON l.oid = p.prolang
		  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
		  WHERE n.nspname = 'public' AND l.lanname = 'plpgsql' AND NOT t.tgisinternal)
		SELECT t.fn::regprocedure::text || coalesce(' on ' || nullif(t.rel, 0)::regclass::text, '') || ': ' || r.level || ': ' || r.message
		FROM targets t,
		     LATERAL plpgsql_check.plpgsql_check_function_tb(t.fn, t.rel, extra_warnings => true, performance_warnings => true,
		                                              security_warnings => true) r`
	findings := func() []string {
		rows, _ := db.Admin.Query(ctx, check)
		found, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return found
	}
	// The control: a function with an error is reported.
	_, err = db.Admin.Exec(ctx, `CREATE FUNCTION public.zz_control() RETURNS integer LANGUAGE plpgsql
		AS $$ BEGIN RETURN (SELECT no_such_column FROM public.pf_roles LIMIT 1); END $$`)
	require.NoError(t, err)
	require.Len(t, findings(), 1)
	_, err = db.Admin.Exec(ctx, `DROP FUNCTION public.zz_control()`)
	require.NoError(t, err)
	require.Empty(t, findings())
}

// uidInWrite reports whether an UPDATE or DELETE in sql calls auth.uid()
// other than as (SELECT auth.uid()): the function is inlined as a
// coalesce, which Citus refuses in a write, while a sub-select is
// evaluated once, on the coordinator.
func uidInWrite(sql string) bool {
	for _, stmt := range regexp.MustCompile(`(?is)\b(?:UPDATE\s+public\.\w+|DELETE\s+FROM\s+public\.\w+)[^;]*`).FindAllString(sql, -1) {
		for _, at := range regexp.MustCompile(`auth\.uid\(\)`).FindAllStringIndex(stmt, -1) {
			if !strings.HasSuffix(strings.TrimRight(stmt[:at[0]], " "), "(SELECT") {
				return true
			}
		}
	}
	return false
}
