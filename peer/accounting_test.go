package peer_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/peer"
)

// What a review of the accounting's reuse found (a line standing for the
// calls that follow it within cl_part2_disclosure_reuse), each now held:
// the line stands only for the decision it recorded, and an export is
// accounted for at every call.

// displayLines counts user's display lines for chart written at or after
// since, with the purpose and basis given (any when "").
func displayLines(t *testing.T, b *bundle, user, chart uuid.UUID, since time.Time, purpose, basis string) int {
	t.Helper()
	return accountingLines(t, b, user, chart, "display", since, purpose, basis)
}

// accountingLines counts user's peer-encounter lines for chart of use
// written at or after since, with the purpose and basis given (any when
// "").
func accountingLines(t *testing.T, b *bundle, user, chart uuid.UUID, use string, since time.Time, purpose, basis string) int {
	t.Helper()
	var n int
	require.NoError(t, b.db.Admin.QueryRow(context.Background(), `SELECT count(*) FROM public.pf_audit_logs
		WHERE organization_id = $1 AND action = 'part2.record.disclosed' AND target_id = $2 AND actor_user_id = $3
		  AND details->>'record_type' = 'peer_encounter' AND details->>'use' = $4 AND occurred_at >= $5
		  AND ($6 = '' OR purpose = $6) AND ($7 = '' OR details->>'basis' = $7)`,
		b.org, chart, user, use, since, purpose, basis).Scan(&n))
	return n
}

// A consent revoked and another granted within the reuse: the disclosure
// under the new consent is a new decision, with a line of its own.
func TestALineStandsOnlyForItsConsent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	first := b.grant(t, b.peer, b.part2)
	e := b.create(t, b.part2, b.fields())
	_, err := b.client.Get(ctx, b.peer, b.org, e.ID)
	require.NoError(t, err)
	_, err = b.consent.Revoke(ctx, b.officer, b.org, first.ID)
	require.NoError(t, err)
	_, err = b.client.Get(ctx, b.peer, b.org, e.ID)
	require.ErrorIs(t, err, peer.ErrNotFound, "a revocation closes the chart at once")
	revoked := time.Now()
	b.grant(t, b.peer, b.part2)
	// Plain SQL: the line written under the revoked consent opens nothing.
	plain := func() (n int) {
		require.NoError(t, dbtx.Run(ctx, b.db.App, b.peer, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*)::int FROM public.cl_peer_encounters WHERE chart_id = $1`, b.part2).Scan(&n)
		}))
		return n
	}
	require.Zero(t, plain())
	got, err := b.client.Get(ctx, b.peer, b.org, e.ID)
	require.NoError(t, err)
	require.Equal(t, e.FocusNotes, got.FocusNotes)
	require.Equal(t, 1, displayLines(t, b, b.peer, b.part2, revoked, "TREAT", "consent"),
		"the disclosure under the new consent has its own line")
	require.Equal(t, 1, plain(), "which opens the chart to plain SQL too")
}

// A second emergency access within the reuse is a new decision too.
func TestALineStandsOnlyForItsEmergencyAccess(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.grant(t, b.peer, b.part2) // the author's, to write the encounter
	e := b.create(t, b.part2, b.fields())
	clinician := b.db.NewMember(t, b.org, "clinician")
	_, err := b.consent.BreakGlass(ctx, clinician, consent.BreakGlassParams{ChartID: b.part2, Reason: "overdose in the lobby, first"})
	require.NoError(t, err)
	_, err = b.client.Get(ctx, clinician, b.org, e.ID)
	require.NoError(t, err)
	require.Equal(t, 1, displayLines(t, b, clinician, b.part2, time.Time{}, "ETREAT", "emergency"))
	// The first access ends (as if its time had run out).
	require.NoError(t, pgx.BeginFunc(ctx, b.db.Admin, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE public.cl_part2_emergency_access SET started_at = now() - interval '2 hours',
			expires_at = now() - interval '1 second' WHERE organization_id = $1 AND user_id = $2`, b.org, clinician)
		return err
	}))
	_, err = b.client.Get(ctx, clinician, b.org, e.ID)
	require.ErrorIs(t, err, peer.ErrNotFound, "an ended emergency access closes the chart")
	second := time.Now()
	_, err = b.consent.BreakGlass(ctx, clinician, consent.BreakGlassParams{ChartID: b.part2, Reason: "a second, unrelated emergency"})
	require.NoError(t, err)
	_, err = b.client.Get(ctx, clinician, b.org, e.ID)
	require.NoError(t, err)
	require.Equal(t, 1, displayLines(t, b, clinician, b.part2, second, "ETREAT", "emergency"),
		"the disclosure under the second emergency access has its own line")
}

// An export (a host's consent.Account before each, as the README asks)
// leaves the program: each is accounted for.
func TestEveryExportIsAccounted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	_, err := b.consent.Grant(ctx, b.officer, consent.GrantParams{
		OrganizationID: b.org, ChartID: b.part2, Recipient: consent.Recipient{UserID: b.peer},
		RecordTypes: []consent.RecordType{consent.RecordPeerEncounter}, Purposes: []consent.Purpose{consent.PurposePayment},
		ExpirationEvent: "end_of_treatment", SignedAt: time.Now(), Signer: consent.SignerPatient,
	})
	require.NoError(t, err)
	for i := range 2 {
		n, err := consent.Account(ctx, b.db.App, b.peer, b.org, consent.RecordPeerEncounter, consent.PurposePayment, consent.UseExport, b.part2)
		require.NoError(t, err)
		require.Equal(t, 1, n, "export %d", i+1)
	}
}

// The API's reads are for treatment: a consent for payment only, and a
// line accounting for a payment display, open nothing to them.
func TestATreatmentReadNeedsATreatmentBasis(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.grant(t, b.peer, b.part2)
	e := b.create(t, b.part2, b.fields())
	_, err := b.consent.Grant(ctx, b.officer, consent.GrantParams{
		OrganizationID: b.org, ChartID: b.part2, Recipient: consent.Recipient{UserID: b.peer2},
		RecordTypes: []consent.RecordType{consent.RecordPeerEncounter}, Purposes: []consent.Purpose{consent.PurposePayment},
		ExpirationEvent: "end_of_treatment", SignedAt: time.Now(), Signer: consent.SignerPatient,
	})
	require.NoError(t, err)
	n, err := consent.Account(ctx, b.db.App, b.peer2, b.org, consent.RecordPeerEncounter, consent.PurposePayment, consent.UseDisplay, b.part2)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = b.client.Get(ctx, b.peer2, b.org, e.ID)
	require.ErrorIs(t, err, peer.ErrNotFound)
	page, err := b.client.ListByChart(ctx, b.peer2, b.org, b.part2, peer.ListParams{})
	require.NoError(t, err)
	require.Empty(t, page.Encounters)
	require.Zero(t, displayLines(t, b, b.peer2, b.part2, time.Time{}, "TREAT", ""))
}

// A provider's page accounts for the Part 2 charts on it, and no others:
// its first read writes their lines, returns nothing of them until they
// have committed (plain SQL sees that), and the library reads it again.
func TestAProviderPageAccountsForItsChartsOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	charts := make([]uuid.UUID, 3)
	for i := range charts {
		charts[i] = b.db.NewChart(t, b.org, true)
		b.grant(t, b.peer, charts[i])
		f := b.fields()
		f.EndTime = f.EndTime.AddDate(0, 0, -i) // newest first: charts[0], [1], [2]
		f.StartTime = f.StartTime.AddDate(0, 0, -i)
		f.ServiceDate = f.StartTime
		b.create(t, charts[i], f)
	}
	lines := func(chart uuid.UUID) int { return displayLines(t, b, b.peer, chart, time.Time{}, "TREAT", "consent") }

	// Plain SQL, as the peer: the first call writes the page's lines and
	// returns none of their rows; the next, once they have committed, does.
	read := func() (n int) {
		require.NoError(t, dbtx.Run(ctx, b.db.App, b.peer, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*)::int FROM public.cl_peer_encounters_by_provider($1, $2, '0001-01-01', '9999-12-31',
				'9999-12-31', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 2)`, b.org, b.peer).Scan(&n)
		}))
		return n
	}
	require.Zero(t, read(), "no row of a chart whose line is not yet committed")
	require.Equal(t, []int{1, 1, 0}, []int{lines(charts[0]), lines(charts[1]), lines(charts[2])},
		"lines for the page's charts, none for the next page's")
	require.Equal(t, 2, read())

	// Through the library, the third chart's first page: read again after
	// its line commits, in one call.
	page, err := b.client.ListByProvider(ctx, b.peer, b.org, b.peer, peer.ListParams{Limit: 3})
	require.NoError(t, err)
	require.Len(t, page.Encounters, 3)
	require.Equal(t, []int{1, 1, 1}, []int{lines(charts[0]), lines(charts[1]), lines(charts[2])})
}

// A client built on the caller's transaction reads in it: what needs no
// new line is read; a Part 2 read that had to write its line there is
// refused (the line opens the records only once the caller commits), and
// reads after the commit (a red-team finding: every read of such a client
// had failed once its transaction had an id).
func TestAClientOnACallersTransaction(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.grant(t, b.peer, b.part2)
	plain := b.create(t, b.chart, b.fields())
	secret := b.create(t, b.part2, b.fields())
	tx, err := b.db.App.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit, a no-op
	_, err = tx.Exec(ctx, `SELECT pg_catalog.pg_current_xact_id()`)
	require.NoError(t, err)
	client, err := peer.New(tx, nil)
	require.NoError(t, err)
	got, err := client.Get(ctx, b.peer, b.org, plain.ID)
	require.NoError(t, err)
	require.Equal(t, plain.ID, got.ID)
	_, err = client.Get(ctx, b.peer, b.org, secret.ID)
	require.ErrorIs(t, err, consent.ErrAccountingUncommitted)
	require.NoError(t, tx.Commit(ctx))
	got, err = b.client.Get(ctx, b.peer, b.org, secret.ID)
	require.NoError(t, err)
	require.Equal(t, secret.ID, got.ID)
}
