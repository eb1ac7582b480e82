package schema_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/testdb"
)

// The authorization model as the second door sees it: an end user's own
// JWT running raw SQL as `authenticated`. Every attack here is a statement
// a member could send through a Supabase-style client; each names what the
// database must answer.

// clinic is one organization with a member of every seeded role, and a
// second organization to reference across.
type clinic struct {
	db                                   *testdb.DB
	org, orgB, siteB                     uuid.UUID
	peerA, peerB, clinician, supervisor  uuid.UUID
	hr, officer, admin, nobody, integrat uuid.UUID
	chart, part2                         uuid.UUID
	draftB                               uuid.UUID // peerB's draft encounter on chart
	finalized                            testdb.FinalizedPeerEncounter
	note                                 uuid.UUID // clinician's signed progress note on chart
	pmEncounterB                         uuid.UUID // a PM-03 encounter of orgB
}

func newClinic(t *testing.T) *clinic {
	t.Helper()
	db := testdb.New(t)
	c := &clinic{db: db, org: db.NewOrg(t), orgB: db.NewOrg(t)}
	c.siteB = db.NewSite(t, c.orgB)
	c.peerA = db.NewMember(t, c.org, "peer_specialist")
	c.peerB = db.NewMember(t, c.org, "peer_specialist")
	c.clinician = db.NewMember(t, c.org, "clinician")
	c.supervisor = db.NewMember(t, c.org, "peer_supervisor")
	c.hr = db.NewMember(t, c.org, "hr_manager")
	c.officer = db.NewMember(t, c.org, "privacy_officer")
	c.admin = db.NewMember(t, c.org, "org_admin")
	c.nobody = db.NewMember(t, c.org)
	c.integrat = db.NewMember(t, c.org, "integration")
	c.chart, c.part2 = db.NewChart(t, c.org, false), db.NewChart(t, c.org, true)
	ctx := context.Background()
	require.NoError(t, db.Admin.QueryRow(ctx, `
		INSERT INTO public.cl_peer_encounters (organization_id, chart_id, peer_provider_id, service_date, start_time, end_time,
		  duration_minutes, service_type, service_type_source, hcpcs_code, focus_notes, created_by, updated_by)
		VALUES ($1, $2, $3, current_date, now() - interval '2 hours', now() - interval '1 hour', 60, 'peer_support', 'pf15',
		  'H0038', 'Discussed goals', $3, $3) RETURNING id`, c.org, c.chart, c.peerB).Scan(&c.draftB))
	c.finalized = db.NewFinalizedPeerEncounter(t, c.org)
	db.Exec(t, `INSERT INTO public.cl_peer_encounter_amendments (organization_id, peer_encounter_id, chart_id, kind, body, reason, created_by)
		VALUES ($1, $2, $3, 'addendum', 'Follow-up call', 'late entry', $4)`, c.org, c.finalized.ID, c.finalized.ChartID, c.finalized.PeerProviderID)
	require.NoError(t, db.Admin.QueryRow(ctx, `
		INSERT INTO public.cl_progress_notes (organization_id, chart_id, author_id, session_start, session_end, status, finalized_at)
		VALUES ($1, $2, $3, now() - interval '3 hours', now() - interval '2 hours', 'signed', now() - interval '1 hour')
		RETURNING id`, c.org, c.chart, c.clinician).Scan(&c.note))
	db.Exec(t, `INSERT INTO public.pm_appointments (organization_id, chart_id, provider_id, service_type, starts_at, ends_at)
		VALUES ($1, $2, $3, 'individual_therapy', now() - interval '3 hours', now() - interval '2 hours')`, c.org, c.chart, c.clinician)
	db.Exec(t, `INSERT INTO public.cl_peer_supervision (organization_id, peer_provider_id, supervisor_id, supervision_date, modality,
		notes, created_by, updated_by) VALUES ($1, $2, $3, current_date, 'individual_in_person', 'Reviewed boundaries', $3, $3)`,
		c.org, c.peerA, c.supervisor)
	c.pmEncounterB = db.NewPMEncounter(t, c.orgB, db.NewChart(t, c.orgB, false), db.NewMember(t, c.orgB, "clinician"))
	db.NewPMEncounter(t, c.org, c.chart, c.clinician)
	var session uuid.UUID
	require.NoError(t, db.Admin.QueryRow(ctx, `INSERT INTO public.cl_group_sessions (organization_id, facilitator_id, service_type,
		scheduled_start, scheduled_end) VALUES ($1, $2, 'group_therapy', now(), now() + interval '1 hour') RETURNING id`,
		c.org, c.clinician).Scan(&session))
	db.Exec(t, `INSERT INTO public.cl_group_attendance (organization_id, session_id, chart_id) VALUES ($1, $2, $3)`, c.org, session, c.chart)
	return c
}

// scalar runs sql as user and returns its one integer (or the error).
func (c *clinic) scalar(t *testing.T, user uuid.UUID, sql string, args ...any) (int, error) {
	t.Helper()
	var n int
	err := dbtx.Run(context.Background(), c.db.App, user, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), sql, args...).Scan(&n)
	})
	return n, err
}

// count is scalar for a statement that must succeed.
func (c *clinic) count(t *testing.T, user uuid.UUID, sql string, args ...any) int {
	t.Helper()
	n, err := c.scalar(t, user, sql, args...)
	require.NoError(t, err, sql)
	return n
}

// attack is a raw statement returning one integer, and what the database
// must answer: zero (nothing seen, nothing changed, false) or an error with
// the given SQLSTATE.
type attack struct {
	name string
	as   uuid.UUID
	sql  string
	args []any
	code string // "" means the statement succeeds and returns 0
}

func (c *clinic) run(t *testing.T, attacks []attack) {
	t.Helper()
	for _, a := range attacks {
		n, err := c.scalar(t, a.as, a.sql, a.args...)
		if a.code == "" {
			require.NoError(t, err, a.name)
			require.Zero(t, n, a.name)
			continue
		}
		require.Error(t, err, a.name)
		require.Equal(t, a.code, dbtx.Code(err), "%s: %v", a.name, err)
	}
}

const (
	denied       = "42501" // insufficient_privilege, including a row-level-security refusal
	invalidParam = "22023"
	checkFailed  = "23514"
	fkViolation  = "23503"
)

// insertEncounter is a peer encounter insert as the caller, returning 1.
const insertEncounter = `
	WITH i AS (
	  INSERT INTO public.cl_peer_encounters (organization_id, chart_id, peer_provider_id, service_date, start_time, end_time,
	    duration_minutes, service_type, service_type_source, hcpcs_code, focus_notes, created_by, updated_by, encounter_id)
	  VALUES ($1, $2, $3, ($4::timestamptz AT TIME ZONE 'UTC')::date, $4::timestamptz, $4::timestamptz + interval '60 minutes',
	    60, 'peer_support', 'pf15', 'H0038', 'A session that never happened', auth.uid(), auth.uid(), $5)
	  RETURNING 1)
	SELECT count(*)::int - 1 FROM i`

func twoHoursAgo() time.Time { return time.Now().Add(-2 * time.Hour) }

// clinicalReads are the clinical tables a clinic has rows in, each with a
// member of the clinic who may read them.
var clinicalReads = map[string]func(*clinic) uuid.UUID{
	"cl_peer_encounters":           func(c *clinic) uuid.UUID { return c.peerA },
	"cl_peer_encounter_amendments": func(c *clinic) uuid.UUID { return c.peerA },
	"cl_progress_notes":            func(c *clinic) uuid.UUID { return c.clinician },
	"pm_appointments":              func(c *clinic) uuid.UUID { return c.clinician },
	"pm_encounters":                func(c *clinic) uuid.UUID { return c.clinician },
	"cl_charts":                    func(c *clinic) uuid.UUID { return c.clinician },
	"cl_group_sessions":            func(c *clinic) uuid.UUID { return c.clinician },
	"cl_group_attendance":          func(c *clinic) uuid.UUID { return c.clinician },
}

func TestNonClinicalMembersSeeNoClinicalRowAndCannotDocument(t *testing.T) {
	t.Parallel()
	c := newClinic(t)
	var attacks []attack
	for name, who := range map[string]uuid.UUID{"role-less member": c.nobody, "HR": c.hr, "privacy officer": c.officer,
		"administrator": c.admin, "integration": c.integrat} {
		for table := range clinicalReads {
			attacks = append(attacks, attack{name: name + " reads " + table, as: who,
				sql: `SELECT count(*)::int FROM public.` + table})
		}
		attacks = append(attacks,
			attack{name: name + " documents a session for a real peer specialist", as: who, code: denied,
				sql: insertEncounter, args: []any{c.org, c.chart, c.peerA, twoHoursAgo(), nil}},
			attack{name: name + " edits a peer's draft", as: who,
				sql: `WITH u AS (UPDATE public.cl_peer_encounters SET focus_notes = 'x', updated_by = auth.uid()
				      WHERE organization_id = $1 AND id = $2 RETURNING 1) SELECT count(*)::int FROM u`,
				args: []any{c.org, c.draftB}},
			attack{name: name + " learns a chart is Part 2 from the accounting check", as: who,
				sql:  `SELECT (public.cl_part2_opened($1, $2, 'peer_encounter') <> public.cl_part2_opened($1, $3, 'peer_encounter'))::int`,
				args: []any{c.org, c.chart, c.part2}},
			attack{name: name + " learns a chart is Part 2 from the consent check", as: who,
				sql:  `SELECT (public.cl_check_sud_consent($1, 'peer_encounter', auth.uid()) <> public.cl_check_sud_consent($2, 'peer_encounter', auth.uid()))::int`,
				args: []any{c.chart, c.part2}},
		)
	}
	// The supervision record is about peerA: not for HR or a role-less member.
	for name, who := range map[string]uuid.UUID{"role-less member": c.nobody, "HR": c.hr, "another peer": c.peerB} {
		attacks = append(attacks, attack{name: name + " reads supervision notes", as: who,
			sql: `SELECT count(*)::int FROM public.cl_peer_supervision`})
	}
	c.run(t, attacks)

	// Controls: the same reads by clinical staff see rows, so the zeros
	// above are the policies' doing.
	for table, who := range clinicalReads {
		n, err := c.scalar(t, who(c), `SELECT count(*)::int FROM public.`+table)
		require.NoError(t, err, table)
		require.Positive(t, n, table)
	}
	n, err := c.scalar(t, c.peerA, `SELECT count(*)::int FROM public.cl_peer_supervision`)
	require.NoError(t, err)
	require.Equal(t, 1, n, "a peer sees their own supervision record")
	// The Part 2 probes do tell clinical staff apart (a plain chart is open,
	// a Part 2 chart without consent is not), so their zeros above are the
	// functions' doing.
	n, err = c.scalar(t, c.clinician, `SELECT ((public.cl_part2_opened($1, $2, 'peer_encounter') <> public.cl_part2_opened($1, $3, 'peer_encounter'))
		AND (public.cl_check_sud_consent($2, 'peer_encounter', auth.uid()) <> public.cl_check_sud_consent($3, 'peer_encounter', auth.uid())))::int`,
		c.org, c.chart, c.part2)
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

// Clinical text has a permission of its own: no plain-SQL read of a text
// column, and the library's readers show it only to holders of the
// view_text permission (a host's biller sees an encounter's codes and
// minutes, not its focus notes; an administrator counts supervision without
// reading its notes).
func TestClinicalTextNeedsItsOwnPermission(t *testing.T) {
	t.Parallel()
	c := newClinic(t)
	ctx := context.Background()
	texts := map[string][]string{
		"cl_peer_encounters": {"focus_notes"}, "cl_peer_encounter_amendments": {"body", "reason"},
		"cl_peer_supervision": {"notes"}, "cl_multi_party_encounters": {"summary"},
	}
	for table, columns := range texts {
		for _, column := range columns {
			var readable bool
			require.NoError(t, c.db.Admin.QueryRow(ctx, `SELECT has_column_privilege('authenticated', $1::regclass, $2, 'SELECT')`,
				"public."+table, column).Scan(&readable))
			require.False(t, readable, "%s.%s", table, column)
			_, err := c.scalar(t, c.clinician, `SELECT count(`+column+`)::int FROM public.`+table)
			require.Equal(t, denied, dbtx.Code(err), "%s.%s: %v", table, column, err)
		}
	}

	// A host's own role, by rows: a biller who may view encounters.
	c.db.NewRole(t, "biller", "Billing specialist", "cl.chart.view", "cl.peer.encounter.view", "cl.multi_party.view")
	biller := c.db.NewMember(t, c.org, "biller")
	var lead uuid.UUID
	require.NoError(t, c.db.Admin.QueryRow(ctx, `INSERT INTO public.cl_multi_party_encounters (organization_id, kind, modality,
		lead_clinician_id, started_at, summary, created_by, updated_by)
		VALUES ($1, 'care_team', 'in_person', $2, now() - interval '1 hour', 'Care plan agreed', $2, $2) RETURNING id`,
		c.org, c.clinician).Scan(&lead))
	type textRead struct {
		sql  string
		args []any
	}
	const maxID = `'ffffffff-ffff-ffff-ffff-ffffffffffff'`
	textLength := map[string]textRead{
		"focus notes": {`SELECT coalesce(sum(length(focus_notes)), -1)::int FROM public.cl_peer_encounter_get($1, $2)`,
			[]any{c.org, c.draftB}},
		"amendment text": {`SELECT coalesce(sum(length(body) + length(reason)), -1)::int FROM public.cl_peer_encounter_amendments_of($1, $2)`,
			[]any{c.org, c.finalized.ID}},
		"chart list": {`SELECT coalesce(sum(length(focus_notes)), -1)::int
			FROM public.cl_peer_encounters_by_chart($1, $2, '-infinity', 'infinity', 'infinity', ` + maxID + `, 10)`,
			[]any{c.org, c.chart}},
		"provider list": {`SELECT coalesce(sum(length(focus_notes)), -1)::int
			FROM public.cl_peer_encounters_by_provider($1, $2, '-infinity', 'infinity', 'infinity', ` + maxID + `, 10)`,
			[]any{c.org, c.peerB}},
		"multi-party": {`SELECT coalesce(sum(length(summary)), -1)::int FROM public.cl_multi_party_encounters_shown WHERE id = $1`,
			[]any{lead}},
		"supervision notes": {`SELECT coalesce(sum(length(notes)), -1)::int FROM public.cl_peer_supervision_shown`, nil},
	}
	for what, read := range textLength {
		reader := biller
		if what == "supervision notes" {
			reader = c.admin
		}
		n, err := c.scalar(t, reader, read.sql, read.args...)
		require.NoError(t, err, what)
		require.Zero(t, n, "%s: the row, without its text", what)
	}
	// Controls: the same readers see the rows, and clinical staff the text.
	for what, who := range map[string]uuid.UUID{"focus notes": c.peerA, "amendment text": c.supervisor, "chart list": c.clinician,
		"provider list": c.peerB, "multi-party": c.clinician, "supervision notes": c.supervisor} {
		n, err := c.scalar(t, who, textLength[what].sql, textLength[what].args...)
		require.NoError(t, err, what)
		require.Positive(t, n, what)
	}
	n, err := c.scalar(t, c.peerA, textLength["supervision notes"].sql)
	require.NoError(t, err)
	require.Positive(t, n, "a peer reads the notes of their own supervision")
	n, err = c.scalar(t, biller, `SELECT count(*)::int FROM public.cl_peer_encounter_get($1, $2)`, c.org, c.draftB)
	require.NoError(t, err)
	require.Equal(t, 1, n, "the biller sees the encounter itself")
	n, err = c.scalar(t, c.admin, `SELECT count(*)::int FROM public.cl_peer_supervision_shown`)
	require.NoError(t, err)
	require.Equal(t, 1, n, "the administrator sees the supervision record itself")
}

func TestPeerEncountersBelongToTheirAuthor(t *testing.T) {
	t.Parallel()
	c := newClinic(t)
	ctx := context.Background()
	c.run(t, []attack{
		{name: "a peer documents as another peer", as: c.peerA, code: denied,
			sql: insertEncounter, args: []any{c.org, c.chart, c.peerB, twoHoursAgo(), nil}},
		{name: "a peer edits another peer's draft", as: c.peerA,
			sql: `WITH u AS (UPDATE public.cl_peer_encounters SET duration_minutes = 59, updated_by = auth.uid()
			      WHERE organization_id = $1 AND id = $2 RETURNING 1) SELECT count(*)::int FROM u`, args: []any{c.org, c.draftB}},
		{name: "a peer finalizes another peer's draft", as: c.peerA,
			sql: `WITH u AS (UPDATE public.cl_peer_encounters SET status = 'finalized', finalized_by = auth.uid(), finalized_at = now(),
			      updated_by = auth.uid() WHERE organization_id = $1 AND id = $2 RETURNING 1) SELECT count(*)::int FROM u`,
			args: []any{c.org, c.draftB}},
		{name: "a clinician (may view, may not document) writes an encounter", as: c.clinician, code: denied,
			sql: insertEncounter, args: []any{c.org, c.chart, c.peerA, twoHoursAgo(), nil}},
		{name: "a supervisor documents for a peer without the on-behalf permission", as: c.supervisor, code: denied,
			sql: insertEncounter, args: []any{c.org, c.chart, c.peerA, twoHoursAgo(), nil}},
		{name: "year 9999 with 1439 minutes", as: c.peerA, code: checkFailed,
			sql: insertEncounter, args: []any{c.org, c.chart, c.peerA, time.Date(9999, 12, 30, 0, 0, 0, 0, time.UTC), nil}},
		{name: "a service tomorrow", as: c.peerA, code: checkFailed,
			sql: insertEncounter, args: []any{c.org, c.chart, c.peerA, time.Now().Add(24 * time.Hour), nil}},
		{name: "another organization's PM encounter", as: c.peerA, code: checkFailed,
			sql: insertEncounter, args: []any{c.org, c.chart, c.peerA, twoHoursAgo(), c.pmEncounterB}},
	})
	// Controls: the author edits their own draft, and the same insert as
	// oneself, today, succeeds.
	var n int
	n, err := c.scalar(t, c.peerB, `WITH u AS (UPDATE public.cl_peer_encounters SET duration_minutes = 59, updated_by = auth.uid()
		WHERE organization_id = $1 AND id = $2 RETURNING 1) SELECT count(*)::int FROM u`, c.org, c.draftB)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.NoError(t, dbtx.Run(ctx, c.db.App, c.peerA, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, strings.Replace(insertEncounter, "count(*)::int - 1", "count(*)::int", 1),
			c.org, c.chart, c.peerA, twoHoursAgo(), nil).Scan(&n)
	}))
	require.Equal(t, 1, n)

	// Documenting on behalf is a permission of its own, and audited.
	c.db.NewRole(t, "peer_lead", "Documents for the peer team", "cl.chart.view", "cl.peer.encounter.create", "cl.peer.encounter.on_behalf")
	lead := c.db.NewMember(t, c.org, "peer_lead")
	require.NoError(t, dbtx.Run(ctx, c.db.App, lead, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, strings.Replace(insertEncounter, "count(*)::int - 1", "count(*)::int", 1),
			c.org, c.chart, c.peerA, twoHoursAgo(), nil).Scan(&n)
	}))
	require.NoError(t, c.db.Admin.QueryRow(ctx, `SELECT count(*) FROM public.pf_audit_logs
		WHERE organization_id = $1 AND actor_user_id = $2 AND action = 'cl.peer_encounter.documented_on_behalf'`, c.org, lead).Scan(&n))
	require.Equal(t, 1, n)
}

func TestPart2StatusAndRecordTypesAreClosed(t *testing.T) {
	t.Parallel()
	c := newClinic(t)
	var attacks []attack
	for _, variant := range []string{"SUD_COUNSELING_NOTE", "sud_counsеling_note" /* Cyrillic е */, "", "*", "peer encounter"} {
		attacks = append(attacks, attack{name: "record type " + variant, as: c.clinician, code: invalidParam,
			sql: `SELECT public.cl_check_sud_consent($1, $2, auth.uid())::int`, args: []any{c.part2, variant}})
	}
	attacks = append(attacks,
		attack{name: "a made-up purpose of use", as: c.clinician, code: invalidParam,
			sql: `SELECT length(public.cl_part2_decide($1, 'progress_note', 'GOSSIP', 'display'))`, args: []any{c.part2}},
		attack{name: "a made-up use", as: c.clinician, code: invalidParam,
			sql: `SELECT length(public.cl_part2_decide($1, 'progress_note', 'TREAT', 'tweet'))`, args: []any{c.part2}},
		attack{name: "HR asks the audited check about a Part 2 chart", as: c.hr,
			sql: `SELECT (public.cl_part2_decide($1, 'progress_note', 'TREAT', 'display') <> 'denied')::int`, args: []any{c.part2}},
		attack{name: "HR asks the audited check about a plain chart", as: c.hr,
			sql: `SELECT (public.cl_part2_decide($1, 'progress_note', 'TREAT', 'display') <> 'denied')::int`, args: []any{c.chart}},
	)
	c.run(t, attacks)
}

func TestConsentsAndReferencesAreCheckedByTheDatabase(t *testing.T) {
	t.Parallel()
	c := newClinic(t)
	consent := `
		WITH i AS (INSERT INTO public.cl_part2_consents (organization_id, chart_id, disclosing_organization_id, recipient_user_id,
		  record_types, purposes, effective_at, expires_at, signed_at, signer, recorded_by)
		  VALUES ($1, $2, $1, $3, $4::text[], $5::text[], $6::timestamptz, $6::timestamptz + interval '30 days', $7::timestamptz,
		    'patient', auth.uid()) RETURNING 1)
		SELECT count(*)::int - 1 FROM i`
	c.run(t, []attack{
		{name: "a consent in force before it was signed", as: c.officer, code: checkFailed, sql: consent,
			args: []any{c.org, c.part2, c.clinician, "{progress_note}", "{TREAT}", "2026-01-01", "2026-02-01"}},
		{name: "a consent of year 0001", as: c.officer, code: checkFailed, sql: consent,
			args: []any{c.org, c.part2, c.clinician, "{progress_note}", "{TREAT}", "0001-01-01", "0001-01-01"}},
		{name: "a supervision record naming a supervisor without the role", as: c.supervisor, code: checkFailed,
			sql: `WITH i AS (INSERT INTO public.cl_peer_supervision (organization_id, peer_provider_id, supervisor_id, supervision_date,
			      modality, created_by, updated_by) VALUES ($1, $2, $3, current_date, 'phone', auth.uid(), auth.uid()) RETURNING 1)
			      SELECT count(*)::int - 1 FROM i`, args: []any{c.org, c.peerA, c.hr}},
		{name: "a member rewrites another provider's note timing", as: c.peerA,
			sql: `WITH u AS (UPDATE public.cl_progress_notes SET finalized_at = session_end WHERE organization_id = $1 AND id = $2
			      RETURNING 1) SELECT count(*)::int FROM u`, args: []any{c.org, c.note}},
		{name: "the author rewrites a signed note's timing", as: c.clinician,
			sql: `WITH u AS (UPDATE public.cl_progress_notes SET finalized_at = session_end WHERE organization_id = $1 AND id = $2
			      RETURNING 1) SELECT count(*)::int FROM u`, args: []any{c.org, c.note}},
		{name: "an audit row naming another organization's site", as: c.clinician, code: fkViolation,
			sql:  `SELECT length(public.pf_audit_record($1, $2, 'host.export', 'chart', $3, 'TREAT', '{}')::text)`,
			args: []any{c.org, c.siteB, c.chart}},
	})
	// Every scheme-bearing or address-like vendor reference is refused by
	// the allow-list, whatever its scheme.
	for _, ref := range []string{"sms:5551234", "callto:alice", "facetime:x", "skype:bob", "javascript:alert(1)",
		"https://meet.example/abc", "a@b", "zoom.us", "-leading", "sk_live_123"} {
		n, err := c.scalar(t, c.clinician, `SELECT public.cl_is_opaque_reference($1)::int`, ref)
		require.NoError(t, err)
		require.Zero(t, n, ref)
	}
	n := c.count(t, c.clinician, `SELECT public.cl_is_opaque_reference('vendor-session-83211')::int`)
	require.Equal(t, 1, n)
}

func TestNoPersonInjectsEvents(t *testing.T) {
	t.Parallel()
	c := newClinic(t)
	envelope := func(aggregate uuid.UUID) string {
		return `{"specversion":"1.0","id":"` + aggregate.String() + `","source":"x","type":"peer_encounter_finalized",` +
			`"subject":"` + aggregate.String() + `","datacontenttype":"application/json","organizationid":"` + c.org.String() + `",` +
			`"time":"2026-01-01T00:00:00Z","data":{"event_type":"peer_encounter_finalized","organization_id":"` + c.org.String() + `"}}`
	}
	publish := `SELECT length(public.cl_pm_events_publish($1, $2, 'peer_encounter_finalized', $2, 'k-1', $3::jsonb)::text)`
	ghost := uuid.New()
	c.run(t, []attack{
		{name: "an administrator publishes a charge", as: c.admin, code: denied, sql: publish, args: []any{c.org, ghost, envelope(ghost)}},
		{name: "a peer publishes a charge directly", as: c.peerA, code: denied, sql: publish, args: []any{c.org, ghost, envelope(ghost)}},
		{name: "an integration publishes about no encounter", as: c.integrat, code: fkViolation, sql: publish,
			args: []any{c.org, ghost, envelope(ghost)}},
		{name: "an integration publishes about a draft", as: c.integrat, code: fkViolation, sql: publish,
			args: []any{c.org, c.draftB, envelope(c.draftB)}},
	})
}

// Every policy that applies to `authenticated` on a clinical table checks a
// permission (not membership alone), and so does every SECURITY DEFINER
// function `authenticated` may call that reads one. The configuration and
// catalogue tables below are the only ones membership opens.
func TestEveryClinicalRuleChecksAPermission(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	nonClinical := []string{"pf_organizations", "pf_sites", "pf_members", "pf_member_roles", "pf_permissions", "pf_roles",
		"pf_role_permissions", "pf_billing_codes", "pf_org_billing_codes", "pf_lookup_values", "cl_peer_service_types",
		"cl_peer_settings", "cl_peer_supervision_rules", "hr_service_categories", "hr_org_service_categories",
		"hr_productivity_settings", "pf_jurisdiction_profiles", "pf_jurisdiction_daily_caps", "pf_jurisdiction_rules"}
	permissionChecks := `(cl_has_permission|cl_has_site_permission|cl_multi_party_visible|cl_multi_party_readable|cl_multi_party_open|cl_peer_access)\(`
	rows, err := db.Admin.Query(ctx, `
		SELECT p.tablename || '.' || p.policyname
		FROM pg_catalog.pg_policies p
		WHERE p.schemaname = 'public' AND 'authenticated' = ANY (p.roles) AND NOT (p.tablename = ANY ($1))
		  AND ((p.qual IS NOT NULL AND p.qual !~ $2) OR (p.with_check IS NOT NULL AND p.with_check !~ $2))`,
		nonClinical, permissionChecks)
	require.NoError(t, err)
	offenders, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Empty(t, offenders, "policies on clinical tables that check membership alone")

	var policies int
	require.NoError(t, db.Admin.QueryRow(ctx, `SELECT count(*) FROM pg_catalog.pg_policies
		WHERE schemaname = 'public' AND 'authenticated' = ANY (roles) AND NOT (tablename = ANY ($1))`, nonClinical).Scan(&policies))
	require.GreaterOrEqual(t, policies, 30, "the query must see the clinical policies")

	// Definer functions callable by users that read a clinical table.
	readers := `
		SELECT p.proname::text FROM pg_catalog.pg_proc p
		WHERE p.pronamespace = 'public'::regnamespace AND p.prosecdef
		  AND pg_catalog.has_function_privilege('authenticated', p.oid, 'EXECUTE')
		  AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c
		              WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relrowsecurity
		                AND NOT (c.relname = ANY ($1)) AND c.relname NOT IN ('pf_audit_logs', 'cl_pm_events')
		                AND p.prosrc ~ ('public\.' || c.relname || '\M'))`
	var readersCount int
	require.NoError(t, db.Admin.QueryRow(ctx, `SELECT count(*) FROM (`+readers+`) r`, nonClinical).Scan(&readersCount))
	require.GreaterOrEqual(t, readersCount, 15, "the query must find the definer functions that read clinical tables")
	rows, err = db.Admin.Query(ctx, readers+`
		  AND p.prosrc !~ $2 AND p.prosrc !~ '(cl_check_sud_consent|cl_sud_consent_charts|cl_charts_clinical|cl_staff_holds|cl_group_participation_consented|cl_group_attendance_visible|cl_peer_chart_readable|cl_peer_encounter_correction|hr_productivity_refusal)\('`,
		nonClinical, permissionChecks)
	require.NoError(t, err)
	offenders, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Empty(t, offenders, "definer functions that read clinical tables without a permission check")
}

// The library's functions run as cl_definer, which carries no power beyond
// the library's own tables: no superuser, no BYPASSRLS, no role or database
// creation, no server files or programs.
func TestDefinerFunctionsRunWithLeastPrivilege(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	var super, bypass, createRole, createDB, login bool
	var serverRoles int
	require.NoError(t, db.Admin.QueryRow(ctx, `
		SELECT r.rolsuper, r.rolbypassrls, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin,
		       (SELECT count(*) FROM pg_catalog.pg_roles s
		        WHERE s.rolname IN ('pg_read_server_files', 'pg_write_server_files', 'pg_execute_server_program')
		          AND pg_catalog.pg_has_role(r.oid, s.oid, 'MEMBER'))
		FROM pg_catalog.pg_roles r WHERE r.rolname = 'cl_definer'`).Scan(&super, &bypass, &createRole, &createDB, &login, &serverRoles))
	require.False(t, super || bypass || createRole || createDB || login, "cl_definer holds a power it must not")
	require.Zero(t, serverRoles, "cl_definer may reach server files or programs")

	rows, err := db.Admin.Query(ctx, `
		SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
		WHERE p.pronamespace = 'public'::regnamespace AND p.proowner <> 'cl_definer'::regrole
		  AND p.proname <> 'pf_apply_least_privilege'`)
	require.NoError(t, err)
	notOwned, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Empty(t, notOwned, "functions not owned by cl_definer (end the migration with CALL public.pf_apply_least_privilege())")

	rows, err = db.Admin.Query(ctx, `
		SELECT c.relname::text FROM pg_catalog.pg_class c
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relrowsecurity
		  AND c.relname NOT IN ('platform_schema_migrations', 'platform_host_schema_migrations')
		  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policies p WHERE p.schemaname = 'public' AND p.tablename = c.relname
		                  AND p.roles = ARRAY['cl_definer']::name[])`)
	require.NoError(t, err)
	noPolicy, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Empty(t, noPolicy, "tables the definer role cannot read")

	// A definer function cannot reach the server: pg_read_file needs a
	// privilege cl_definer lacks.
	tx, err := db.Admin.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck // the test only reads
	_, err = tx.Exec(ctx, `SET LOCAL ROLE cl_definer`)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `SELECT pg_catalog.pg_read_file('/etc/passwd')`)
	require.True(t, dbtx.IsPermissionDenied(err), "got %v", err)
}

// A Part 2 chart's rows leave the database only with their line in the
// accounting of disclosures, committed first: plain SQL sees them only after
// cl_part2_disclosed has written it in an earlier transaction, for five
// minutes. A line written by the reading transaction opens nothing, so a
// reader that rolls back cannot erase the accounting of what it saw.
func TestPart2RowsNeedTheirAccountingFirst(t *testing.T) {
	t.Parallel()
	c := newClinic(t)
	ctx := context.Background()
	c.db.Exec(t, `INSERT INTO public.cl_part2_consents (organization_id, chart_id, disclosing_organization_id, recipient_user_id,
		record_types, purposes, effective_at, expires_at, signed_at, signer, recorded_by)
		VALUES ($1, $2, $1, $3, '{peer_encounter}', '{TREAT}', now() - interval '1 day', now() + interval '1 day',
		  now() - interval '1 day', 'patient', $4)`, c.org, c.part2, c.peerA, c.officer)
	c.db.Exec(t, `INSERT INTO public.cl_peer_encounters (organization_id, chart_id, peer_provider_id, service_date, start_time, end_time,
		duration_minutes, service_type, service_type_source, hcpcs_code, focus_notes, created_by, updated_by)
		VALUES ($1, $2, $3, current_date, now() - interval '2 hours', now() - interval '1 hour', 60, 'peer_support', 'pf15',
		  'H0038', 'Part 2 session', $3, $3)`, c.org, c.part2, c.peerA)
	accounted := func() int {
		var n int
		require.NoError(t, c.db.Admin.QueryRow(ctx, `SELECT count(*) FROM public.pf_audit_logs WHERE organization_id = $1
			AND action = 'part2.record.disclosed' AND target_id = $2 AND actor_user_id = $3`, c.org, c.part2, c.peerA).Scan(&n))
		return n
	}
	const count = `SELECT count(*)::int FROM public.cl_peer_encounters WHERE chart_id = $1`
	const disclose = `SELECT public.cl_part2_disclosed($1, ARRAY[$2::uuid], 'peer_encounter', 'TREAT', 'display')`

	// Disclose and read in one transaction, then roll back: the line
	// written by the reader opens nothing, and the rollback leaves no trace
	// because nothing was seen.
	var opened, sameTx, viaFunction int
	tx, err := c.db.App.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, dbtx.RunTx(ctx, tx, c.peerA, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, disclose, c.org, c.part2).Scan(&opened); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, count, c.part2).Scan(&sameTx); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT count(*)::int FROM public.cl_peer_encounters_by_chart($1, $2, '-infinity', 'infinity',
			'infinity', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 100)`, c.org, c.part2).Scan(&viaFunction)
	}))
	require.NoError(t, tx.Rollback(ctx))
	require.Equal(t, 1, opened, "the line was written")
	require.Zero(t, sameTx, "a line of the reading transaction opens nothing (a rollback would erase it)")
	require.Zero(t, viaFunction, "nor through the library's read function")
	require.Zero(t, accounted(), "rolled back with nothing seen")

	// Committed first, then read: visible, and the line stands.
	n := c.count(t, c.peerA, count, c.part2)
	require.Zero(t, n, "under consent, but not yet accounted for")
	n = c.count(t, c.peerA, disclose, c.org, c.part2)
	require.Equal(t, 1, n)
	n = c.count(t, c.peerA, count, c.part2)
	require.Equal(t, 1, n, "accounted for and committed, then visible")
	require.Equal(t, 1, accounted())
	// The line opens the chart to its user only.
	n = c.count(t, c.peerB, count, c.part2)
	require.Zero(t, n)

	// Without consent, asking writes nothing and opens nothing.
	n = c.count(t, c.peerB, disclose, c.org, c.part2)
	require.Zero(t, n)
	require.Equal(t, 1, accounted())
}

// An accounting line opens its chart for the window only.
func TestPart2AccountingOpensForItsWindow(t *testing.T) {
	t.Parallel()
	c := newClinic(t)
	c.db.Exec(t, `INSERT INTO public.cl_part2_consents (organization_id, chart_id, disclosing_organization_id, recipient_user_id,
		record_types, purposes, effective_at, expires_at, signed_at, signer, recorded_by)
		VALUES ($1, $2, $1, $3, '{peer_encounter}', '{TREAT}', now() - interval '1 day', now() + interval '1 day',
		  now() - interval '1 day', 'patient', $4)`, c.org, c.part2, c.peerA, c.officer)
	c.db.Exec(t, `INSERT INTO public.cl_peer_encounters (organization_id, chart_id, peer_provider_id, service_date, start_time, end_time,
		duration_minutes, service_type, service_type_source, hcpcs_code, focus_notes, created_by, updated_by)
		VALUES ($1, $2, $3, current_date, now() - interval '2 hours', now() - interval '1 hour', 60, 'peer_support', 'pf15',
		  'H0038', 'Part 2 session', $3, $3)`, c.org, c.part2, c.peerA)
	// The consent as granted a day ago (its audit row, which a line must
	// postdate: cl_part2_decision_stands).
	c.db.Exec(t, `BEGIN; SET LOCAL session_replication_role = replica;
		UPDATE public.pf_audit_logs SET occurred_at = occurred_at - interval '1 day' WHERE action = 'part2.consent.granted';
		COMMIT`)
	// A line older than the window (as the system would have written it).
	c.db.Exec(t, `INSERT INTO public.pf_audit_logs (occurred_at, actor_user_id, organization_id, action, target_type, target_id, purpose, details)
		VALUES (now() - public.cl_part2_disclosure_window() - interval '1 second', $3, $1, 'part2.record.disclosed', 'chart', $2, 'TREAT',
		  '{"record_type": "peer_encounter", "use": "display", "basis": "consent"}')`, c.org, c.part2, c.peerA)
	n := c.count(t, c.peerA, `SELECT count(*)::int FROM public.cl_peer_encounters WHERE chart_id = $1`, c.part2)
	require.Zero(t, n, "a line older than the window opens nothing")
	c.db.Exec(t, `INSERT INTO public.pf_audit_logs (occurred_at, actor_user_id, organization_id, action, target_type, target_id, purpose, details)
		VALUES (now() - public.cl_part2_disclosure_window() + interval '1 minute', $3, $1, 'part2.record.disclosed', 'chart', $2, 'TREAT',
		  '{"record_type": "peer_encounter", "use": "display", "basis": "consent"}')`, c.org, c.part2, c.peerA)
	n = c.count(t, c.peerA, `SELECT count(*)::int FROM public.cl_peer_encounters WHERE chart_id = $1`, c.part2)
	require.Equal(t, 1, n, "a line within the window opens the chart")
}

// What the independent review of this model found, each now refused.
func TestReviewFindingsStayFixed(t *testing.T) {
	t.Parallel()
	c := newClinic(t)
	ctx := context.Background()
	otherChartsPM := c.db.NewPMEncounter(t, c.org, c.part2, c.clinician)
	stranger := c.db.NewMember(t, c.orgB, "hr_manager")
	consent := `
		WITH i AS (INSERT INTO public.cl_part2_consents (organization_id, chart_id, disclosing_organization_id, recipient_user_id,
		  record_types, purposes, effective_at, expires_at, signed_at, signer, recorded_by)
		  VALUES ($1, $2, $3, $4, '{progress_note}', '{TREAT}', $5::timestamptz, $5::timestamptz + interval '30 days', $5::timestamptz,
		    'patient', auth.uid()) RETURNING 1)
		SELECT count(*)::int - 1 FROM i`
	c.run(t, []attack{
		{name: "a PM encounter of another patient", as: c.peerA, code: checkFailed,
			sql: insertEncounter, args: []any{c.org, c.chart, c.peerA, twoHoursAgo(), otherChartsPM}},
		{name: "a stranger probes another organization's PM rows", as: stranger,
			sql: `SELECT public.cl_pm_reference_ok($1, 'pm_encounters', $2)::int`, args: []any{c.org, otherChartsPM}},
		{name: "a stranger's productivity call", as: stranger,
			sql: `SELECT count(*)::int FROM public.get_provider_productivity($1, now() - interval '30 days', now())`, args: []any{c.org}},
		{name: "an amendment of a draft", as: c.peerB, code: checkFailed,
			sql: `WITH i AS (INSERT INTO public.cl_peer_encounter_amendments (organization_id, peer_encounter_id, chart_id, kind, body, reason,
			      created_by) VALUES ($1, $2, $3, 'addendum', 'x', 'y', auth.uid()) RETURNING 1) SELECT count(*)::int - 1 FROM i`,
			args: []any{c.org, c.draftB, c.chart}},
		{name: "a consent signed in the future", as: c.officer, code: checkFailed, sql: consent,
			args: []any{c.org, c.part2, c.org, c.clinician, time.Now().Add(48 * time.Hour)}},
		{name: "a consent disclosed by another organization", as: c.officer, code: checkFailed, sql: consent,
			args: []any{c.org, c.part2, c.orgB, c.clinician, time.Now().Add(-time.Hour)}},
		{name: "a note inserted already signed", as: c.clinician, code: denied,
			sql: `WITH i AS (INSERT INTO public.cl_progress_notes (organization_id, chart_id, author_id, session_start, session_end, status,
			      finalized_at) VALUES ($1, $2, auth.uid(), now() - interval '2 hours', now() - interval '1 hour', 'signed', now() - interval '1 hour')
			      RETURNING 1) SELECT count(*)::int - 1 FROM i`, args: []any{c.org, c.chart}},
		{name: "a made-up purpose in the host's audit", as: c.clinician, code: invalidParam,
			sql: `SELECT length(public.pf_audit_record($1, NULL, 'host.export', 'chart', $2, 'GOSSIP', '{}')::text)`, args: []any{c.org, c.chart}},
	})
	var n int
	require.NoError(t, c.db.Admin.QueryRow(ctx, `SELECT count(*) FROM public.pf_audit_logs WHERE actor_user_id = $1`, stranger).Scan(&n))
	require.Zero(t, n, "nothing written into another organization's log")

	// The audit log names the charts of Part 2 decisions: an administrator
	// does not read it, the privacy officer does.
	c.count(t, c.clinician, `SELECT length(public.cl_part2_decide($1, 'progress_note', 'TREAT', 'display'))`, c.part2)
	n = c.count(t, c.admin, `SELECT count(*)::int FROM public.pf_audit_logs`)
	require.Zero(t, n)
	n = c.count(t, c.officer, `SELECT count(*)::int FROM public.pf_audit_logs WHERE target_id = $1`, c.part2)
	require.Positive(t, n)

	// Bookkeeping times are the database's.
	var created time.Time
	require.NoError(t, dbtx.Run(ctx, c.db.App, c.peerA, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO public.cl_peer_encounters (organization_id, chart_id, peer_provider_id, service_date,
			start_time, end_time, duration_minutes, service_type, service_type_source, hcpcs_code, created_by, updated_by, created_at)
			VALUES ($1, $2, auth.uid(), current_date, now() - interval '2 hours', now() - interval '1 hour', 60, 'peer_support', 'pf15',
			  'H0038', auth.uid(), auth.uid(), '1850-01-01') RETURNING created_at`, c.org, c.chart).Scan(&created)
	}))
	require.WithinDuration(t, time.Now(), created, time.Minute)
}

// What the second independent review found, each now refused.
func TestSecondReviewFindingsStayFixed(t *testing.T) {
	t.Parallel()
	c := newClinic(t)
	ctx := context.Background()
	// The clinician's consent on the Part 2 chart covers payment only; an
	// emergency access is for treatment, to display or save.
	c.db.Exec(t, `INSERT INTO public.cl_part2_consents (organization_id, chart_id, disclosing_organization_id, recipient_user_id,
		record_types, purposes, effective_at, expires_at, signed_at, signer, recorded_by)
		VALUES ($1, $2, $1, $3, '{*}', '{HPAYMT}', now() - interval '1 day', now() + interval '1 day',
		  now() - interval '1 day', 'patient', $4)`, c.org, c.part2, c.clinician, c.officer)
	pmOfPart2 := c.db.NewPMEncounter(t, c.org, c.part2, c.clinician)
	c.db.NewRole(t, "group_admin", "Schedules virtual groups", "cl.group.virtual.manage")
	groupAdmin := c.db.NewMember(t, c.org, "group_admin")
	c.run(t, []attack{
		{name: "a treatment read accounted under a payment-only consent", as: c.clinician,
			sql: `SELECT public.cl_part2_disclosed($1, ARRAY[$2::uuid], 'appointment', 'TREAT', 'display')`, args: []any{c.org, c.part2}},
		{name: "a non-clinical member learns which chart a PM encounter belongs to", as: c.nobody,
			sql: `SELECT public.cl_pm_reference_ok($1, 'pm_encounters', $2, $3)::int`, args: []any{c.org, pmOfPart2, c.part2}},
		{name: "a note written on a Part 2 chart without its accounting", as: c.clinician, code: denied,
			sql: `WITH i AS (INSERT INTO public.cl_progress_notes (organization_id, chart_id, author_id, session_start, session_end)
			      VALUES ($1, $2, auth.uid(), now() - interval '2 hours', now() - interval '1 hour') RETURNING 1)
			      SELECT count(*)::int - 1 FROM i`, args: []any{c.org, c.part2}},
		{name: "a group role learns Part 2 status from participation consent", as: groupAdmin,
			sql:  `SELECT (public.cl_group_participation_consented($1, $2) <> public.cl_group_participation_consented($1, $3))::int`,
			args: []any{c.org, c.chart, c.part2}},
	})
	// Controls: the same mapping is known to clinical staff, and the plain
	// chart is open to a group role that may see charts.
	n := c.count(t, c.clinician, `SELECT public.cl_pm_reference_ok($1, 'pm_encounters', $2, $3)::int`, c.org, pmOfPart2, c.part2)
	require.Equal(t, 1, n)
	n = c.count(t, c.clinician, `SELECT public.cl_part2_disclosed($1, ARRAY[$2::uuid], 'appointment', 'HPAYMT', 'display')`, c.org, c.part2)
	require.Equal(t, 1, n, "the purpose the consent names is accounted for")

	// An emergency access does not account for an AI use.
	c.count(t, c.clinician, `SELECT length(public.cl_part2_break_glass($1, 'patient unconscious in the ER', interval '1 hour')::text)`, c.part2)
	n = c.count(t, c.clinician, `SELECT public.cl_part2_disclosed($1, ARRAY[$2::uuid], 'peer_encounter', 'ETREAT', 'ai')`, c.org, c.part2)
	require.Zero(t, n)
	n = c.count(t, c.clinician, `SELECT public.cl_part2_disclosed($1, ARRAY[$2::uuid], 'peer_encounter', 'ETREAT', 'display')`, c.org, c.part2)
	require.Equal(t, 1, n)
	var basis string
	require.NoError(t, c.db.Admin.QueryRow(ctx, `SELECT details->>'basis' FROM public.pf_audit_logs
		WHERE action = 'part2.record.disclosed' AND actor_user_id = $1 AND details->>'record_type' = 'peer_encounter'`, c.clinician).Scan(&basis))
	require.Equal(t, "emergency", basis)
}

// A finalization's event is the encounter's own, key for key: no field the
// contract lacks, no figure that differs, one event per encounter, whoever
// publishes it.
func TestFinalizedEventsCarryTheEncountersOwnFigures(t *testing.T) {
	t.Parallel()
	c := newClinic(t)
	ctx := context.Background()
	// The envelope of an encounter's event, built from the row, with extra
	// merged into its data.
	const envelope = `
		SELECT pg_catalog.jsonb_build_object('specversion', '1.0', 'id', $3::uuid, 'source', 'urn:test', 'type', 'peer_encounter_finalized',
		  'time', '2026-01-01T00:00:00Z', 'subject', e.id, 'datacontenttype', 'application/json', 'organizationid', e.organization_id,
		  'data', pg_catalog.jsonb_build_object('event_type', 'peer_encounter_finalized', 'organization_id', e.organization_id,
		    'timestamp', pg_catalog.to_char(e.finalized_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		    'peer_encounter_id', e.id, 'chart_id', e.chart_id, 'peer_provider_id', e.peer_provider_id,
		    'service_date', e.service_date, 'hcpcs_code', e.hcpcs_code, 'duration_minutes', e.duration_minutes,
		    'security_labels', CASE WHEN c.is_part2 THEN '["R", "42CFRPart2", "NORDSCLCD"]'::jsonb ELSE '[]'::jsonb END) || $4::jsonb)
		FROM public.cl_peer_encounters e JOIN public.cl_charts c ON c.organization_id = e.organization_id AND c.id = e.chart_id
		WHERE e.organization_id = $1 AND e.id = $2`
	// A raw finalization without its event never commits.
	err := dbtx.Run(ctx, c.db.App, c.peerB, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE public.cl_peer_encounters SET status = 'finalized', finalized_by = auth.uid(),
			finalized_at = now(), updated_by = auth.uid() WHERE organization_id = $1 AND id = $2`, c.org, c.draftB)
		return err
	})
	require.True(t, dbtx.IsCheckViolation(err), "got %v", err)
	refused := func(err error) bool {
		return dbtx.IsCheckViolation(err) && strings.Contains(err.Error(), "does not describe")
	}
	// The finalization's door takes no figures: the database builds the
	// event from the row, exactly as the contract (written out above)
	// says, and returns the row once (a retry publishes nothing).
	finalize := func() error {
		return dbtx.Run(ctx, c.db.App, c.peerB, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `SELECT * FROM public.cl_peer_encounter_finalize($1, $2, $3, 'urn:test', true)`, c.org, c.draftB, uuid.New())
			return err
		})
	}
	require.NoError(t, finalize())
	require.NoError(t, finalize(), "a retry")
	var stored, want struct{ Data json.RawMessage }
	require.NoError(t, c.db.Admin.QueryRow(ctx, `SELECT envelope FROM public.cl_pm_events
		WHERE organization_id = $1 AND aggregate_id = $2 AND event_type = 'peer_encounter_finalized'`, c.org, c.draftB).Scan(&stored))
	require.NoError(t, c.db.Admin.QueryRow(ctx, envelope, c.org, c.draftB, uuid.New(), `{}`).Scan(&want))
	require.JSONEq(t, string(want.Data), string(stored.Data))

	// An integration principal: only the finalized encounter's figures, and
	// only while it has no event.
	publish := func(id uuid.UUID, key, extra string) error {
		var env []byte
		evid := uuid.New()
		// The integration cannot read encounters; the test builds its
		// envelope as the host would, from the host's own copy.
		require.NoError(t, c.db.Admin.QueryRow(ctx, envelope, c.org, id, evid, extra).Scan(&env))
		return dbtx.Run(ctx, c.db.App, c.integrat, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `SELECT public.cl_pm_events_publish($1, $2, 'peer_encounter_finalized', $3, $4, $5::jsonb)`,
				c.org, evid, id, key, env)
			return err
		})
	}
	err = publish(c.finalized.ID, "i-1", `{"chart_id": "`+c.part2.String()+`"}`)
	require.True(t, refused(err), "another chart: %v", err)
	require.NoError(t, publish(c.finalized.ID, "i-1", `{}`))
	require.NoError(t, publish(c.finalized.ID, "i-1", `{}`), "a retry with the same key gets the stored event")
	require.True(t, refused(publish(c.finalized.ID, "i-2", `{}`)), "a second event for the encounter")
	require.True(t, refused(publish(c.draftB, "i-3", `{}`)), "the encounter peerB finalized has its event already")

	// Once delivered and compacted past its retention, the event is a
	// tombstone: the encounter still has its event, and cannot be charged
	// again.
	c.db.Exec(t, `UPDATE public.cl_pm_events SET status = 'delivered', delivered_at = now() - interval '30 days',
		compacted_at = now(), envelope = '{}' WHERE organization_id = $1 AND aggregate_id = $2`, c.org, c.finalized.ID)
	require.True(t, refused(publish(c.finalized.ID, "i-4", `{}`)), "a second event after compaction")
	err = publish(c.finalized.ID, "i-1", `{}`)
	require.True(t, dbtx.IsUniqueViolation(err), "the first key, after compaction: %v", err)
	// Nobody rewrites an envelope, the relay included.
	_, err = c.db.Admin.Exec(ctx, `UPDATE public.cl_pm_events SET envelope = '{"data": {}}' WHERE organization_id = $1`, c.org)
	require.Equal(t, checkFailed, dbtx.Code(err), "got %v", err)
}

// A refusal rolls back the caller's transaction, audit rows included, so it
// is recorded where no rollback reaches: a line in the server log naming
// the acting user, organization, action and target by UUIDs and codes.
// (Seen here as a notice, by a session that asks for LOG messages.)
func TestRefusalsReachTheServerLog(t *testing.T) {
	t.Parallel()
	c := newClinic(t)
	ctx := context.Background()
	cfg := c.db.App.Config().ConnConfig.Copy()
	var logged []string
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { logged = append(logged, n.Message) }
	conn, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err)
	defer conn.Close(ctx) //nolint:errcheck // test cleanup
	_, err = conn.Exec(ctx, `SET client_min_messages = log`)
	require.NoError(t, err)
	err = dbtx.Run(ctx, conn, c.hr, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SELECT public.cl_part2_break_glass($1, 'a reason long enough', interval '1 hour')`, c.part2)
		return err
	})
	require.True(t, dbtx.IsPermissionDenied(err), "got %v", err)
	require.Contains(t, logged, "pf.refused actor="+c.hr.String()+" organization="+c.org.String()+
		" action=part2.emergency_access.open target=chart/"+c.part2.String())

	// Nobody writes anything but codes into the log through it.
	logged = nil
	err = dbtx.Run(ctx, conn, c.hr, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SELECT public.pf_refuse($1, E'x\nFATAL: forged', 'chart', NULL, 'no')`, c.org)
		return err
	})
	require.True(t, dbtx.IsPermissionDenied(err), "got %v", err)
	require.Equal(t, []string{"pf.refused actor=" + c.hr.String() + " organization=" + c.org.String() + " action=invalid target=chart/-"}, logged)
}
