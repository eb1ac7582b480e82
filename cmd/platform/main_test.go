package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/internal/testdb"
)

// asCommand, set in the environment, makes the test binary run main
// instead of the tests: a test starts it as a process of its own, to send
// it signals.
const asCommand = "PLATFORM_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asCommand) == "1" {
		os.Args = append([]string{"platform"}, strings.Fields(os.Getenv(asCommand+"_ARGS"))...)
		main()
	}
	testdb.Main(m)
}

// result is what one run of the command printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// platform runs the command line in-process.
func platform(t *testing.T, args ...string) result {
	t.Helper()
	return platformCtx(t, context.Background(), args...)
}

func platformCtx(t *testing.T, ctx context.Context, args ...string) result {
	t.Helper()
	var out, errs bytes.Buffer
	code := run(ctx, args, &out, &errs)
	return result{stdout: out.String(), stderr: errs.String(), code: code}
}

// requireCode fails t with the output when the status is not want.
func (r result) requireCode(t *testing.T, want int) result {
	t.Helper()
	require.Equal(t, want, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	return r
}

// dsn is a connection string for database as user (password the same,
// as the harness's app role has), with search_path empty as every test
// connection has it: any unqualified name in the command fails.
func dsn(t *testing.T, database, user string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(testdb.Server(t).URL)
	require.NoError(t, err)
	password := cfg.Password
	if user != cfg.User {
		password = user
	}
	quote := func(s string) string { return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'" }
	s := fmt.Sprintf("host=%s port=%d dbname=%s user=%s password=%s search_path=''",
		quote(cfg.Host), cfg.Port, quote(database), quote(user), quote(password))
	if cfg.TLSConfig == nil {
		s += " sslmode=disable"
	}
	return s
}

// adminDSN connects to db as the migrating role (the server's superuser).
func adminDSN(t *testing.T, db string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(testdb.Server(t).URL)
	require.NoError(t, err)
	return dsn(t, db, cfg.User)
}

// appDSN connects to db as the harness's app role: a member of
// authenticated and cl_event_relay that row-level security applies to.
func appDSN(t *testing.T, db string) string { return dsn(t, db, testdb.AppRole) }

func TestHelpTeachesEveryCommand(t *testing.T) {
	t.Parallel()
	r := platform(t, "help").requireCode(t, exitOK)
	for _, c := range commands {
		require.Contains(t, r.stdout, "  "+c.name+" ", "the overview lists %s", c.name)
		for _, args := range [][]string{append(strings.Fields(c.name), "-help"), append([]string{"help"}, strings.Fields(c.name)...)} {
			h := platform(t, args...).requireCode(t, exitOK)
			require.True(t, strings.HasPrefix(h.stdout, "Usage: platform "+c.name+" [flags]\n"), h.stdout)
			require.Contains(t, h.stdout, "Needs DATABASE_URL for ", "%s says which role to connect as", c.name)
			require.Contains(t, h.stdout, "Example:\n  ", c.name)
			require.Contains(t, h.stdout, "-database-url", c.name)
		}
	}
	require.Contains(t, platform(t, "relay", "-help").stdout, "NATS_URL")
}

func TestCommandLineErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{nil, "Commands:"},
		{[]string{"migrat"}, `no command "migrat"`},
		{[]string{"dead"}, `no command "dead"`},
		{[]string{"help", "nope"}, `no command "nope"`},
		{[]string{"version", "extra"}, `unexpected argument "extra"`},
		{[]string{"dead", "inspect", "-org", "not-a-uuid"}, `invalid value "not-a-uuid" for flag -org: not a UUID`},
		{[]string{"dead", "inspect", "-org", "6f1c2a3e-0000-4000-8000-000000000001"}, "-event is required"},
		{[]string{"dead", "retry", "-all", "-event", "6f1c2a3e-0000-4000-8000-000000000001"}, "-all takes no -event"},
		{[]string{"accounting", "-as", "6f1c2a3e-0000-4000-8000-000000000001"}, "-org is required"},
		{[]string{"accounting", "-as", "6f1c2a3e-0000-4000-8000-000000000001", "-org", "6f1c2a3e-0000-4000-8000-000000000001",
			"-chart", "6f1c2a3e-0000-4000-8000-000000000001", "-since", "yesterday"}, `-since: "yesterday" is neither a date`},
	} {
		r := platform(t, tc.args...).requireCode(t, exitUsage)
		require.Contains(t, r.stderr, tc.msg, "%q", tc.args)
	}
}

// Without a connection string, a command says which role it needs.
func TestMissingDatabaseURL(t *testing.T) {
	t.Setenv("DATABASE_URL", "") // not parallel: the environment is the process's
	for cmd, role := range map[string]string{
		"migrate":    "the migrating role",
		"doctor":     "the migrating role",
		"dead list":  "the relay's login role",
		"relay":      "the relay's login role",
		"accounting": "the application's login role",
	} {
		args := strings.Fields(cmd)
		if cmd == "accounting" {
			id := "6f1c2a3e-0000-4000-8000-000000000001"
			args = append(args, "-as", id, "-org", id, "-chart", id)
		}
		r := platform(t, args...).requireCode(t, exitUsage)
		require.Contains(t, r.stderr, "DATABASE_URL is not set (nor -database-url): set it to a connection string for "+role, cmd)
	}
}

func TestParseSince(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	got, err := parseSince("", now)
	require.NoError(t, err)
	require.Equal(t, time.Date(2023, 11, 30, 12, 0, 0, 0, time.UTC), got, "three years by default")
	got, err = parseSince("2024-02-29", now)
	require.NoError(t, err)
	require.Equal(t, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), got)
	got, err = parseSince("2024-02-29T10:00:00+01:00", now)
	require.NoError(t, err)
	require.True(t, got.Equal(time.Date(2024, 2, 29, 9, 0, 0, 0, time.UTC)))
	_, err = parseSince("2024-13-01", now)
	require.Error(t, err)
}

// newLoginRole creates a login role of the cluster with a unique name and
// the given attributes and grants, dropped when t ends.
func newLoginRole(t *testing.T, db *testdb.DB, attributes string, grants ...string) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "cli_app_" + hex.EncodeToString(b)
	db.Exec(t, `CREATE ROLE `+name+` LOGIN NOINHERIT `+attributes)
	for _, g := range grants {
		db.Exec(t, `GRANT `+g+` TO `+name)
	}
	t.Cleanup(func() {
		if _, err := db.Admin.Exec(context.Background(), `DROP ROLE `+name); err != nil {
			t.Errorf("dropping role %s: %v", name, err)
		}
	})
	return name
}
