package testdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

func TestNewDatabaseIsMigratedAndIsolated(t *testing.T) {
	t.Parallel()
	start := time.Now()
	a := testdb.New(t)
	t.Logf("first database (server start, template, clone): %s", time.Since(start))

	start = time.Now()
	b := testdb.New(t)
	t.Logf("fresh database from the template: %s", time.Since(start))
	require.NotEqual(t, a.Name, b.Name)

	ctx := context.Background()
	var n int
	require.NoError(t, a.Admin.QueryRow(ctx, `SELECT count(*) FROM public.platform_schema_migrations`).Scan(&n))
	require.Positive(t, n)

	_, err := a.Admin.Exec(ctx, `INSERT INTO public.pf_organizations (name) VALUES ('only in a')`)
	require.NoError(t, err)
	require.NoError(t, b.Admin.QueryRow(ctx, `SELECT count(*) FROM public.pf_organizations`).Scan(&n))
	require.Zero(t, n, "databases share rows")
}

func TestSearchPathIsEmpty(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	_, err := db.App.Exec(context.Background(), `SELECT count(*) FROM pf_organizations`)
	require.ErrorContains(t, err, "does not exist", "an unqualified name must not resolve")
}
