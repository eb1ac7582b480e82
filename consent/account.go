package consent

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/encoreos/platform-go/internal/dbtx"
)

// Account puts the disclosure of charts' records of recordType, for
// purpose and use, in their accounting of disclosures, in a transaction of
// its own that commits before it returns: a part2.record.disclosed audit
// row per Part 2 chart actingUser may see (under a consent or an emergency
// access), written by cl_part2_disclosed. Rows of a Part 2 chart open to
// the user only once such a row has committed, for five minutes
// (cl_part2_disclosure_window), so call it before reading or writing them
// in SQL of your own; a rollback of the read cannot take the line back.
// For a display or a save, a row that says the same (user, record type,
// use, purpose, basis), younger than cl_part2_disclosure_reuse and written
// under the consents and emergency accesses still in force, stands for the
// call, which writes none; an export or an AI use is accounted for once
// per transaction. It returns how many rows it wrote; charts that are not
// Part 2, or that the user may not see, write nothing. db must be a pool
// or a connection, not a transaction (see AccountTx).
func Account(ctx context.Context, db DB, actingUser, organizationID uuid.UUID, recordType RecordType, purpose Purpose, use Use,
	charts ...uuid.UUID) (int, error) {
	var n int
	account := dbtx.Accounting(organizationID, charts, string(recordType), string(purpose), string(use))
	account.Rows = func(rows pgx.Rows) (err error) {
		n, err = pgx.CollectExactlyOneRow(rows, pgx.RowTo[int])
		return err
	}
	return n, dbtx.MapError(dbtx.Pipeline(ctx, db, actingUser, []dbtx.Statement{account}))
}

// AccountTx is [Account] inside tx, which must run as the acting user. The
// rows it writes open nothing until tx commits: commit it before the read
// or write it accounts for.
func AccountTx(ctx context.Context, tx pgx.Tx, organizationID uuid.UUID, recordType RecordType, purpose Purpose, use Use,
	charts ...uuid.UUID) (int, error) {
	account := dbtx.Accounting(organizationID, charts, string(recordType), string(purpose), string(use))
	var n int
	err := tx.QueryRow(ctx, account.SQL, account.Args...).Scan(&n)
	return n, dbtx.MapError(err)
}
