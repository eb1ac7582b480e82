package schema_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/testdb"
)

// Every SECURITY DEFINER function, present and future, has a fixed
// search_path and is executable by nobody but `authenticated` (or nobody).
func TestEverySecurityDefinerFunctionIsLockedDown(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	rows, _ := db.Admin.Query(context.Background(), `
		SELECT n.nspname || '.' || p.proname AS name,
		       coalesce((SELECT bool_or(c LIKE 'search_path=%') FROM unnest(p.proconfig) c), false) AS has_search_path,
		       p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0) AS public_can_execute,
		       coalesce((SELECT array_agg(r.rolname::text ORDER BY r.rolname) FROM aclexplode(p.proacl) a
		                 JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
		                 WHERE a.grantee <> p.proowner), '{}') AS grantees
		FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
		WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema')`)
	type fn struct {
		Name             string
		HasSearchPath    bool
		PublicCanExecute bool
		Grantees         []string
	}
	fns, err := pgx.CollectRows(rows, pgx.RowToStructByName[fn])
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(fns), 10, "the query must find the helpers")
	for _, f := range fns {
		require.True(t, f.HasSearchPath, "%s: SECURITY DEFINER without SET search_path", f.Name)
		require.False(t, f.PublicCanExecute, "%s: PUBLIC may execute it", f.Name)
		for _, g := range f.Grantees {
			require.Equal(t, dbtx.Role, g, "%s: executable by %s", f.Name, g)
		}
	}
}

// Every table, present and future, has row-level security enabled and
// forced.
func TestEveryTableForcesRowLevelSecurity(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	rows, _ := db.Admin.Query(context.Background(), `
		SELECT c.relname::text FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT (c.relrowsecurity AND c.relforcerowsecurity)`)
	offenders, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Empty(t, offenders)

	var tables int
	require.NoError(t, db.Admin.QueryRow(context.Background(), `SELECT count(*) FROM pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'`).Scan(&tables))
	require.GreaterOrEqual(t, tables, 15)
}

type tenants struct {
	db          *testdb.DB
	orgA, orgB  uuid.UUID
	userA       uuid.UUID // member of A only
	both        uuid.UUID // member of A and B
	sessionA    uuid.UUID
	attendanceA uuid.UUID
	chartB      uuid.UUID
}

func twoTenants(t *testing.T) *tenants {
	t.Helper()
	db := testdb.New(t)
	x := &tenants{db: db, orgA: db.NewOrg(t), orgB: db.NewOrg(t)}
	x.userA = db.NewMember(t, x.orgA, "clinician")
	x.both = db.NewMember(t, x.orgA, "clinician")
	db.AddMember(t, x.orgB, x.both, "clinician")
	for _, org := range []uuid.UUID{x.orgA, x.orgB} {
		fac := db.NewMember(t, org, "clinician")
		chart := db.NewChart(t, org, false)
		var session, attendance uuid.UUID
		require.NoError(t, db.Admin.QueryRow(context.Background(), `
			INSERT INTO public.cl_group_sessions (organization_id, facilitator_id, service_type, scheduled_start, scheduled_end)
			VALUES ($1, $2, 'group_therapy', now(), now() + interval '1 hour') RETURNING id`, org, fac).Scan(&session))
		require.NoError(t, db.Admin.QueryRow(context.Background(), `
			INSERT INTO public.cl_group_attendance (organization_id, session_id, chart_id) VALUES ($1, $2, $3) RETURNING id`,
			org, session, chart).Scan(&attendance))
		if org == x.orgA {
			x.sessionA, x.attendanceA = session, attendance
		} else {
			x.chartB = chart
		}
	}
	return x
}

func (x *tenants) as(t *testing.T, user uuid.UUID, fn func(tx pgx.Tx) error) error {
	t.Helper()
	return dbtx.Run(context.Background(), x.db.App, user, fn)
}

func TestOneOrganizationCannotReadOrCountAnothers(t *testing.T) {
	t.Parallel()
	x := twoTenants(t)
	ctx := context.Background()
	for _, table := range []string{"cl_charts", "cl_group_sessions", "cl_group_attendance", "pf_members", "pf_organizations"} {
		var mine, theirs int
		orgColumn := "organization_id"
		if table == "pf_organizations" {
			orgColumn = "id"
		}
		require.NoError(t, x.as(t, x.userA, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE `+orgColumn+` = $1), count(*) FILTER (WHERE `+orgColumn+` = $2)
				FROM public.`+table, x.orgA, x.orgB).Scan(&mine, &theirs)
		}), table)
		require.Positive(t, mine, table)
		require.Zero(t, theirs, "%s: organization B's rows are visible to A", table)
	}
	// Even a direct lookup by id finds nothing.
	var n int
	require.NoError(t, x.as(t, x.userA, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM public.cl_charts WHERE id = $1`, x.chartB).Scan(&n)
	}))
	require.Zero(t, n)
}

func TestAnUpdateCannotMoveARowToAnotherOrganization(t *testing.T) {
	t.Parallel()
	x := twoTenants(t)
	ctx := context.Background()
	// A member of A only: WITH CHECK refuses the new organization.
	err := x.as(t, x.userA, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE public.cl_group_sessions SET organization_id = $1 WHERE id = $2`, x.orgB, x.sessionA)
		return err
	})
	require.True(t, dbtx.IsPermissionDenied(err), "WITH CHECK must refuse: %v", err)

	// A member of both organizations may not even update the column ...
	err = x.as(t, x.both, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE public.cl_group_attendance SET organization_id = $1 WHERE id = $2`, x.orgB, x.attendanceA)
		return err
	})
	require.True(t, dbtx.IsPermissionDenied(err), "got %v", err)
	// ... and whatever policies and grants say (here as the superuser, who
	// bypasses both), the composite foreign keys refuse: the attendance row
	// would point at A's session and chart from organization B.
	_, err = x.db.Admin.Exec(ctx, `UPDATE public.cl_group_attendance SET organization_id = $1 WHERE id = $2`, x.orgB, x.attendanceA)
	require.True(t, dbtx.IsForeignKeyViolation(err), "the composite foreign key must refuse: %v", err)
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	org := db.NewOrg(t)
	officer := db.NewMember(t, org, "privacy_officer")

	var id uuid.UUID
	require.NoError(t, dbtx.Run(ctx, db.App, officer, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT public.pf_audit_record($1, NULL, 'host.report.exported', 'chart', $2, 'TREAT', '{"format":"csv","rows":3}')`,
			org, uuid.New()).Scan(&id)
	}))
	var actor uuid.UUID
	require.NoError(t, db.Admin.QueryRow(ctx, `SELECT actor_user_id FROM public.pf_audit_logs WHERE id = $1`, id).Scan(&actor))
	require.Equal(t, officer, actor, "the actor is always auth.uid()")

	// As `authenticated`, even a reader of the log may not change it.
	for _, stmt := range []string{
		`UPDATE public.pf_audit_logs SET action = 'x.y' WHERE id = $1`,
		`DELETE FROM public.pf_audit_logs WHERE id = $1`,
		`INSERT INTO public.pf_audit_logs (organization_id, action, target_type) SELECT organization_id, 'x.y', 'chart' FROM public.pf_audit_logs WHERE id = $1`,
	} {
		err := dbtx.Run(ctx, db.App, officer, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, stmt, id); return err })
		require.True(t, dbtx.IsPermissionDenied(err), "%s: %v", stmt, err)
	}
	// Not even the owner (here a superuser) can.
	for _, stmt := range []string{
		`UPDATE public.pf_audit_logs SET action = 'x.y' WHERE id = $1`,
		`DELETE FROM public.pf_audit_logs WHERE id = $1`,
		`TRUNCATE public.pf_audit_logs`,
	} {
		args := []any{id}
		if stmt == `TRUNCATE public.pf_audit_logs` {
			args = nil
		}
		_, err := db.Admin.Exec(ctx, stmt, args...)
		require.ErrorContains(t, err, "append-only", stmt)
	}

	// Free text cannot enter the log, and nobody writes into another
	// organization's log.
	err := dbtx.Run(ctx, db.App, officer, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SELECT public.pf_audit_record($1, NULL, 'host.note.viewed', 'chart', NULL, NULL, '{"comment":"Jane Doe, DOB 1980-01-01"}')`, org)
		return err
	})
	require.True(t, dbtx.IsCheckViolation(err), "got %v", err)
	err = dbtx.Run(ctx, db.App, officer, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SELECT public.pf_audit_record($1, NULL, 'host.note.viewed', 'chart', NULL, NULL, '{}')`, db.NewOrg(t))
		return err
	})
	require.True(t, dbtx.IsPermissionDenied(err), "got %v", err)
	// Nor forge the library's own rows (the accounting of disclosures reads them).
	err = dbtx.Run(ctx, db.App, officer, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SELECT public.pf_audit_record($1, NULL, 'part2.consent.revoked', 'chart', $2, NULL, '{"consent_id":"x"}')`, org, uuid.New())
		return err
	})
	require.True(t, dbtx.IsInvalidParameter(err), "got %v", err)
	err = dbtx.Run(ctx, db.App, officer, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SELECT public.pf_audit_write($1, $2, NULL, 'x.y', 'chart', NULL, NULL, '{}')`, uuid.New(), org)
		return err
	})
	require.True(t, dbtx.IsPermissionDenied(err), "the raw writer is not for `authenticated`: %v", err)
}
