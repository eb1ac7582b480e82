package telehealthgroup_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/testdb"
	"github.com/encoreos/platform-go/telehealthgroup"
)

// A hybrid group of 90 minutes, as PM-07 receives it: one charge line per
// billable attendee, every figure the database's. One attendee switches
// from video to audio only at minute 40, one sits in the room and leaves at
// minute 60, one loses the connection for 15 minutes; a Part 2 attendee
// whose consent covers payment gets a labelled line (and a line in the
// accounting of disclosures), one whose consent does not gets none.
func TestChargeLinesReachChargeCapture(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.configure(t, telehealthgroup.Hybrid, "")
	switcher := b.attendee(t, b.db.NewChart(t, b.org, false), telehealthgroup.Video, true)
	room := b.attendee(t, b.db.NewChart(t, b.org, false), telehealthgroup.InPerson, false)
	dropped := b.attendee(t, b.db.NewChart(t, b.org, false), telehealthgroup.Video, false)
	absent := b.attendee(t, b.db.NewChart(t, b.org, false), telehealthgroup.Video, true)

	store, err := consent.New(b.db.App, nil)
	require.NoError(t, err)
	grant := func(chart uuid.UUID, purpose consent.Purpose, types ...consent.RecordType) {
		_, err := store.Grant(ctx, b.officer, consent.GrantParams{OrganizationID: b.org, ChartID: chart,
			Recipient: consent.Recipient{OrganizationID: b.org}, RecordTypes: types, Purposes: []consent.Purpose{purpose},
			ExpirationEvent: "end_of_treatment", SignedAt: time.Now(), Signer: consent.SignerPatient})
		require.NoError(t, err)
	}
	payable, unpayable := b.db.NewChart(t, b.org, true), b.db.NewChart(t, b.org, true)
	for _, chart := range []uuid.UUID{payable, unpayable} {
		grant(chart, consent.PurposeTreatment, consent.RecordVirtualGroupParticipation, consent.RecordGroupSession)
	}
	grant(payable, consent.PurposePayment, consent.RecordGroupSession)
	part2 := b.attendee(t, payable, telehealthgroup.Video, true)
	withheld := b.attendee(t, unpayable, telehealthgroup.Video, true)

	_, err = b.client.Start(ctx, b.facilitator, b.org, b.session, uuid.New())
	require.NoError(t, err)
	// The session began 90 minutes ago (the host's maintenance moves it
	// back, so that the figures are not all zero).
	var start time.Time
	require.NoError(t, b.db.Admin.QueryRow(ctx, `UPDATE public.cl_group_session_telehealth_metadata
		SET started_at = date_trunc('minute', now()) - interval '90 minutes' WHERE session_id = $1 RETURNING started_at`, b.session).Scan(&start))
	b.db.Exec(t, `UPDATE public.cl_group_sessions SET started_at = $2 WHERE id = $1`, b.session, start)
	at := func(m int) time.Time { return start.Add(time.Duration(m) * time.Minute) }

	for _, a := range []*telehealthgroup.Attendee{switcher, dropped, part2, withheld} {
		require.NoError(t, b.client.SetAttendance(ctx, b.facilitator, b.org, a.AttendanceID, telehealthgroup.Present, at(0), time.Time{}))
	}
	require.NoError(t, b.client.SetAttendance(ctx, b.facilitator, b.org, room.AttendanceID, telehealthgroup.Present, at(0), at(60)))
	require.NoError(t, b.client.SetAttendance(ctx, b.facilitator, b.org, absent.AttendanceID, telehealthgroup.Absent, time.Time{}, time.Time{}))
	require.NoError(t, b.client.SwitchMode(ctx, b.facilitator, b.org, switcher.AttendanceID, telehealthgroup.AudioOnly, true, time.Time{}))
	// A switch is recorded as it happens (at most five minutes back):
	// the maintenance moves this one to minute 40, with the start.
	require.Error(t, b.client.SwitchMode(ctx, b.facilitator, b.org, dropped.AttendanceID, telehealthgroup.AudioOnly, false, at(40)),
		"backdated half an hour")
	b.db.Exec(t, `UPDATE public.cl_group_mode_switches SET switched_at = $2 WHERE attendance_id = $1`, switcher.AttendanceID, at(40))
	_, err = b.client.LogFailure(ctx, b.facilitator, telehealthgroup.FailureParams{OrganizationID: b.org, SessionID: b.session,
		Kind: telehealthgroup.ParticipantConnection, StartedAt: at(10), EndedAt: at(25), AffectedParticipantCount: 1,
		ActionTaken: telehealthgroup.Reconnected, AffectedAttendanceID: dropped.AttendanceID})
	require.NoError(t, err)

	done, err := b.client.Conclude(ctx, b.facilitator, b.org, b.session, uuid.New(), at(90))
	require.NoError(t, err)
	require.Equal(t, 90, done.Event.DurationMinutes, "a participant's failure is not the session's")
	require.Equal(t, 5, done.Event.ParticipantCount)

	var concludedID uuid.UUID
	require.NoError(t, b.db.Admin.QueryRow(ctx, `SELECT id FROM public.cl_pm_events WHERE organization_id = $1
		AND event_type = 'cl_virtual_group_concluded'`, b.org).Scan(&concludedID))
	rows, _ := b.db.Admin.Query(ctx, `SELECT envelope FROM public.cl_pm_events
		WHERE organization_id = $1 AND event_type = 'cl_virtual_group_charge_line'`, b.org)
	envelopes, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	require.NoError(t, err)
	lines := map[uuid.UUID]*events.VirtualGroupChargeLine{}
	for _, raw := range envelopes {
		var env events.Envelope
		require.NoError(t, json.Unmarshal(raw, &env))
		e, err := events.Decode(&env)
		require.NoError(t, err)
		line := e.(*events.VirtualGroupChargeLine)
		require.Equal(t, concludedID, line.ConcludedEventID)
		lines[line.AttendanceID] = line
	}
	require.Len(t, lines, 4, "present attendees only, and no Part 2 line without a consent to payment")
	require.NotContains(t, lines, withheld.AttendanceID)
	require.NotContains(t, lines, absent.AttendanceID)

	pos := func(c events.Code) *events.Code { return &c }
	type figures struct {
		modes                  events.Codes
		video, audio, inPerson int
		billable, units        int
		place                  *events.Code
		modifiers, labels      events.Codes
	}
	for name, tc := range map[string]struct {
		attendance uuid.UUID
		want       figures
	}{
		"switched to audio at minute 40": {switcher.AttendanceID, figures{events.Codes{"video", "audio_only"}, 40, 50, 0, 90, 6,
			pos("10"), events.Codes{"93", "HQ"}, events.Codes{}}},
		"in the room, left at minute 60": {room.AttendanceID, figures{events.Codes{"in_person"}, 0, 0, 60, 60, 4,
			nil, events.Codes{"HQ"}, events.Codes{}}},
		"lost 15 minutes of connection": {dropped.AttendanceID, figures{events.Codes{"video"}, 75, 0, 0, 75, 5,
			pos("02"), events.Codes{"95", "HQ"}, events.Codes{}}},
		"Part 2, consent to payment": {part2.AttendanceID, figures{events.Codes{"video"}, 90, 0, 0, 90, 6,
			pos("10"), events.Codes{"95", "HQ"}, events.Codes{"R", "42CFRPart2", "NORDSCLCD"}}},
	} {
		l := lines[tc.attendance]
		require.NotNil(t, l, name)
		got := figures{l.Modes, l.VideoMinutes, l.AudioOnlyMinutes, l.InPersonMinutes, l.BillableMinutes, l.Units,
			l.PlaceOfService, l.ModifierSuggestions, l.SecurityLabels}
		require.Equal(t, tc.want, got, name)
	}
	require.Equal(t, payable, lines[part2.AttendanceID].ChartID)

	var accounted int
	require.NoError(t, b.db.Admin.QueryRow(ctx, `SELECT count(*) FROM public.pf_audit_logs WHERE organization_id = $1
		AND action = 'part2.record.disclosed' AND target_id = $2 AND purpose = 'HPAYMT' AND details->>'use' = 'export'`,
		b.org, payable).Scan(&accounted))
	require.Equal(t, 1, accounted, "the disclosure to charge capture is in the chart's accounting")

	// A concluded group's lines are published once, with it: a retried
	// conclusion publishes nothing more, and nobody publishes a line.
	_, err = b.client.Conclude(ctx, b.facilitator, b.org, b.session, uuid.New(), time.Time{})
	require.ErrorIs(t, err, telehealthgroup.ErrAlreadyConcluded)
	outbox := events.NewOutbox(nil)
	forged := *lines[switcher.AttendanceID]
	forged.BillableMinutes, forged.Units = 900, 60
	integration := b.db.NewMember(t, b.org, "integration")
	err = dbtx.Run(ctx, b.db.App, integration, func(tx pgx.Tx) error {
		_, err := outbox.PublishTx(ctx, tx, &forged, &events.PublishOpts{IdempotencyKey: "forged-line"})
		return err
	})
	require.True(t, dbtx.IsInvalidParameter(err), "charge lines come from the conclusion only: %v", err)
	// The lines the database built pass every check of the store they skip.
	testdb.RequireStoredEventsValid(t, b.db, b.org)
}

// Found by an independent review of the billing figures, pinned: a payment
// consent covers charge capture only when it names the organization; the
// group's audio or video outage costs the remote attendees their minutes;
// the profile is fixed at the start; nobody concludes in the future, takes
// another type's idempotency key, or reads the present count without the
// conclude permission.
func TestBillingReviewFindingsStayFixed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.configure(t, telehealthgroup.Hybrid, "")
	room := b.attendee(t, b.db.NewChart(t, b.org, false), telehealthgroup.InPerson, false)
	remote := b.attendee(t, b.db.NewChart(t, b.org, false), telehealthgroup.Video, false)
	store, err := consent.New(b.db.App, nil)
	require.NoError(t, err)
	chart := b.db.NewChart(t, b.org, true)
	for _, g := range []struct {
		purpose   consent.Purpose
		recipient consent.Recipient
		types     []consent.RecordType
	}{
		{consent.PurposeTreatment, consent.Recipient{OrganizationID: b.org}, []consent.RecordType{consent.RecordVirtualGroupParticipation, consent.RecordGroupSession}},
		{consent.PurposePayment, consent.Recipient{UserID: b.facilitator}, []consent.RecordType{consent.RecordGroupSession}},
	} {
		_, err := store.Grant(ctx, b.officer, consent.GrantParams{OrganizationID: b.org, ChartID: chart, Recipient: g.recipient,
			RecordTypes: g.types, Purposes: []consent.Purpose{g.purpose}, ExpirationEvent: "end_of_treatment",
			SignedAt: time.Now(), Signer: consent.SignerPatient})
		require.NoError(t, err)
	}
	namedUser := b.attendee(t, chart, telehealthgroup.Video, true)

	_, err = b.client.Start(ctx, b.facilitator, b.org, b.session, uuid.New())
	require.NoError(t, err)
	_, err = b.client.Configure(ctx, b.facilitator, telehealthgroup.ConfigureParams{OrganizationID: b.org, SessionID: b.session,
		Modality: telehealthgroup.Hybrid, JurisdictionProfile: "medicare"})
	require.ErrorIs(t, err, telehealthgroup.ErrAlreadyStarted, "the payer's profile is fixed at the start")

	var start time.Time
	require.NoError(t, b.db.Admin.QueryRow(ctx, `UPDATE public.cl_group_session_telehealth_metadata
		SET started_at = date_trunc('minute', now()) - interval '60 minutes' WHERE session_id = $1 RETURNING started_at`, b.session).Scan(&start))
	b.db.Exec(t, `UPDATE public.cl_group_sessions SET started_at = $2 WHERE id = $1`, b.session, start)
	for _, a := range []*telehealthgroup.Attendee{room, remote, namedUser} {
		require.NoError(t, b.client.SetAttendance(ctx, b.facilitator, b.org, a.AttendanceID, telehealthgroup.Present, start, time.Time{}))
	}
	_, err = b.client.LogFailure(ctx, b.facilitator, telehealthgroup.FailureParams{OrganizationID: b.org, SessionID: b.session,
		Kind: telehealthgroup.AudioOutage, StartedAt: start.Add(10 * time.Minute), EndedAt: start.Add(40 * time.Minute),
		AffectedParticipantCount: 2, ActionTaken: telehealthgroup.Reconnected})
	require.NoError(t, err)

	raw := func(user uuid.UUID, sql string, args ...any) error {
		return dbtx.Run(ctx, b.db.App, user, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, sql, args...); return err })
	}
	err = raw(b.facilitator, `SELECT * FROM public.cl_virtual_group_transition($1, $2, 'concluded', $3, now() + interval '50 seconds', NULL)`,
		b.org, b.session, uuid.New())
	require.True(t, dbtx.IsInvalidParameter(err), "no conclusion in the future: %v", err)
	integration := b.db.NewMember(t, b.org, "integration")
	pe := b.db.NewFinalizedPeerEncounter(t, b.org)
	outbox := events.NewOutbox(nil)
	finalized := &events.PeerEncounterFinalized{Header: events.Header{OrganizationID: b.org, Timestamp: pe.FinalizedAt},
		PeerEncounterID: pe.ID, ChartID: pe.ChartID, PeerProviderID: pe.PeerProviderID, ServiceDate: events.NewDate(pe.ServiceDate),
		HCPCSCode: "H0038", DurationMinutes: pe.DurationMinutes}
	err = dbtx.Run(ctx, b.db.App, integration, func(tx pgx.Tx) error {
		_, err := outbox.PublishTx(ctx, tx, finalized, &events.PublishOpts{IdempotencyKey: "cl_virtual_group_charge_line:" + remote.AttendanceID.String()})
		return err
	})
	require.True(t, dbtx.IsInvalidParameter(err), "another type's key: %v", err)
	err = dbtx.Run(ctx, b.db.App, integration, func(tx pgx.Tx) error {
		_, err := outbox.PublishTx(ctx, tx, finalized, &events.PublishOpts{IdempotencyKey: "peer_encounter_finalized:aggregate:" + uuid.NewString()})
		return err
	})
	require.True(t, dbtx.IsInvalidParameter(err), "another record's key (it would block that record's finalization): %v", err)
	corrected := &events.PeerEncounterCorrected{Header: events.Header{OrganizationID: b.org, Timestamp: pe.FinalizedAt}, PeerEncounterID: pe.ID, AmendmentID: uuid.New(),
		CorrectsEventID: uuid.New(), ChartID: pe.ChartID, PeerProviderID: pe.PeerProviderID, ServiceDate: finalized.ServiceDate,
		HCPCSCode: "H0038", DurationMinutes: 1440}
	err = dbtx.Run(ctx, b.db.App, integration, func(tx pgx.Tx) error { _, err := outbox.PublishTx(ctx, tx, corrected, nil); return err })
	require.True(t, dbtx.IsInvalidParameter(err), "corrections come from Correct only: %v", err)

	done, err := b.client.Conclude(ctx, b.facilitator, b.org, b.session, uuid.New(), start.Add(60*time.Minute))
	require.NoError(t, err)
	require.Equal(t, 60, done.Event.DurationMinutes)
	var count *int
	require.NoError(t, dbtx.Run(ctx, b.db.App, b.peer, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT (public.cl_virtual_group_concluded_data($1, $2)->>'participant_count')::int`, b.org, b.session).Scan(&count)
	}))
	require.Nil(t, count, "a viewer does not learn how many attendees it cannot see")

	rows, _ := b.db.Admin.Query(ctx, `SELECT envelope->'data' FROM public.cl_pm_events
		WHERE organization_id = $1 AND event_type = 'cl_virtual_group_charge_line'`, b.org)
	data, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	require.NoError(t, err)
	minutes := map[uuid.UUID]int{}
	for _, d := range data {
		var l events.VirtualGroupChargeLine
		require.NoError(t, json.Unmarshal(d, &l))
		minutes[l.AttendanceID] = l.BillableMinutes
	}
	require.Equal(t, map[uuid.UUID]int{room.AttendanceID: 60, remote.AttendanceID: 30}, minutes,
		"the audio outage costs the remote attendee 30 minutes, not the room; a payment consent naming a person covers no line")
}

// An evening session is billed on its own day in the organization's time
// zone, under that day's rules: 18:30 in Phoenix on 31 December 2023 is
// 2024 in UTC, when Medicare no longer asked for 95.
func TestTheServiceDateIsTheOrganizations(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.db.Exec(t, `INSERT INTO public.hr_productivity_settings (organization_id, time_zone) VALUES ($1, 'America/Phoenix')`, b.org)
	b.configure(t, telehealthgroup.Virtual, "medicare")
	a := b.attendee(t, b.db.NewChart(t, b.org, false), telehealthgroup.Video, false)
	_, err := b.client.Start(ctx, b.facilitator, b.org, b.session, uuid.New())
	require.NoError(t, err)
	start := time.Date(2023, 12, 31, 18, 30, 0, 0, time.FixedZone("MST", -7*3600))
	b.db.Exec(t, `UPDATE public.cl_group_session_telehealth_metadata SET started_at = $2 WHERE session_id = $1`, b.session, start)
	b.db.Exec(t, `UPDATE public.cl_group_sessions SET started_at = $2 WHERE id = $1`, b.session, start)
	require.NoError(t, b.client.SetAttendance(ctx, b.facilitator, b.org, a.AttendanceID, telehealthgroup.Present, start, time.Time{}))
	done, err := b.client.Conclude(ctx, b.facilitator, b.org, b.session, uuid.New(), start.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, events.Codes{"95"}, done.Event.ModifierSuggestions, "2023's rule")
	var line events.VirtualGroupChargeLine
	var raw []byte
	require.NoError(t, b.db.Admin.QueryRow(ctx, `SELECT envelope->'data' FROM public.cl_pm_events
		WHERE organization_id = $1 AND event_type = 'cl_virtual_group_charge_line'`, b.org).Scan(&raw))
	require.NoError(t, json.Unmarshal(raw, &line))
	require.Equal(t, "2023-12-31", line.ServiceDate.Format(time.DateOnly))
	require.Equal(t, events.Codes{"95"}, line.ModifierSuggestions)
}
