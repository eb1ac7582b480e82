package platformtest_test

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/platformtest"
)

func TestMain(m *testing.M) { os.Exit(platformtest.Run(m)) }

func TestNewDBIsMigratedAndIsolated(t *testing.T) {
	t.Parallel()
	start := time.Now()
	a := platformtest.NewDB(t)
	t.Logf("first database (server start, template, clone): %s", time.Since(start))

	start = time.Now()
	b := platformtest.NewDB(t)
	t.Logf("fresh database from the template: %s", time.Since(start))
	require.NotEqual(t, a.Name, b.Name)

	ctx := context.Background()
	var n int
	require.NoError(t, a.Admin.QueryRow(ctx, `SELECT count(*) FROM public.platform_schema_migrations`).Scan(&n))
	require.Positive(t, n)

	a.NewOrg(t)
	require.NoError(t, b.Admin.QueryRow(ctx, `SELECT count(*) FROM public.pf_organizations`).Scan(&n))
	require.Zero(t, n, "databases share rows")
}

func TestSearchPathIsEmpty(t *testing.T) {
	t.Parallel()
	db := platformtest.NewDB(t)
	_, err := db.App.Exec(context.Background(), `SELECT count(*) FROM pf_organizations`)
	require.ErrorContains(t, err, "does not exist", "an unqualified name must not resolve")
}

// The app role is what a host's application role is: RLS applies to it.
func TestAppRoleIsSubjectToRLS(t *testing.T) {
	t.Parallel()
	db := platformtest.NewDB(t)
	ctx := context.Background()
	var user string
	var super, bypass bool
	var owned int
	require.NoError(t, db.App.QueryRow(ctx, `SELECT r.rolname, r.rolsuper, r.rolbypassrls,
		  (SELECT count(*) FROM pg_catalog.pg_class c WHERE c.relowner = r.oid)
		FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`).Scan(&user, &super, &bypass, &owned))
	require.Equal(t, platformtest.AppRole, user)
	require.False(t, super)
	require.False(t, bypass)
	require.Zero(t, owned)

	org := db.NewOrg(t)
	clinician := db.NewMember(t, org, "clinician")
	hr := db.NewMember(t, org, "hr_manager")
	db.NewChart(t, org, false)
	db.NewChart(t, db.NewOrg(t), false) // another organization's
	charts := func(user uuid.UUID) (n int) {
		t.Helper()
		require.NoError(t, platformtest.AsUser(ctx, db.App, user, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*) FROM public.cl_charts`).Scan(&n)
		}))
		return n
	}
	require.Equal(t, 1, charts(clinician), "a clinician sees its organization's charts")
	require.Zero(t, charts(hr), "HR holds no cl.chart.view")
	require.Zero(t, charts(uuid.New()), "a stranger sees nothing")
	_, err := db.App.Exec(ctx, `SELECT count(*) FROM public.cl_charts`)
	require.ErrorContains(t, err, "permission denied", "without an acting user the app role reads nothing")
}

func TestAsUserInsideATransactionRestoresItsRole(t *testing.T) {
	t.Parallel()
	db := platformtest.NewDB(t)
	ctx := context.Background()
	org := db.NewOrg(t)
	clinician := db.NewMember(t, org, "clinician")
	tx, err := db.App.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck
	var inside, after string
	require.NoError(t, platformtest.AsUser(ctx, tx, clinician, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT auth.uid()::text`).Scan(&inside)
	}))
	require.NoError(t, tx.QueryRow(ctx, `SELECT current_user`).Scan(&after))
	require.Equal(t, clinician.String(), inside)
	require.Equal(t, platformtest.AppRole, after)
}

func TestAsUserNeedsAUser(t *testing.T) {
	t.Parallel()
	called := false
	err := platformtest.AsUser(context.Background(), nil, uuid.Nil, func(pgx.Tx) error { called = true; return nil })
	require.ErrorIs(t, err, platformtest.ErrNoActingUser)
	require.False(t, called)
}

func TestNewEmptyDB(t *testing.T) {
	t.Parallel()
	cfg := platformtest.NewEmptyDB(t)
	ctx := context.Background()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var migrated bool
	require.NoError(t, conn.QueryRow(ctx, `SELECT pg_catalog.to_regclass('public.platform_schema_migrations') IS NOT NULL`).Scan(&migrated))
	require.False(t, migrated)
}

func TestTRunsCleanupsLastFirst(t *testing.T) {
	t.Parallel()
	pt := platformtest.NewT()
	var order []int
	pt.Cleanup(func() { order = append(order, 1) })
	pt.Cleanup(func() { order = append(order, 2) })
	ctx := pt.Context()
	pt.Close()
	require.Equal(t, []int{2, 1}, order)
	require.ErrorIs(t, ctx.Err(), context.Canceled)
}

func TestTFailuresAreLoud(t *testing.T) {
	t.Parallel()
	require.PanicsWithValue(t, "platformtest: no server", func() { platformtest.NewT().Fatalf("platformtest: %s", "no server") })
	require.Panics(t, func() { platformtest.NewT().Skip("an Example cannot skip") })

	pt := platformtest.NewT()
	cleaned := false
	pt.Cleanup(func() { cleaned = true })
	pt.Errorf("dropping %s failed", "a database")
	require.True(t, pt.Failed())
	require.Panics(t, pt.Close, "an error reported during the run fails it at Close")
	require.True(t, cleaned, "the cleanups ran before the panic")
}

// Without a server a test fails, and says why; it never passes or skips
// quietly. The failing test runs in a child process of this test binary.
func TestNewDBFailsLoudlyWithoutAServer(t *testing.T) {
	if os.Getenv("PLATFORMTEST_CHILD") == "1" {
		platformtest.NewDB(t)
		t.Log("NewDB returned without a server")
		return
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestNewDBFailsLoudlyWithoutAServer$", "-test.count=1")
	// Port 1 on the loopback: nothing listens, the connection is refused at once.
	cmd.Env = append(os.Environ(), "PLATFORMTEST_CHILD=1", "DATABASE_URL=postgres://nobody@127.0.0.1:1/postgres?connect_timeout=5")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "the child must fail: %s", out)
	require.Contains(t, string(out), "--- FAIL: TestNewDBFailsLoudlyWithoutAServer")
	require.Contains(t, string(out), "platformtest: preparing the template database on the DATABASE_URL server")
	require.NotContains(t, string(out), "NewDB returned")
}
