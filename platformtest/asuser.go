package platformtest

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/encoreos/platform-go/internal/dbtx"
)

// ErrNoActingUser is returned by [AsUser] given no user; it is the
// library's one sentinel for that (consent.ErrNoActingUser,
// peer.ErrNoActingUser, ... are the same value).
var ErrNoActingUser = dbtx.ErrNoActingUser

// AsUser runs fn in a transaction on db acting as user, the way every call
// of the library does: the role `authenticated` and the JWT claims that
// auth.uid() reads, set for the transaction only. It commits when fn
// returns nil. Use it to check in plain SQL what a user can see and do
// through the second door, an end user's own JWT:
//
//	err := platformtest.AsUser(ctx, db.App, clinician, func(tx pgx.Tx) error {
//		return tx.QueryRow(ctx, `SELECT count(*) FROM public.cl_progress_notes`).Scan(&n)
//	})
//
// db is a pool or connection of [AppRole] (or any member of
// `authenticated`); given a pgx.Tx, fn runs in a savepoint of it and the
// transaction's own role and claims are restored afterwards. A nil user is
// [ErrNoActingUser].
func AsUser(ctx context.Context, db interface {
	Begin(context.Context) (pgx.Tx, error)
}, user uuid.UUID, fn func(pgx.Tx) error) error {
	return dbtx.Run(ctx, db, user, fn)
}
