package multiparty_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/internal/testdb"
	"github.com/encoreos/platform-go/multiparty"
)

// BenchmarkGet reads an encounter with its participants (Get: the
// accounting of its Part 2 patients committed, then the encounter and its
// participants) beside the same two SELECTs without RLS (as the owner).
// Sizes: patients=N patient participants, one in five of them on a Part 2
// chart the clinician holds a consent to, plus four participants who are
// not patients.
func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	for _, patients := range []int{5, 30} {
		b.Run(fmt.Sprintf("patients=%d", patients), func(b *testing.B) {
			bb := setup(b)
			p := bb.family(bb.chart)
			p.Participants = p.Participants[1:]
			for i := range patients {
				chart := bb.db.NewChart(b, bb.org, i%5 == 0)
				if i%5 == 0 {
					bb.consentTo(b, bb.clinician, chart)
				}
				p.Participants = append(p.Participants, multiparty.ParticipantParams{Kind: multiparty.Patient, ChartID: chart})
			}
			e, err := bb.client.Create(ctx, bb.clinician, p)
			require.NoError(b, err)
			var pr testdb.Pair
			for b.Loop() {
				pr.Run(func() {
					got, err := bb.client.Get(ctx, bb.clinician, bb.org, e.ID)
					require.NoError(b, err)
					require.Len(b, got.Participants, patients+4)
				}, func() {
					rows, _ := bb.db.Admin.Query(ctx, `SELECT * FROM public.cl_multi_party_encounters WHERE organization_id = $1 AND id = $2`, bb.org, e.ID)
					_, err := pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByName[multiparty.Encounter])
					require.NoError(b, err)
					rows, _ = bb.db.Admin.Query(ctx, `SELECT * FROM public.cl_multi_party_participants WHERE organization_id = $1 AND encounter_id = $2
						ORDER BY created_at, id`, bb.org, e.ID)
					got, err := pgx.CollectRows(rows, pgx.RowToStructByName[multiparty.Participant])
					require.NoError(b, err)
					require.Len(b, got, patients+4)
				})
			}
			pr.Report(b)
		})
	}
}
