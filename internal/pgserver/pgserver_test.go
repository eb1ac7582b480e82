package pgserver

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// The local-binaries path, exercised even when DATABASE_URL is set (the rest
// of the suite then uses that server instead).
func TestThrowawayClusterStartsAndIsRemoved(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster; skipped with -short")
	}
	binDir, err := findBinDir()
	require.NoError(t, err, "this test needs the PostgreSQL server binaries: "+HowToGetOne)
	ctx := context.Background()
	start := time.Now()
	srv, err := startLocal(ctx, binDir)
	require.NoError(t, err)
	t.Logf("initdb + start: %s", time.Since(start))

	conn, err := pgx.Connect(ctx, srv.URL)
	require.NoError(t, err)
	var super bool
	require.NoError(t, conn.QueryRow(ctx, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&super))
	require.True(t, super)
	require.NoError(t, conn.Close(ctx))

	cfg, err := pgx.ParseConfig(srv.URL)
	require.NoError(t, err)
	dir := cfg.Host
	require.DirExists(t, dir)
	require.NoError(t, srv.Stop(ctx))
	require.NoDirExists(t, dir, "Stop removes the cluster")
}

func TestStaleClustersAreRemoved(t *testing.T) {
	dir, err := os.MkdirTemp("/tmp", tempPrefix)
	require.NoError(t, err)
	// No process has this pid: the owner is gone.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "owner.pid"), []byte("2147483646"), 0o644))
	removeStale()
	require.NoDirExists(t, dir)
}

func TestDatabaseURLComesFirst(t *testing.T) {
	t.Setenv(EnvDatabaseURL, "postgres://someone@db.example:5432/postgres")
	srv, err := Start(context.Background())
	require.NoError(t, err)
	require.Equal(t, EnvDatabaseURL, srv.Source)
	require.Equal(t, "postgres://someone@db.example:5432/postgres", srv.URL)
	require.NoError(t, srv.Stop(context.Background()), "a DATABASE_URL server is not ours to stop")
}
