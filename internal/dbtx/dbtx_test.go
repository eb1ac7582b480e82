package dbtx_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/testdb"
	"github.com/encoreos/platform-go/internal/validate"
)

func TestMain(m *testing.M) { testdb.Main(m) }

type identity struct {
	User        *uuid.UUID // request.jwt.claim.sub, which auth.uid() reads first
	Claims      *string    // request.jwt.claims, which auth.uid() reads next
	CurrentUser string
}

func whoAmI(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (identity, error) {
	var id identity
	// Read the settings, not auth.uid(): outside an acting-user transaction
	// the connecting role may not even use the auth schema.
	err := q.QueryRow(ctx, `SELECT nullif(pg_catalog.current_setting('request.jwt.claim.sub', true), '')::uuid,
		nullif(pg_catalog.current_setting('request.jwt.claims', true), ''), current_user::text`).Scan(&id.User, &id.Claims, &id.CurrentUser)
	return id, err
}

func TestTheConnectingRoleIsSubjectToRLS(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()

	var super, bypass bool
	var owned int
	require.NoError(t, db.App.QueryRow(ctx, `
		SELECT r.rolsuper, r.rolbypassrls,
		       (SELECT count(*) FROM pg_catalog.pg_class c WHERE c.relowner = r.oid)
		FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`).Scan(&super, &bypass, &owned))
	require.False(t, super, "the test role must not be a superuser")
	require.False(t, bypass, "the test role must not have BYPASSRLS")
	require.Zero(t, owned, "the test role must own no table")

	// Without becoming a user the role can read nothing at all.
	_, err := db.App.Exec(ctx, `SELECT count(*) FROM public.cl_charts`)
	require.True(t, dbtx.IsPermissionDenied(err), "got %v", err)

	// As a user, RLS filters rows the superuser sees.
	org := db.NewOrg(t)
	db.NewChart(t, org, false)
	var n int
	require.NoError(t, db.Admin.QueryRow(ctx, `SELECT count(*) FROM public.cl_charts`).Scan(&n))
	require.Equal(t, 1, n)
	require.NoError(t, dbtx.Run(ctx, db.App, uuid.New(), func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM public.cl_charts`).Scan(&n)
	}))
	require.Zero(t, n, "RLS must hide the chart from a stranger")
}

func TestRunBecomesTheActingUserAndLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	user := uuid.New()
	require.NoError(t, dbtx.Run(ctx, db.App, user, func(tx pgx.Tx) error {
		id, err := whoAmI(ctx, tx)
		require.NoError(t, err)
		require.Equal(t, &user, id.User)
		require.Equal(t, dbtx.Role, id.CurrentUser)
		var uid uuid.UUID
		require.NoError(t, tx.QueryRow(ctx, `SELECT auth.uid()`).Scan(&uid))
		require.Equal(t, user, uid)
		return nil
	}))
	// A failing fn rolls back and leaves nothing behind either.
	require.Error(t, dbtx.Run(ctx, db.App, user, func(tx pgx.Tx) error { return fmt.Errorf("boom") }))

	conn, err := db.App.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	id, err := whoAmI(ctx, conn)
	require.NoError(t, err)
	require.Nil(t, id.User)
	require.Nil(t, id.Claims)
	require.Equal(t, testdb.AppRole, id.CurrentUser)

	require.ErrorIs(t, dbtx.Run(ctx, db.App, uuid.Nil, func(pgx.Tx) error { return nil }), dbtx.ErrNoActingUser)
}

func TestRunTxRestoresTheCallersIdentity(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	host := uuid.New()
	user := uuid.New()

	tx, err := db.App.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck
	// The host's own transaction already acts as someone.
	require.NoError(t, dbtx.RunTx(ctx, tx, host, func(pgx.Tx) error { return nil }))
	before, err := whoAmI(ctx, tx)
	require.NoError(t, err)
	require.Nil(t, before.User, "RunTx must restore the host's (absent) claims")
	require.Nil(t, before.Claims)
	require.Equal(t, testdb.AppRole, before.CurrentUser)

	require.NoError(t, dbtx.RunTx(ctx, tx, user, func(sp pgx.Tx) error {
		id, err := whoAmI(ctx, sp)
		require.NoError(t, err)
		require.Equal(t, &user, id.User)
		return nil
	}))
	after, err := whoAmI(ctx, tx)
	require.NoError(t, err)
	require.Equal(t, before, after)

	// A failure rolls the savepoint back; the transaction stays usable.
	require.Error(t, dbtx.RunTx(ctx, tx, user, func(sp pgx.Tx) error {
		_, err := sp.Exec(ctx, `SELECT 1/0`)
		return err
	}))
	after, err = whoAmI(ctx, tx)
	require.NoError(t, err)
	require.Equal(t, before, after)

	require.ErrorIs(t, dbtx.RunTx(ctx, nil, user, func(pgx.Tx) error { return nil }), dbtx.ErrNilTx)

	// A transaction passed where a pool is expected is treated the same way.
	require.NoError(t, dbtx.Run(ctx, tx, user, func(pgx.Tx) error { return nil }))
	after, err = whoAmI(ctx, tx)
	require.NoError(t, err)
	require.Equal(t, before, after)
}

func TestConcurrentUsersOnOnePoolNeverSeeEachOther(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	cfg := db.AppConfig(t)
	cfg.MaxConns = 2 // force connection reuse between the two users
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	defer pool.Close()

	users := []uuid.UUID{uuid.New(), uuid.New()}
	var g errgroup.Group
	for i := range 200 {
		user := users[i%2]
		g.Go(func() error {
			if err := dbtx.Run(ctx, pool, user, func(tx pgx.Tx) error {
				id, err := whoAmI(ctx, tx)
				if err != nil {
					return err
				}
				if id.User == nil || *id.User != user || id.CurrentUser != dbtx.Role {
					return fmt.Errorf("acting as %s, the database saw %+v", user, id)
				}
				return nil
			}); err != nil {
				return err
			}
			// Between transactions the connection carries no identity.
			id, err := whoAmI(ctx, pool)
			if err != nil {
				return err
			}
			if id.User != nil || id.Claims != nil || id.CurrentUser != testdb.AppRole {
				return fmt.Errorf("an identity survived on a pooled connection: %+v", id)
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
}

// Errors the library returns never carry the stored values PostgreSQL puts
// in an error's detail.
func TestMappedErrorsCarryNoValues(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	org := db.NewOrg(t)
	user := db.NewMember(t, org, "clinician")
	err := dbtx.Run(ctx, db.App, user, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO public.cl_group_sessions (organization_id, facilitator_id, service_type, scheduled_start, scheduled_end)
			VALUES ($1, $2, 'Jane Doe therapy', now(), now() + interval '1 hour')`, org, user)
		return dbtx.MapError(err)
	})
	require.True(t, dbtx.IsCheckViolation(err), "the code survives: %v", err)
	require.NotContains(t, err.Error(), "Jane Doe")
	var raw *pgconn.PgError
	require.False(t, errors.As(err, &raw), "the raw error, with its detail, is not in the chain")
}

// The claims are set with SET LOCAL (which Citus carries to its workers),
// so the caller's own values, restored after RunTx, are written into SQL as
// literals: whatever they hold comes back exactly, and nothing in them runs.
func FuzzRunTxRestoresAnyClaims(f *testing.F) {
	for _, s := range []string{``, `'`, `''; DROP TABLE x; --`, `\`, `\'`, `E'\\'`, `{"sub":"x'y"}`, "tab\tnewline\n", `$$`, `ü€😀`} {
		f.Add(s)
	}
	db := testdb.New(f)
	f.Fuzz(func(t *testing.T, claims string) {
		ctx := context.Background()
		tx, err := db.App.Begin(ctx)
		require.NoError(t, err)
		defer tx.Rollback(ctx) //nolint:errcheck // the test only reads
		_, err = tx.Exec(ctx, `SELECT pg_catalog.set_config('request.jwt.claims', $1, true)`, claims)
		if strings.ContainsRune(claims, 0) || !utf8.ValidString(claims) {
			// PostgreSQL text holds neither: such claims cannot be set, so
			// there is nothing to restore.
			require.Error(t, err, "PostgreSQL refuses NUL and invalid UTF-8")
			return
		}
		require.NoError(t, err)
		require.NoError(t, dbtx.RunTx(ctx, tx, uuid.New(), func(pgx.Tx) error { return nil }))
		var got string
		require.NoError(t, tx.QueryRow(ctx, `SELECT pg_catalog.current_setting('request.jwt.claims')`).Scan(&got))
		require.Equal(t, claims, got)
	})
}

// A refusal maps to its field whether PostgreSQL names the column and
// constraint or, as a Citus coordinator passing on a worker's error does,
// only the message: "... (column)" at its end, or the constraint in it
// with the shard's suffix.
func TestFieldsMapRefusalsWithoutTheirFieldNames(t *testing.T) {
	t.Parallel()
	fields := dbtx.Fields{
		"peer_provider_id":       {Name: "PeerProviderID", Reason: "is not a peer specialist"},
		"x_organization_id_fkey": {Name: "SiteID", Reason: "is not a site of the organization"},
	}
	for name, pgErr := range map[string]*pgconn.PgError{
		"column":            {Code: "23514", ColumnName: "peer_provider_id", Message: "the provider is not a peer specialist"},
		"column in message": {Code: "23514", Message: "the provider is not a peer specialist of the organization (peer_provider_id)"},
		"constraint":        {Code: "23503", ConstraintName: "x_organization_id_fkey", Message: "violates"},
		"shard's constraint": {Code: "23503",
			Message: `insert or update on table "x_102396" violates foreign key constraint "x_organization_id_fkey_102396"`},
	} {
		var ve *validate.Error
		require.ErrorAs(t, fields.Map(pgErr), &ve, name)
		require.NotEmpty(t, ve.Field, name)
	}
	err := fields.Map(&pgconn.PgError{Code: "23514", Message: "something else (other_column)"})
	var ve *validate.Error
	require.False(t, errors.As(err, &ve), "an unknown name is not a field error")
	require.Equal(t, "23514", dbtx.Code(err))
}

// TestPipelineRunsEachTransactionInTurn: in one round trip, each
// transaction commits before the next begins; a failure rolls back what
// failed, keeps what committed before and runs nothing after; the
// connection comes back idle, as the connecting role, without claims.
// Session settings stand in for writes: one made with set_config(..., false)
// survives its transaction's commit and not its rollback.
func TestPipelineRunsEachTransactionInTurn(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	user := uuid.New()
	pooled, err := db.App.Acquire(ctx)
	require.NoError(t, err)
	defer pooled.Release()
	conn := pooled.Conn()
	mark := func(name string) dbtx.Statement {
		return dbtx.Statement{SQL: `SELECT pg_catalog.set_config('platform_test.' || $1::text, 'ran', false)`, Args: []any{name}}
	}
	marks := func() (first, second string) {
		require.NoError(t, conn.QueryRow(ctx, `SELECT coalesce(pg_catalog.current_setting('platform_test.first', true), ''),
			coalesce(pg_catalog.current_setting('platform_test.second', true), '')`).Scan(&first, &second))
		_, err := conn.Exec(ctx, `SELECT pg_catalog.set_config('platform_test.first', '', false), pg_catalog.set_config('platform_test.second', '', false)`)
		require.NoError(t, err)
		return first, second
	}
	leftAlone := func() {
		t.Helper()
		require.Equal(t, byte('I'), conn.PgConn().TxStatus())
		id, err := whoAmI(ctx, conn)
		require.NoError(t, err)
		require.Nil(t, id.User)
		require.Nil(t, id.Claims)
		require.Equal(t, testdb.AppRole, id.CurrentUser)
	}
	fail := dbtx.Statement{SQL: `SELECT 1 / (pg_catalog.length($1::text) - 4)`, Args: []any{"boom"}}

	// Both run, in order, as the acting user; the second sees the first
	// committed.
	var seen string
	var uid uuid.UUID
	require.NoError(t, dbtx.Pipeline(ctx, conn, user, []dbtx.Statement{mark("first")}, []dbtx.Statement{
		{SQL: `SELECT pg_catalog.current_setting('platform_test.first'), pg_catalog.current_setting('request.jwt.claim.sub')::uuid`, Rows: func(rows pgx.Rows) error {
			_, err := pgx.ForEachRow(rows, []any{&seen, &uid}, func() error { return nil })
			return err
		}},
		mark("second"),
	}))
	require.Equal(t, "ran", seen)
	require.Equal(t, user, uid, "as the acting user")
	first, second := marks()
	require.Equal(t, [2]string{"ran", "ran"}, [2]string{first, second})
	leftAlone()

	// The first fails: the second does not run.
	err = dbtx.Pipeline(ctx, conn, user, []dbtx.Statement{mark("first"), fail}, []dbtx.Statement{mark("second")})
	require.Error(t, err)
	first, second = marks()
	require.Equal(t, [2]string{"", ""}, [2]string{first, second}, "what failed rolls back and nothing after runs")
	leftAlone()

	// The second fails: the first stands.
	err = dbtx.Pipeline(ctx, conn, user, []dbtx.Statement{mark("first")}, []dbtx.Statement{mark("second"), fail})
	require.Error(t, err)
	first, second = marks()
	require.Equal(t, [2]string{"ran", ""}, [2]string{first, second})
	leftAlone()

	// A failing reader is the pipeline's error; the rest still commits.
	boom := errors.New("reader")
	err = dbtx.Pipeline(ctx, conn, user, []dbtx.Statement{{SQL: `SELECT 1`, Rows: func(pgx.Rows) error { return boom }}, mark("first")})
	require.ErrorIs(t, err, boom)
	first, _ = marks()
	require.Equal(t, "ran", first)
	leftAlone()

	require.ErrorIs(t, dbtx.Pipeline(ctx, conn, uuid.Nil, []dbtx.Statement{mark("first")}), dbtx.ErrNoActingUser)
}
