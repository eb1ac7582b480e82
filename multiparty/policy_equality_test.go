package multiparty_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/testdb"
	"github.com/encoreos/platform-go/multiparty"
)

// An encounter's participants are read with cl_multi_party_readable asked
// once (cl_multi_party_participants_of), and the encounter's patients are
// decided together (cl_multi_party_allowed): on randomized data (encounters
// with several patients, Part 2 or not at several sites and none, consents
// to a reader or to the organization, for treatment or for payment only,
// some revoked; readers with organization-wide and site-scoped roles)
// every reader's participants are exactly the rows plain SQL returns
// through the per-row policy after the same committed accounting, and
// cl_multi_party_allowed gives the answer of the seed's one-chart rule as
// it stood before (testdb.InstallSeedRef) for every patient.
func TestParticipantsGiveThePolicysAnswer(t *testing.T) {
	t.Parallel()
	rng := testdb.Rand(t)
	b := setup(t)
	ctx := context.Background()
	testdb.InstallSeedRef(t, b.db)
	sites := []uuid.UUID{b.db.NewSite(t, b.org), b.db.NewSite(t, b.org)}
	b.db.NewRole(t, "zz_mp_viewer", "test", "cl.multi_party.view")
	b.db.NewRole(t, "zz_chart_viewer", "test", "cl.chart.view")
	readers := []uuid.UUID{b.clinician, b.colleague, b.peer, b.officer, b.db.NewMember(t, b.org)}
	readers = append(readers, testdb.SiteScopedReaders(t, b.db, rng, b.org, sites, 3, "zz_mp_viewer", "zz_chart_viewer")...)
	encounters := make([]uuid.UUID, 8)
	for i := range encounters {
		require.NoError(t, b.db.Admin.QueryRow(ctx, `INSERT INTO public.cl_multi_party_encounters (organization_id, kind, modality,
			lead_clinician_id, started_at, created_by, updated_by) VALUES ($1, 'family', 'in_person', $2, now() - interval '1 hour', $2, $2)
			RETURNING id`, b.org, b.clinician).Scan(&encounters[i]))
		b.db.Exec(t, `INSERT INTO public.cl_multi_party_participants (organization_id, encounter_id, kind, role_code, created_by)
			VALUES ($1, $2, 'family_support', 'parent', $3)`, b.org, encounters[i], b.clinician)
		for range rng.IntN(4) {
			chart := testdb.RandomChart(t, b.db, rng, b.org, sites, 3)
			b.db.Exec(t, `INSERT INTO public.cl_multi_party_participants (organization_id, encounter_id, kind, chart_id, created_by)
				VALUES ($1, $2, 'patient', $3, $4)`, b.org, encounters[i], chart, b.clinician)
			testdb.RandomConsents(t, b.db, rng, b.org, chart, b.officer, []string{"multi_party_encounter"}, 2, append(readers, uuid.Nil)...)
		}
	}
	var shown, hidden int
	for _, reader := range readers {
		for _, e := range encounters {
			require.NoError(t, testdb.ExecCommitted(ctx, b.db.App, reader, `SELECT public.cl_multi_party_disclose($1, $2, 'display')`, b.org, e))
			var lib, policy []multiparty.Participant
			require.NoError(t, dbtx.Run(ctx, b.db.App, reader, func(tx pgx.Tx) error {
				rows, _ := tx.Query(ctx, participantsOf, b.org, e)
				var err error
				if lib, err = pgx.CollectRows(rows, pgx.RowToStructByName[multiparty.Participant]); err != nil {
					return err
				}
				rows, _ = tx.Query(ctx, `SELECT * FROM public.cl_multi_party_participants WHERE organization_id = $1 AND encounter_id = $2
					ORDER BY created_at, id`, b.org, e)
				policy, err = pgx.CollectRows(rows, pgx.RowToStructByName[multiparty.Participant])
				return err
			}))
			require.Equal(t, policy, lib, "reader %s, encounter %s", reader, e)
			// The library's read brings them with the encounter, in the
			// same row (one decision): the same participants.
			got, err := b.client.Get(ctx, reader, b.org, e)
			if len(policy) == 0 {
				require.ErrorIs(t, err, multiparty.ErrNotFound, "reader %s, encounter %s", reader, e)
			} else {
				require.NoError(t, err)
				require.Equal(t, policy, got.Participants, "reader %s, encounter %s: Get", reader, e)
			}
			if len(lib) > 0 {
				shown++
			} else {
				hidden++
			}
			// The rule over the encounter's patients against the seed's
			// one-chart rule.
			require.NoError(t, pgx.BeginFunc(ctx, b.db.Admin, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `SELECT pg_catalog.set_config('request.jwt.claim.sub', $1, true)`, reader.String()); err != nil {
					return err
				}
				for _, opened := range []bool{false, true} {
					var got, want bool
					if err := tx.QueryRow(ctx, `SELECT public.cl_multi_party_allowed($1, $2, $3),
						public.cl_has_permission($1, 'cl.multi_party.view') AND NOT EXISTS (
						  SELECT 1 FROM public.cl_multi_party_participants p
						  WHERE p.organization_id = $1 AND p.encounter_id = $2 AND p.kind = 'patient'
						    AND NOT (seedref.cl_check_sud_consent(p.chart_id, 'multi_party_encounter', $4)
						             AND (NOT $3 OR seedref.cl_part2_opened($1, p.chart_id, 'multi_party_encounter'))))`,
						b.org, e, opened, reader).Scan(&got, &want); err != nil {
						return err
					}
					require.Equal(t, want, got, "reader %s, encounter %s, opened %v", reader, e, opened)
				}
				return nil
			}))
		}
	}
	require.Positive(t, shown)
	require.Positive(t, hidden)
}

const participantsOf = `SELECT * FROM public.cl_multi_party_participants_of($1, $2)`
