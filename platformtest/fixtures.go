package platformtest

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The fixture helpers below provision what a host provides (organizations,
// sites, members, roles, charts, and the PM and CL-14 rows the library's
// records refer to) as the superuser, the way a host's own provisioning
// would. They fail t on error. The roles are the ones the migrations seed
// (see the README's Authorization section): "peer_specialist",
// "peer_supervisor", "clinician", "hr_manager", "privacy_officer",
// "org_admin", "integration".

// NewOrg creates an organization and returns its id.
func (db *DB) NewOrg(t testing.TB) uuid.UUID {
	t.Helper()
	return db.insertID(t, `INSERT INTO public.pf_organizations (name) VALUES ('Org ' || pg_catalog.gen_random_uuid()) RETURNING id`)
}

// NewSite creates a site of org and returns its id.
func (db *DB) NewSite(t testing.TB, org uuid.UUID) uuid.UUID {
	t.Helper()
	return db.insertID(t, `INSERT INTO public.pf_sites (organization_id, name) VALUES ($1, 'Site') RETURNING id`, org)
}

// NewMember creates a user who is an active member of org with the given
// organization-wide roles, and returns the user's id.
func (db *DB) NewMember(t testing.TB, org uuid.UUID, roles ...string) uuid.UUID {
	t.Helper()
	user := uuid.New()
	db.AddMember(t, org, user, roles...)
	return user
}

// AddMember makes an existing user an active member of org with the given
// organization-wide roles.
func (db *DB) AddMember(t testing.TB, org, user uuid.UUID, roles ...string) {
	t.Helper()
	db.Exec(t, `INSERT INTO public.pf_members (organization_id, user_id) VALUES ($1, $2)`, org, user)
	for _, role := range roles {
		db.Exec(t, `INSERT INTO public.pf_member_roles (organization_id, user_id, role) VALUES ($1, $2, $3)`, org, user, role)
	}
}

// NewRole adds a role to the role model (PF-30, global: every organization
// sees it) holding the given permissions, as a host defines its own roles
// with rows.
func (db *DB) NewRole(t testing.TB, code, description string, permissions ...string) {
	t.Helper()
	db.Exec(t, `INSERT INTO public.pf_roles (code, description) VALUES ($1, $2)`, code, description)
	for _, permission := range permissions {
		db.Exec(t, `INSERT INTO public.pf_role_permissions (role, permission) VALUES ($1, $2)`, code, permission)
	}
}

// AddSiteRole gives a member a role at one site only.
func (db *DB) AddSiteRole(t testing.TB, org, user, site uuid.UUID, role string) {
	t.Helper()
	db.Exec(t, `INSERT INTO public.pf_member_roles (organization_id, user_id, role, site_id) VALUES ($1, $2, $3, $4)`, org, user, role, site)
}

// NewChart creates a chart in org (a Part 2 chart when part2) and returns
// its id.
func (db *DB) NewChart(t testing.TB, org uuid.UUID, part2 bool) uuid.UUID {
	t.Helper()
	return db.insertID(t, `INSERT INTO public.cl_charts (organization_id, is_part2) VALUES ($1, $2) RETURNING id`, org, part2)
}

// NewGroupSession creates a CL-14 group therapy session of org led by
// facilitator, scheduled from now for 90 minutes, and returns its id: the
// session telehealthgroup makes virtual or hybrid.
func (db *DB) NewGroupSession(t testing.TB, org, facilitator uuid.UUID) uuid.UUID {
	t.Helper()
	return db.insertID(t, `INSERT INTO public.cl_group_sessions (organization_id, facilitator_id, service_type, scheduled_start, scheduled_end)
		VALUES ($1, $2, 'group_therapy', now(), now() + interval '90 minutes') RETURNING id`, org, facilitator)
}

// NewTelehealthSession creates a PM-13 telehealth session of org (the
// host's row a UUID-only reference must name) and returns its id.
func (db *DB) NewTelehealthSession(t testing.TB, org uuid.UUID) uuid.UUID {
	t.Helper()
	return db.insertID(t, `INSERT INTO public.pm_telehealth_sessions (organization_id) VALUES ($1) RETURNING id`, org)
}

// NewPMEncounter creates a PM-03 encounter of org for chart with provider
// (the host's row a peer encounter's UUID-only encounter_id must name) and
// returns its id.
func (db *DB) NewPMEncounter(t testing.TB, org, chart, provider uuid.UUID) uuid.UUID {
	t.Helper()
	return db.insertID(t, `INSERT INTO public.pm_encounters (organization_id, chart_id, provider_id, encounter_date)
		VALUES ($1, $2, $3, current_date) RETURNING id`, org, chart, provider)
}

// FinalizedPeerEncounter is a finalized peer encounter created by
// [DB.NewFinalizedPeerEncounter], with the figures its
// peer_encounter_finalized event carries.
type FinalizedPeerEncounter struct {
	ID, ChartID, PeerProviderID uuid.UUID
	ServiceDate, FinalizedAt    time.Time
	HCPCSCode                   string
	DurationMinutes             int
}

// NewFinalizedPeerEncounter creates, as the host's superuser, a chart, a
// peer specialist and a finalized 30-minute H0038 encounter of theirs in
// org (without its event): the record an integration principal may
// publish peer_encounter_finalized about.
func (db *DB) NewFinalizedPeerEncounter(t testing.TB, org uuid.UUID) FinalizedPeerEncounter {
	t.Helper()
	e := FinalizedPeerEncounter{ChartID: db.NewChart(t, org, false), PeerProviderID: db.NewMember(t, org, "peer_specialist"),
		HCPCSCode: "H0038", DurationMinutes: 30}
	if err := db.Admin.QueryRow(context.Background(), `
		INSERT INTO public.cl_peer_encounters (organization_id, chart_id, peer_provider_id, service_date, start_time, end_time,
		  duration_minutes, service_type, service_type_source, hcpcs_code, focus_notes, status, created_by, updated_by, finalized_by, finalized_at)
		VALUES ($1, $2, $3, current_date, now() - interval '1 hour', now() - interval '30 minutes', 30, 'peer_support', 'pf15',
		  'H0038', 'Practised a coping plan', 'finalized', $3, $3, $3, now())
		RETURNING id, service_date, finalized_at`, org, e.ChartID, e.PeerProviderID).Scan(&e.ID, &e.ServiceDate, &e.FinalizedAt); err != nil {
		t.Fatalf("platformtest: a finalized peer encounter: %v", err)
	}
	return e
}

// Exec runs a statement as the superuser and fails t on error.
func (db *DB) Exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	if _, err := db.Admin.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("platformtest: %s: %v", sql, err)
	}
}

func (db *DB) insertID(t testing.TB, sql string, args ...any) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := db.Admin.QueryRow(context.Background(), sql, args...).Scan(&id); err != nil {
		t.Fatalf("platformtest: %s: %v", sql, err)
	}
	return id
}
