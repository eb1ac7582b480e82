// Package dbtx runs database work as an acting user.
//
// Every library call that reads or writes a protected table goes through
// [Run] (a transaction of its own), [Pipeline] (transactions of its own,
// one after the other, in one round trip: a Part 2 accounting and the
// write it opens), [ReadAccounted] (a read that accounts for the Part 2
// records it reads, read again once its accounting has committed) or
// [RunTx] (inside the caller's transaction). Each
// switches to the `authenticated` role and sets the JWT claims so that
// auth.uid() returns the acting user, for the transaction only: the
// settings end with it (or, for RunTx, are restored before it returns), so
// nothing set for one user survives on a pooled connection.
package dbtx

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/encoreos/platform-go/internal/telemetry"
)

// Beginner starts a transaction: *pgxpool.Pool, *pgx.Conn and pgx.Tx all
// satisfy it.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// ErrNoActingUser is returned by every call that is given no acting user.
var ErrNoActingUser = telemetry.NewError("no_acting_user", "platform: an acting user is required: pass the uuid of the user on whose behalf the call is made")

// Role is the database role every acting-user transaction runs as.
const Role = "authenticated"

// Run begins a transaction on db, becomes actor, runs fn and commits if fn
// returns nil (rolls back otherwise). ctx governs the whole transaction.
//
// When db is itself a pgx.Tx (a caller's transaction passed where a pool is
// expected), Run behaves as [RunTx], so the caller's role and claims are
// restored afterwards.
//
// Within a library call's span (or a host's span around the call), the
// transaction is a child span, platform.transaction (see
// telemetry.Transaction).
func Run(ctx context.Context, db Beginner, actor uuid.UUID, fn func(pgx.Tx) error) (err error) {
	if actor == uuid.Nil {
		return ErrNoActingUser
	}
	if outer, ok := db.(pgx.Tx); ok {
		return RunTx(ctx, outer, actor, fn)
	}
	ctx, span := telemetry.Transaction(ctx, actor, false)
	defer span.End(&err)
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if err := become(ctx, tx, actor); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// Statement is one SQL statement of a [Pipeline], with its arguments and,
// when not nil, what reads its rows (the rest are discarded).
type Statement struct {
	SQL  string
	Args []any
	Rows func(pgx.Rows) error
}

// Accounting is the statement that writes the accounting of a use of
// charts' records of recordType, for purpose and use: one
// part2.record.disclosed line per Part 2 chart the acting user may see
// (cl_part2_disclosed), none for the others. It returns how many it
// wrote. Committed before the read or write it accounts for, it opens
// the charts' rows to that read or write: rows of a Part 2 chart open only
// to an accounting line that has committed (cl_part2_opened), because a
// line written by the reading transaction would vanish with its rollback.
func Accounting(org uuid.UUID, charts []uuid.UUID, recordType, purpose, use string) Statement {
	return Statement{SQL: `SELECT public.cl_part2_disclosed($1, $2, $3, $4, $5)`, Args: []any{org, charts, recordType, purpose, use}}
}

// Pipeline runs each of txs as a transaction of its own as actor (begin,
// the acting user, its statements in order, commit), one after the other:
// each commits before the next begins, and a failure ends the pipeline
// (what failed rolls back, what committed before stands, what comes after
// does not run). Its error is the failure's, else the first error of a
// Rows. A Rows that fails does not roll its transaction back (the commit
// is already sent): it reads what a statement returned, it does not
// decide whether the statement stands.
//
// On a pool or a connection the whole pipeline is one round trip: the
// statements are prepared the first time a connection runs them (the
// library's statements are few) so that their arguments are encoded for
// their parameters' types, and sent with every begin, claim and commit
// before any result is read. They are prepared as the connecting role,
// before any transaction: a statement names only what that role may look
// up (the acting user is a parameter, never auth.uid(), whose schema is
// the acting users'). Given a pgx.Tx, each transaction runs inside
// it in turn, as [Run] does.
func Pipeline(ctx context.Context, db Beginner, actor uuid.UUID, txs ...[]Statement) (err error) {
	if actor == uuid.Nil {
		return ErrNoActingUser
	}
	var conn *pgx.Conn
	switch db := db.(type) {
	case *pgx.Conn:
		conn = db
	case *pgxpool.Pool:
		c, err := db.Acquire(ctx)
		if err != nil {
			return err
		}
		defer c.Release()
		conn = c.Conn()
	default:
		for _, statements := range txs {
			if err := Run(ctx, db, actor, func(tx pgx.Tx) error { return RunEach(ctx, tx, statements) }); err != nil {
				return err
			}
		}
		return nil
	}
	ctx, span := telemetry.Transaction(ctx, actor, false)
	defer span.End(&err)
	b := &pgconn.Batch{}
	var readers []func(pgx.Rows) error // per result, in order
	skip := func(n int) { readers = append(readers, make([]func(pgx.Rows) error, n)...) }
	for _, statements := range txs {
		b.ExecParams("BEGIN", nil, nil, nil, nil)
		queueClaims(b, Role, actor.String(), actorClaims(actor))
		skip(1 + claimStatements)
		for _, s := range statements {
			if err := queuePrepared(ctx, conn, b, s); err != nil {
				return err
			}
			readers = append(readers, s.Rows)
		}
		b.ExecParams("COMMIT", nil, nil, nil, nil)
		skip(1)
	}
	results := conn.PgConn().ExecBatch(ctx, b)
	var collected error
	for i := 0; results.NextResult(); i++ {
		if readers[i] == nil || collected != nil {
			_, _ = results.ResultReader().Close() // an error is the batch's, below
			continue
		}
		rows := pgx.RowsFromResultReader(conn.TypeMap(), results.ResultReader())
		collected = readers[i](rows)
		rows.Close()
	}
	if err = results.Close(); err != nil {
		if conn.PgConn().TxStatus() != 'I' && !conn.IsClosed() {
			// A refusal leaves the pipeline's transaction aborted: rolled
			// back within the caller's deadline, else the connection is
			// closed (a pool replaces it).
			if _, rollback := conn.Exec(ctx, "ROLLBACK"); rollback != nil {
				_ = conn.Close(ctx)
			}
		}
		return err
	}
	return collected
}

// queuePrepared prepares s on conn (once per connection and statement) and
// queues it with its arguments encoded for its parameters.
func queuePrepared(ctx context.Context, conn *pgx.Conn, b *pgconn.Batch, s Statement) (err error) {
	sql, args := s.SQL, s.Args
	if len(args) > 0 {
		if rewriter, ok := args[0].(pgx.QueryRewriter); ok {
			if sql, args, err = rewriter.RewriteQuery(ctx, conn, sql, args[1:]); err != nil {
				return err
			}
		}
	}
	sd, err := conn.Prepare(ctx, sql, sql)
	if err != nil {
		return err
	}
	var params pgx.ExtendedQueryBuilder
	if err := params.Build(conn.TypeMap(), sd, args); err != nil {
		return err
	}
	b.ExecPrepared(sd.Name, params.ParamValues, params.ParamFormats, params.ResultFormats)
	return nil
}

// RunEach runs statements in tx in order, handing each one's rows to its
// Rows.
func RunEach(ctx context.Context, tx pgx.Tx, statements []Statement) error {
	for _, s := range statements {
		rows, err := tx.Query(ctx, s.SQL, s.Args...)
		if err != nil {
			return err
		}
		if s.Rows != nil {
			if err := s.Rows(rows); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// Collect runs sql as actor in a transaction of its own and collects
// every row into a T by column name (pgx.RowToStructByName), its error
// mapped by [MapError].
func Collect[T any](ctx context.Context, db Beginner, actor uuid.UUID, sql string, args ...any) ([]T, error) {
	var out []T
	if err := Pipeline(ctx, db, actor, []Statement{collect(&out, sql, args)}); err != nil {
		return nil, MapError(err)
	}
	return out, nil
}

// CollectAccounted is [Collect] for a read that accounts for the Part 2
// records of org it reads, after the statements of first (see
// [ReadAccounted]).
func CollectAccounted[T any](ctx context.Context, db Beginner, actor, org uuid.UUID, first []Statement, sql string, args ...any) ([]T, error) {
	var out []T
	if err := ReadAccounted(ctx, db, actor, org, append(slices.Clip(first), collect(&out, sql, args))); err != nil {
		return nil, MapError(err)
	}
	return out, nil
}

// collect is the statement that collects sql's rows into *out.
func collect[T any](out *[]T, sql string, args []any) Statement {
	return Statement{SQL: sql, Args: args, Rows: func(rows pgx.Rows) (err error) {
		*out, err = pgx.CollectRows(rows, pgx.RowToStructByName[T])
		return err
	}}
}

// ErrAccountingMoved is returned by a read whose accounting of disclosures
// had to write again each time it was read (see [ReadAccounted]).
var ErrAccountingMoved = telemetry.NewError("accounting_moved", "platform: the accounting of disclosures changed at every attempt of a read; try again")

// ErrAccountingUncommitted is returned by a read run inside the caller's
// transaction (a client built on a pgx.Tx) that had to write the accounting
// of a Part 2 disclosure: the line opens the records only once committed.
var ErrAccountingUncommitted = telemetry.NewError("accounting_uncommitted", "platform: this read of Part 2 records wrote its accounting inside the caller's transaction, which opens them only once committed: commit it and read again, or build the client on a pool")

// readAttempts is how often [ReadAccounted] runs a read that writes.
const readAttempts = 3

// ReadAccounted runs statements, a read that may write the accounting of
// the Part 2 records it reads (cl_part2_disclosed, or a read function that
// accounts for itself), in one transaction: one round trip on a pool or a
// connection. An accounting line opens records only once committed, so
// when the transaction wrote (it was given a transaction id) the read may
// have missed the rows the new lines open: the statements run again, after
// the commit, in a transaction of their own (a second round trip, the
// first time a chart is read within cl_part2_disclosure_reuse). Within
// it, the lines stand, nothing is written and one transaction does it all.
// A read that writes at every attempt (its consent or emergency access
// changing under it) is ErrAccountingMoved. When a statement fails, those
// after it do not run. Given a pgx.Tx (a client built on the caller's
// transaction), the statements run once, inside it: a read that wrote
// accounting lines of org there (cl_part2_lines_written, before and after)
// is ErrAccountingUncommitted.
func ReadAccounted(ctx context.Context, db Beginner, actor, org uuid.UUID, statements []Statement) error {
	if _, inCallers := db.(pgx.Tx); inCallers {
		return readInCallers(ctx, db, actor, org, statements)
	}
	var wrote bool
	statements = append(slices.Clip(statements), scalar(`SELECT pg_catalog.pg_current_xact_id_if_assigned() IS NOT NULL`, &wrote))
	for range readAttempts {
		if err := Pipeline(ctx, db, actor, statements); err != nil || !wrote {
			return err
		}
	}
	return ErrAccountingMoved
}

// scalar is the statement that reads sql's one value into *into.
func scalar[T any](sql string, into *T) Statement {
	return Statement{SQL: sql, Rows: func(rows pgx.Rows) (err error) {
		*into, err = pgx.CollectExactlyOneRow(rows, pgx.RowTo[T])
		return err
	}}
}

// readInCallers is [ReadAccounted] inside the caller's transaction db.
func readInCallers(ctx context.Context, db Beginner, actor, org uuid.UUID, statements []Statement) error {
	var lines [2]int
	written := func(into *int) Statement {
		s := scalar(`SELECT public.cl_part2_lines_written($1)`, into)
		s.Args = []any{org}
		return s
	}
	if err := Pipeline(ctx, db, actor, slices.Concat([]Statement{written(&lines[0])}, statements, []Statement{written(&lines[1])})); err != nil {
		return err
	}
	if lines[1] > lines[0] {
		return ErrAccountingUncommitted
	}
	return nil
}

// RunTx runs fn inside the caller's transaction tx as actor, in a savepoint.
// If fn fails, the savepoint is rolled back and tx stays usable. If fn
// succeeds, the role and claims tx had before are restored, so the host's
// own statements after RunTx run as they did before it.
// Like [Run], within a recording span it is a child span,
// platform.transaction, marked as a savepoint.
func RunTx(ctx context.Context, tx pgx.Tx, actor uuid.UUID, fn func(pgx.Tx) error) (err error) {
	if actor == uuid.Nil {
		return ErrNoActingUser
	}
	if tx == nil {
		return ErrNilTx
	}
	ctx, span := telemetry.Transaction(ctx, actor, true)
	defer span.End(&err)
	sp, err := tx.Begin(ctx)
	if err != nil {
		return err
	}
	defer sp.Rollback(ctx) //nolint:errcheck // a no-op after Commit

	var role, sub, claims string
	if err := sp.QueryRow(ctx, `SELECT pg_catalog.current_setting('role'),
		coalesce(pg_catalog.current_setting('request.jwt.claim.sub', true), ''),
		coalesce(pg_catalog.current_setting('request.jwt.claims', true), '')`).Scan(&role, &sub, &claims); err != nil {
		return err
	}
	if err := become(ctx, sp, actor); err != nil {
		return err
	}
	if err := fn(sp); err != nil {
		return err
	}
	if err := setClaims(ctx, sp, role, sub, claims); err != nil {
		return fmt.Errorf("platform: restoring the caller's role: %w", err)
	}
	return sp.Commit(ctx)
}

func become(ctx context.Context, tx pgx.Tx, actor uuid.UUID) error {
	if err := setClaims(ctx, tx, Role, actor.String(), actorClaims(actor)); err != nil {
		return fmt.Errorf("platform: becoming the acting user (is the connecting role a member of %q?): %w", Role, err)
	}
	return nil
}

// actorClaims are the JWT claims of an acting user.
func actorClaims(actor uuid.UUID) string {
	return `{"sub":"` + actor.String() + `","role":"` + Role + `"}`
}

// setClaims sets the role and the JWT claims for the rest of tx, in one
// round trip (queueClaims).
func setClaims(ctx context.Context, tx pgx.Tx, role, sub, claims string) error {
	b := &pgconn.Batch{}
	queueClaims(b, role, sub, claims)
	_, err := tx.Conn().PgConn().ExecBatch(ctx, b).ReadAll()
	return err
}

// queueClaims queues the statements that set the role and the JWT claims
// for the rest of the transaction. The claims are set with SET LOCAL, not
// set_config: Citus (with citus.propagate_set_commands = 'local') carries
// SET LOCAL to every worker that evaluates a policy, and set_config
// nowhere. The role stays a set_config: a worker connection already runs
// as the role.
//
// Three statements in one batch, never one string of three: Citus carries
// a multi-statement string to the workers whole, and there the
// set_config('role') in it fails on the connection of a definer function
// (its role is no member of authenticated). The batch is pgconn's, of
// unnamed statements, whatever the connection's exec mode: pgx's would
// join them into one string under the simple protocol, and cache one
// prepared statement per user under the default.
func queueClaims(b *pgconn.Batch, role, sub, claims string) {
	for _, sql := range [claimStatements]string{
		"SET LOCAL request.jwt.claim.sub = " + quoteLiteral(sub),
		"SET LOCAL request.jwt.claims = " + quoteLiteral(claims),
		"SELECT pg_catalog.set_config('role', " + quoteLiteral(role) + ", true)",
	} {
		b.ExecParams(sql, nil, nil, nil, nil)
	}
}

// claimStatements is how many statements queueClaims queues.
const claimStatements = 3

// quoteLiteral quotes s as an SQL string literal (SET takes no parameters).
// The acting user's values are a UUID and JSON made from it; a restored
// caller's values are whatever the caller had set, so quotes are doubled
// and backslashes written as an escape string.
func quoteLiteral(s string) string {
	if strings.ContainsAny(s, `\`) {
		return "E'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// ErrNilTx is returned by a ...Tx method given a nil transaction.
var ErrNilTx = telemetry.NewError("nil_tx", "platform: a nil pgx.Tx was passed to a ...Tx method; call the method without Tx to use a transaction of its own")

// InAfter runs s as actor after first (when not empty) has committed in a
// transaction of its own: with no caller's transaction (tx nil), both as
// one [Pipeline] on db, one round trip; inside tx otherwise (see
// [RunTx]), first committed before on a connection of db's own (db must
// then be a pool or a connection, not the transaction). It is how a write
// whose Part 2 accounting must commit first runs.
func InAfter(ctx context.Context, db Beginner, tx pgx.Tx, actor uuid.UUID, first []Statement, s Statement) error {
	if tx == nil {
		txs := [][]Statement{{s}}
		if len(first) > 0 {
			txs = [][]Statement{first, {s}}
		}
		return Pipeline(ctx, db, actor, txs...)
	}
	if len(first) > 0 {
		if err := Pipeline(ctx, db, actor, first); err != nil {
			return err
		}
	}
	return RunTx(ctx, tx, actor, func(tx pgx.Tx) error { return RunEach(ctx, tx, []Statement{s}) })
}

// In runs fn as actor inside tx when tx is not nil (see [RunTx]), else in a
// new transaction on db (see [Run]). It is what every pair of a method and
// its Tx twin shares.
func In(ctx context.Context, db Beginner, tx pgx.Tx, actor uuid.UUID, fn func(pgx.Tx) error) error {
	if tx != nil {
		return RunTx(ctx, tx, actor, fn)
	}
	return Run(ctx, db, actor, fn)
}
