package telehealthgroup_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/billing"
	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/events/eventstest"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/testdb"
	"github.com/encoreos/platform-go/telehealthgroup"
	"github.com/encoreos/platform-go/telehealthgroup/telehealthgrouptest"
)

func TestMain(m *testing.M) { testdb.Main(m) }

type bundle struct {
	db                              *testdb.DB
	client                          *telehealthgroup.Client
	scheduling                      *telehealthgrouptest.Scheduling
	org, facilitator, peer, officer uuid.UUID
	session                         uuid.UUID
}

func setup(t testing.TB) *bundle {
	t.Helper()
	db := testdb.New(t)
	org := db.NewOrg(t)
	b := &bundle{db: db, scheduling: telehealthgrouptest.NewScheduling(), org: org,
		facilitator: db.NewMember(t, org, "clinician"), peer: db.NewMember(t, org, "peer_specialist"),
		officer: db.NewMember(t, org, "privacy_officer")}
	var err error
	b.client, err = telehealthgroup.New(db.App, &telehealthgroup.Config{Scheduling: b.scheduling})
	require.NoError(t, err)
	require.NoError(t, db.Admin.QueryRow(context.Background(), `INSERT INTO public.cl_group_sessions
		(organization_id, facilitator_id, service_type, scheduled_start, scheduled_end)
		VALUES ($1, $2, 'group_therapy', now(), now() + interval '90 minutes') RETURNING id`, org, b.facilitator).Scan(&b.session))
	return b
}

func (b *bundle) configure(t testing.TB, modality telehealthgroup.Modality, profile string) *telehealthgroup.Session {
	t.Helper()
	s, err := b.client.Configure(context.Background(), b.facilitator, telehealthgroup.ConfigureParams{
		OrganizationID: b.org, SessionID: b.session, Modality: modality, PMTelehealthSessionID: b.db.NewTelehealthSession(t, b.org),
		VendorSessionRef: "vendor-session-83211", JurisdictionProfile: profile})
	require.NoError(t, err)
	return s
}

func (b *bundle) attendee(t testing.TB, chart uuid.UUID, mode telehealthgroup.Mode, home bool) *telehealthgroup.Attendee {
	t.Helper()
	a, err := b.client.AddAttendee(context.Background(), b.facilitator, telehealthgroup.AttendeeParams{
		OrganizationID: b.org, SessionID: b.session, ChartID: chart, Mode: mode, AtHome: home})
	require.NoError(t, err)
	return a
}

func TestHybridGroupFromStartToConclusion(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	scheduleID := uuid.New()
	b.scheduling.Set(b.session, telehealthgroup.SessionContext{ScheduleID: scheduleID, TelehealthStatus: "live"})
	s := b.configure(t, telehealthgroup.Hybrid, billing.ProfileArizonaAHCCCS)
	require.Equal(t, telehealthgroup.Scheduled, s.State)

	home := b.attendee(t, b.db.NewChart(t, b.org, false), telehealthgroup.Video, true)
	phone := b.attendee(t, b.db.NewChart(t, b.org, false), telehealthgroup.AudioOnly, false)
	room := b.attendee(t, b.db.NewChart(t, b.org, false), telehealthgroup.InPerson, false)
	absent := b.attendee(t, b.db.NewChart(t, b.org, false), telehealthgroup.Video, true)

	corr := uuid.New()
	started, err := b.client.Start(ctx, b.facilitator, b.org, b.session, corr)
	require.NoError(t, err)
	require.Equal(t, 4, started.AttendeeCount)
	require.Equal(t, &scheduleID, started.ScheduleID)
	require.Equal(t, []uuid.UUID{b.session}, b.scheduling.Asked())

	for _, a := range []*telehealthgroup.Attendee{home, phone, room} {
		require.NoError(t, b.client.SetAttendance(ctx, b.facilitator, b.org, a.AttendanceID, telehealthgroup.Present, time.Now(), time.Time{}))
	}
	require.NoError(t, b.client.SetAttendance(ctx, b.facilitator, b.org, absent.AttendanceID, telehealthgroup.Absent, time.Time{}, time.Time{}))

	done, err := b.client.Conclude(ctx, b.facilitator, b.org, b.session, corr, time.Now())
	require.NoError(t, err)
	e := done.Event
	require.Equal(t, events.Codes{"95", "HQ"}, e.ModifierSuggestions, "Arizona's default for a virtual group")
	require.Equal(t, 3, e.ParticipantCount)
	require.Equal(t, &scheduleID, e.ScheduleID, "the schedule named at the start reaches the concluded event")
	require.Equal(t, uuid.MustParse("c91701bd-d94d-5924-ab1e-2f1c676a0f30"), *e.JurisdictionProfileID, "Arizona's profile, by its stable id")
	require.Equal(t, 0, e.DurationMinutes, "concluded within the minute it started: the database's figure")
	require.Equal(t, events.ModalityHybrid, e.Modality)
	byAttendance := map[uuid.UUID]billing.Suggestion{}
	for _, a := range done.Attendees {
		byAttendance[a.AttendanceID] = a.Suggestion
	}
	require.Len(t, byAttendance, 3, "suggestions for present attendees only")
	require.Equal(t, billing.Suggestion{Modifiers: []billing.Modifier{"95", "HQ"}, PlaceOfService: "10"}, byAttendance[home.AttendanceID])
	require.Equal(t, billing.Suggestion{Modifiers: []billing.Modifier{"93", "HQ"}, PlaceOfService: "02"}, byAttendance[phone.AttendanceID])
	require.Equal(t, billing.Suggestion{Modifiers: []billing.Modifier{"HQ"}}, byAttendance[room.AttendanceID], "in person: no telehealth modifier")

	// Both events are in the outbox, once each, and a retry republishes nothing.
	again, err := b.client.Conclude(ctx, b.facilitator, b.org, b.session, corr, time.Now())
	require.NoError(t, err)
	require.Equal(t, done.Event.ConcludedAt, again.Event.ConcludedAt)
	startedEnv := eventstest.RequirePublished(t, b.db.App, b.officer, b.org, events.TypeVirtualGroupStarted, &eventstest.RequireOpts{Count: 1})
	concludedEnv := eventstest.RequirePublished(t, b.db.App, b.officer, b.org, events.TypeVirtualGroupConcluded, &eventstest.RequireOpts{Count: 1})
	require.Equal(t, corr.String(), startedEnv.CorrelationID)
	decoded, err := events.Decode(concludedEnv)
	require.NoError(t, err)
	require.Equal(t, 3, decoded.(*events.VirtualGroupConcluded).ParticipantCount)
	require.NotContains(t, string(concludedEnv.Data), home.ChartID.String(), "counts only: no attendee identities")
}

func TestLifecycleErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.configure(t, telehealthgroup.Virtual, "")
	_, err := b.client.Conclude(ctx, b.facilitator, b.org, b.session, uuid.New(), time.Time{})
	require.ErrorIs(t, err, telehealthgroup.ErrNotStarted)

	corr := uuid.New()
	first, err := b.client.Start(ctx, b.facilitator, b.org, b.session, corr)
	require.NoError(t, err)
	retry, err := b.client.Start(ctx, b.facilitator, b.org, b.session, corr)
	require.NoError(t, err)
	require.Equal(t, first.StartedAt, retry.StartedAt, "the same start, retried")
	_, err = b.client.Start(ctx, b.facilitator, b.org, b.session, uuid.New())
	require.ErrorIs(t, err, telehealthgroup.ErrAlreadyStarted)
	_, err = b.client.Start(ctx, b.facilitator, b.org, b.session, uuid.Nil)
	require.ErrorIs(t, err, telehealthgroup.ErrAlreadyStarted)

	_, err = b.client.Conclude(ctx, b.facilitator, b.org, b.session, uuid.New(), time.Now().Add(time.Hour))
	require.ErrorIs(t, err, telehealthgroup.ErrInvalid, "in the future")
	_, err = b.client.Conclude(ctx, b.facilitator, b.org, b.session, uuid.New(), time.Time{})
	require.NoError(t, err)
	_, err = b.client.Conclude(ctx, b.facilitator, b.org, b.session, uuid.New(), time.Time{})
	require.ErrorIs(t, err, telehealthgroup.ErrAlreadyConcluded)
	_, err = b.client.Start(ctx, b.facilitator, b.org, b.session, uuid.New())
	require.ErrorIs(t, err, telehealthgroup.ErrAlreadyConcluded)
	_, err = b.client.Configure(ctx, b.facilitator, telehealthgroup.ConfigureParams{OrganizationID: b.org, SessionID: b.session, Modality: telehealthgroup.Virtual})
	require.ErrorIs(t, err, telehealthgroup.ErrAlreadyConcluded)

	// Behind the API: no grant lets a user write the lifecycle or recording state.
	for _, stmt := range []string{
		`UPDATE public.cl_group_session_telehealth_metadata SET state = 'scheduled', started_at = NULL, concluded_at = NULL WHERE session_id = $1`,
		`UPDATE public.cl_group_session_telehealth_metadata SET recording_state = 'recording' WHERE session_id = $1`,
		`UPDATE public.cl_group_sessions SET pm_telehealth_session_id = gen_random_uuid() WHERE id = $1`,
	} {
		err = dbtx.Run(ctx, b.db.App, b.facilitator, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, stmt, b.session); return err })
		require.True(t, dbtx.IsPermissionDenied(err), "%s: %v", stmt, err)
	}
}

// A start or conclusion commits only with its own, true event: a transition
// with no event, or with a forged count, is refused at commit.
func TestTransitionsNeedTheirTrueEvent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.configure(t, telehealthgroup.Virtual, "")
	attendee := b.attendee(t, b.db.NewChart(t, b.org, false), telehealthgroup.Video, true)
	transition := `SELECT * FROM public.cl_virtual_group_transition($1, $2, 'started', NULL, NULL, NULL)`
	err := dbtx.Run(ctx, b.db.App, b.facilitator, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, transition, b.org, b.session); return err })
	require.True(t, dbtx.IsCheckViolation(err), "no event: %v", err)

	// The generic door refuses lifecycle events outright (no forging, no
	// taking a key in advance) ...
	outbox := events.NewOutbox(nil)
	forged := &events.VirtualGroupStarted{Header: events.Header{OrganizationID: b.org},
		SessionID: b.session, Modality: events.ModalityVirtual, StartedAt: time.Now(), FacilitatorID: b.facilitator, AttendeeCount: 999}
	err = dbtx.Run(ctx, b.db.App, b.peer, func(tx pgx.Tx) error { _, err := outbox.PublishTx(ctx, tx, forged, nil); return err })
	require.True(t, dbtx.IsInvalidParameter(err), "got %v", err)
	// ... and the transition's own door checks the event against the session,
	// and the commit checks the count.
	err = dbtx.Run(ctx, b.db.App, b.facilitator, func(tx pgx.Tx) error {
		var startedAt time.Time
		if err := tx.QueryRow(ctx, `SELECT started_at FROM public.cl_virtual_group_transition($1, $2, 'started', NULL, NULL, NULL)`, b.org, b.session).Scan(&startedAt); err != nil {
			return err
		}
		forged.StartedAt, forged.Timestamp = startedAt, startedAt
		env, key, err := outbox.Prepare(forged, nil)
		if err != nil {
			return err
		}
		raw, _ := json.Marshal(env)
		_, err = tx.Exec(ctx, `SELECT public.cl_virtual_group_publish($1, $2, $3, $4, $5, $6)`, b.org, b.session, env.ID, env.Type, key, raw)
		return err
	})
	require.True(t, dbtx.IsCheckViolation(err), "a forged count: %v", err)
	s, err := b.client.Get(ctx, b.facilitator, b.org, b.session)
	require.NoError(t, err)
	require.Equal(t, telehealthgroup.Scheduled, s.State, "nothing committed")

	// After a real start, nobody publishes a second started event, later or
	// under another key, and the stored one is not handed to strangers.
	corr := uuid.New()
	real, err := b.client.Start(ctx, b.facilitator, b.org, b.session, corr)
	require.NoError(t, err)
	again := *real
	again.AttendeeCount = 999
	again.CorrelationID = nil
	err = dbtx.Run(ctx, b.db.App, b.facilitator, func(tx pgx.Tx) error {
		env, key, err := outbox.Prepare(&again, &events.PublishOpts{IdempotencyKey: "another-key"})
		if err != nil {
			return err
		}
		raw, _ := json.Marshal(env)
		_, err = tx.Exec(ctx, `SELECT public.cl_virtual_group_publish($1, $2, $3, $4, $5, $6)`, b.org, b.session, env.ID, env.Type, key, raw)
		return err
	})
	require.True(t, dbtx.IsCheckViolation(err), "a second started event: %v", err)
	retried, err := b.client.Start(ctx, b.facilitator, b.org, b.session, corr)
	require.NoError(t, err)
	require.Equal(t, real, retried, "the same start retried gets the stored event")

	require.NoError(t, b.client.SetAttendance(ctx, b.facilitator, b.org, attendee.AttendanceID, telehealthgroup.Present, time.Now(), time.Time{}))

	// The concluded event's figures are the database's: a clinician who may
	// conclude cannot publish another duration, other modifiers, another
	// profile or a field the contract does not define.
	conclude := func(edit func(data map[string]any)) error {
		return dbtx.Run(ctx, b.db.App, b.facilitator, func(tx pgx.Tx) error {
			closing := uuid.New()
			if _, err := tx.Exec(ctx, `SELECT * FROM public.cl_virtual_group_transition($1, $2, 'concluded', $3, now(), NULL)`, b.org, b.session, closing); err != nil {
				return err
			}
			var data map[string]any
			if err := tx.QueryRow(ctx, `SELECT public.cl_virtual_group_concluded_data($1, $2)`, b.org, b.session).Scan(&data); err != nil {
				return err
			}
			data["correlation_id"] = closing
			edit(data)
			raw, _ := json.Marshal(data)
			var e events.VirtualGroupConcluded
			if err := json.Unmarshal(raw, &e); err != nil {
				return err
			}
			e.Header = events.Header{OrganizationID: b.org, Timestamp: e.ConcludedAt, CorrelationID: &closing}
			env, key, err := outbox.Prepare(&e, nil)
			if err != nil {
				return err
			}
			env.Data, _ = json.Marshal(data) // what the client sends, field for field
			rawEnv, _ := json.Marshal(env)
			_, err = tx.Exec(ctx, `SELECT public.cl_virtual_group_publish($1, $2, $3, $4, $5, $6)`, b.org, b.session, env.ID, env.Type, key, rawEnv)
			return err
		})
	}
	for name, edit := range map[string]func(map[string]any){
		"a longer duration":  func(d map[string]any) { d["duration_minutes"] = 90 },
		"other modifiers":    func(d map[string]any) { d["modifier_suggestions"] = []string{"GT", "95", "HQ", "U9"} },
		"another profile":    func(d map[string]any) { d["jurisdiction_profile_id"] = uuid.New() },
		"a schedule":         func(d map[string]any) { d["schedule_id"] = uuid.New() },
		"another count":      func(d map[string]any) { d["participant_count"] = 7 },
		"a field of its own": func(d map[string]any) { d["charge_cents"] = 999999 },
		"a modifier dropped": func(d map[string]any) { d["modifier_suggestions"] = []string{} },
	} {
		err := conclude(func(d map[string]any) {
			d["event_type"], d["organization_id"], d["timestamp"] = events.TypeVirtualGroupConcluded, b.org, d["concluded_at"]
			edit(d)
		})
		require.Error(t, err, name)
		require.True(t, dbtx.IsCheckViolation(err) || dbtx.IsInvalidParameter(err), "%s: %v", name, err)
	}
	require.NoError(t, conclude(func(d map[string]any) {
		d["event_type"], d["organization_id"], d["timestamp"] = events.TypeVirtualGroupConcluded, b.org, d["concluded_at"]
	}), "the database's own figures pass")
}

func TestStartConsultsTheHostsScheduling(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.configure(t, telehealthgroup.Virtual, "")
	b.scheduling.Set(b.session, telehealthgroup.SessionContext{TelehealthStatus: "failed"})
	_, err := b.client.Start(context.Background(), b.facilitator, b.org, b.session, uuid.New())
	require.ErrorIs(t, err, telehealthgroup.ErrTelehealthUnavailable)
}

func TestEveryActionNeedsItsPermission(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	chart := b.db.NewChart(t, b.org, false)
	params := telehealthgroup.ConfigureParams{OrganizationID: b.org, SessionID: b.session, Modality: telehealthgroup.Virtual}
	// The peer specialist may view virtual groups, nothing more; a starter
	// who may not manage cannot reconfigure.
	_, err := b.client.Configure(ctx, b.peer, params)
	require.ErrorIs(t, err, telehealthgroup.ErrPermissionDenied)
	b.configure(t, telehealthgroup.Virtual, "")
	_, err = b.client.Get(ctx, b.peer, b.org, b.session)
	require.NoError(t, err)
	_, err = b.client.AddAttendee(ctx, b.peer, telehealthgroup.AttendeeParams{OrganizationID: b.org, SessionID: b.session, ChartID: chart, Mode: telehealthgroup.Video})
	require.ErrorIs(t, err, telehealthgroup.ErrPermissionDenied)
	_, err = b.client.Start(ctx, b.peer, b.org, b.session, uuid.New())
	require.ErrorIs(t, err, telehealthgroup.ErrPermissionDenied)
	_, err = b.client.Start(ctx, b.facilitator, b.org, b.session, uuid.New())
	require.NoError(t, err)
	_, err = b.client.Conclude(ctx, b.peer, b.org, b.session, uuid.New(), time.Time{})
	require.ErrorIs(t, err, telehealthgroup.ErrPermissionDenied)

	// A role that may only start cannot reconfigure, in Go or in SQL.
	starter := b.db.NewMember(t, b.org, "peer_specialist")
	b.db.NewRole(t, "vg_starter", "starts virtual groups", "cl.group.virtual.start")
	b.db.Exec(t, `INSERT INTO public.pf_member_roles (organization_id, user_id, role) VALUES ($1, $2, 'vg_starter')`, b.org, starter)
	_, err = b.client.Configure(ctx, starter, params)
	require.ErrorIs(t, err, telehealthgroup.ErrPermissionDenied)
	err = dbtx.Run(ctx, b.db.App, starter, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE public.cl_group_session_telehealth_metadata SET vendor_session_ref = 'x1', updated_by = $2 WHERE session_id = $1`, b.session, starter)
		if err == nil && tag.RowsAffected() == 0 {
			return errors.New("no row updated")
		}
		return err
	})
	require.Error(t, err, "the update policy needs cl.group.virtual.manage")

	// Another organization: nothing.
	orgB := b.db.NewOrg(t)
	outsider := b.db.NewMember(t, orgB, "clinician")
	_, err = b.client.Get(ctx, outsider, b.org, b.session)
	require.ErrorIs(t, err, telehealthgroup.ErrNotFound)
	_, err = b.client.Conclude(ctx, outsider, b.org, b.session, uuid.New(), time.Time{})
	require.ErrorIs(t, err, telehealthgroup.ErrNotFound, "a session the caller cannot see is not there")
}

func TestPart2AttendeesNeedConsentToGroupParticipation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.configure(t, telehealthgroup.Virtual, "")
	part2 := b.db.NewChart(t, b.org, true)
	add := func() error {
		_, err := b.client.AddAttendee(ctx, b.facilitator, telehealthgroup.AttendeeParams{OrganizationID: b.org, SessionID: b.session,
			ChartID: part2, Mode: telehealthgroup.Video, AtHome: true})
		return err
	}
	store, err := consent.New(b.db.App, nil)
	require.NoError(t, err)
	grant := func(types ...consent.RecordType) *consent.Consent {
		c, err := store.Grant(ctx, b.officer, consent.GrantParams{OrganizationID: b.org, ChartID: part2,
			Recipient: consent.Recipient{OrganizationID: b.org}, RecordTypes: types, Purposes: []consent.Purpose{consent.PurposeTreatment},
			ExpirationEvent: "end_of_treatment", SignedAt: time.Now(), Signer: consent.SignerPatient})
		require.NoError(t, err)
		return c
	}
	require.ErrorIs(t, add(), telehealthgroup.ErrPermissionDenied)
	general := grant(consent.AllRecords)
	require.ErrorIs(t, add(), telehealthgroup.ErrPermissionDenied, "a general consent does not cover group participation")
	participation := grant(consent.RecordVirtualGroupParticipation)
	require.NoError(t, add())

	// Adding and listing a Part 2 attendee are in the chart's accounting of
	// disclosures, one row each (the refused attempts wrote none).
	_, err = b.client.Attendees(ctx, b.facilitator, b.org, b.session)
	require.NoError(t, err)
	rows, _ := b.db.Admin.Query(ctx, `SELECT details->>'use' FROM public.pf_audit_logs WHERE organization_id = $1
		AND action = 'part2.record.disclosed' AND target_id = $2 AND details->>'record_type' = 'group_session' ORDER BY occurred_at`,
		b.org, part2)
	uses, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"save", "display"}, uses, "add (its write and the list it returns), then Attendees")

	// Revoked before the start: the start is refused, even by a starter who
	// cannot see that attendee at all.
	_, err = store.Revoke(ctx, b.officer, b.org, participation.ID)
	require.NoError(t, err)
	_, err = store.Revoke(ctx, b.officer, b.org, general.ID)
	require.NoError(t, err)
	_, err = b.client.Start(ctx, b.facilitator, b.org, b.session, uuid.New())
	require.ErrorIs(t, err, telehealthgroup.ErrPermissionDenied)

	// Whether a participation consent exists is not for everyone to ask.
	var answer bool
	require.NoError(t, dbtx.Run(ctx, b.db.App, b.peer, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT public.cl_group_participation_consented($1, $2)`, b.org, part2).Scan(&answer)
	}))
	require.False(t, answer)
}

// Counts cover every attendee, including Part 2 attendees the facilitator
// may not see (the event carries counts only).
func TestCountsIncludeAttendeesTheFacilitatorCannotSee(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.configure(t, telehealthgroup.Virtual, "")
	part2 := b.db.NewChart(t, b.org, true)
	store, err := consent.New(b.db.App, nil)
	require.NoError(t, err)
	_, err = store.Grant(ctx, b.officer, consent.GrantParams{OrganizationID: b.org, ChartID: part2,
		Recipient: consent.Recipient{UserID: b.facilitator}, RecordTypes: []consent.RecordType{consent.AllRecords},
		Purposes: []consent.Purpose{consent.PurposeTreatment}, ExpirationEvent: "end_of_treatment", SignedAt: time.Now(), Signer: consent.SignerPatient})
	require.NoError(t, err)
	_, err = store.Grant(ctx, b.officer, consent.GrantParams{OrganizationID: b.org, ChartID: part2,
		Recipient: consent.Recipient{OrganizationID: b.org}, RecordTypes: []consent.RecordType{consent.RecordVirtualGroupParticipation},
		Purposes: []consent.Purpose{consent.PurposeTreatment}, ExpirationEvent: "end_of_treatment", SignedAt: time.Now(), Signer: consent.SignerPatient})
	require.NoError(t, err)
	b.attendee(t, part2, telehealthgroup.Video, true)
	b.attendee(t, b.db.NewChart(t, b.org, false), telehealthgroup.Video, false)

	colleague := b.db.NewMember(t, b.org, "clinician") // may start, cannot see the Part 2 attendee
	attendees, err := b.client.Attendees(ctx, colleague, b.org, b.session)
	require.NoError(t, err)
	require.Len(t, attendees, 1)
	started, err := b.client.Start(ctx, colleague, b.org, b.session, uuid.New())
	require.NoError(t, err)
	require.Equal(t, 2, started.AttendeeCount)
}

func TestNoJoinURLsOrSecrets(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	for _, ref := range []string{
		"https://zoom.us/j/123456789?pwd=abc", "zoom.us/j/123", "wss://media.vendor.example/room", "tel:+15555550100",
		"eyJhbGciOiJIUzI1NiJ9", "sk_live_abcdef", "AKIAIOSFODNN7EXAMPLE", "room 12", "a@b", strings64(),
	} {
		_, err := b.client.Configure(ctx, b.facilitator, telehealthgroup.ConfigureParams{OrganizationID: b.org, SessionID: b.session,
			Modality: telehealthgroup.Virtual, VendorSessionRef: ref})
		require.ErrorIs(t, err, telehealthgroup.ErrInvalid, ref)
	}
	// The database refuses them too.
	err := dbtx.Run(ctx, b.db.App, b.facilitator, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO public.cl_group_session_telehealth_metadata (organization_id, session_id, modality, vendor_session_ref, updated_by)
			VALUES ($1, $2, 'virtual', 'https://zoom.us/j/1', $3)`, b.org, b.session, b.facilitator)
		return err
	})
	require.True(t, dbtx.IsCheckViolation(err), "got %v", err)
}

func strings64() string {
	s := ""
	for range 65 {
		s += "a"
	}
	return s
}
