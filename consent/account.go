package consent

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/encoreos/platform-go/internal/dbtx"
)

// AccountTx puts the disclosure of charts' records of recordType, for
// purpose and use, in their accounting of disclosures inside tx, which must
// run as the acting user: one part2.record.disclosed audit row per Part 2
// chart the user may see (under a consent or an emergency access), once per
// chart, record type and use per transaction (cl_part2_disclosed). Rows of a
// Part 2 chart are visible in a transaction only after this, so call it
// before reading or writing them in SQL. It returns how many rows it wrote;
// charts that are not Part 2, or that the user may not see, write nothing.
func AccountTx(ctx context.Context, tx pgx.Tx, organizationID uuid.UUID, recordType RecordType, purpose Purpose, use Use,
	charts ...uuid.UUID) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT public.cl_part2_disclosed($1, $2, $3, $4, $5)`,
		organizationID, charts, recordType, purpose, use).Scan(&n)
	return n, dbtx.MapError(err)
}
