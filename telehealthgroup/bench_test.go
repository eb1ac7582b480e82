package telehealthgroup_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/billing"
	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/internal/testdb"
	"github.com/encoreos/platform-go/telehealthgroup"
)

// BenchmarkConcludeHybrid15: conclude a started 15-attendee hybrid group
// (5 in the room, 5 on video at home, 5 audio only), with its event and
// per-attendee suggestions. Setup (a new session, attendees, start) is not
// timed. With a history of stored events and encounters (testdb.Scales:
// 0 and 1,000, or up to 1,000,000 with PLATFORM_BENCH_SCALE=1m; no other
// group sessions), whose slope should be flat; no lower bound is paired.
func BenchmarkConcludeHybrid15(b *testing.B) {
	for _, history := range testdb.Scales() {
		b.Run(fmt.Sprintf("history=%d", history), func(b *testing.B) { concludeHybrid15(b, history) })
	}
}

func concludeHybrid15(b *testing.B, history int) {
	bb := setup(b)
	testdb.Fill(b, bb.db, bb.org, history, history)
	ctx := context.Background()
	var concluding []time.Duration
	for b.Loop() {
		b.StopTimer()
		require.NoError(b, bb.db.Admin.QueryRow(ctx, `INSERT INTO public.cl_group_sessions
			(organization_id, facilitator_id, service_type, scheduled_start, scheduled_end)
			VALUES ($1, $2, 'group_therapy', now(), now() + interval '90 minutes') RETURNING id`, bb.org, bb.facilitator).Scan(&bb.session))
		bb.configure(b, telehealthgroup.Hybrid, billing.ProfileArizonaAHCCCS)
		for i := range 15 {
			mode := []telehealthgroup.Mode{telehealthgroup.InPerson, telehealthgroup.Video, telehealthgroup.AudioOnly}[i%3]
			a := bb.attendee(b, bb.db.NewChart(b, bb.org, false), mode, mode == telehealthgroup.Video)
			require.NoError(b, bb.client.SetAttendance(ctx, bb.facilitator, bb.org, a.AttendanceID, telehealthgroup.Present, time.Time{}, time.Time{}))
		}
		_, err := bb.client.Start(ctx, bb.facilitator, bb.org, bb.session, uuid.New())
		require.NoError(b, err)
		b.StartTimer()
		start := time.Now()
		done, err := bb.client.Conclude(ctx, bb.facilitator, bb.org, bb.session, uuid.New(), time.Time{})
		concluding = append(concluding, time.Since(start))
		require.NoError(b, err)
		require.Len(b, done.Attendees, 15)
	}
	slices.Sort(concluding)
	b.ReportMetric(float64(concluding[len(concluding)/2].Microseconds())/1000, "median-ms/conclude")
}

// BenchmarkAttendees lists a hybrid session's attendees (Attendees: the
// accounting of its Part 2 attendees committed, then the list) beside the
// same SELECT without RLS (as the owner). Sizes: attendees=N, one in five
// on a Part 2 chart under a consent to the organization (treatment, group
// session and virtual group participation), in-person, video and
// audio-only in turn.
func BenchmarkAttendees(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{15, 50} {
		b.Run(fmt.Sprintf("attendees=%d", n), func(b *testing.B) {
			bb := setup(b)
			bb.configure(b, telehealthgroup.Hybrid, billing.ProfileArizonaAHCCCS)
			store, err := consent.New(bb.db.App, nil)
			require.NoError(b, err)
			for i := range n {
				chart := bb.db.NewChart(b, bb.org, i%5 == 0)
				if i%5 == 0 {
					_, err := store.Grant(ctx, bb.officer, consent.GrantParams{OrganizationID: bb.org, ChartID: chart,
						Recipient:   consent.Recipient{OrganizationID: bb.org},
						RecordTypes: []consent.RecordType{consent.RecordVirtualGroupParticipation, consent.RecordGroupSession},
						Purposes:    []consent.Purpose{consent.PurposeTreatment}, ExpirationEvent: "end_of_treatment",
						SignedAt: time.Now(), Signer: consent.SignerPatient})
					require.NoError(b, err)
				}
				mode := []telehealthgroup.Mode{telehealthgroup.InPerson, telehealthgroup.Video, telehealthgroup.AudioOnly}[i%3]
				bb.attendee(b, chart, mode, mode == telehealthgroup.Video)
			}
			var p testdb.Pair
			for b.Loop() {
				p.Run(func() {
					got, err := bb.client.Attendees(ctx, bb.facilitator, bb.org, bb.session)
					require.NoError(b, err)
					require.Len(b, got, n)
				}, func() {
					rows, _ := bb.db.Admin.Query(ctx, `SELECT a.id AS attendance_id, a.chart_id, a.status, m.mode, m.at_home, m.joined_at, m.left_at
						FROM public.cl_group_attendance a
						JOIN public.cl_group_attendance_modes m ON m.organization_id = a.organization_id AND m.attendance_id = a.id
						WHERE a.organization_id = $1 AND a.session_id = $2 AND m.organization_id = $1 AND m.session_id = $2
						ORDER BY a.id`, bb.org, bb.session)
					got, err := pgx.CollectRows(rows, pgx.RowToStructByName[telehealthgroup.Attendee])
					require.NoError(b, err)
					require.Len(b, got, n)
				})
			}
			p.Report(b)
		})
	}
}
