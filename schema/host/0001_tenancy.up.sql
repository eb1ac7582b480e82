-- +goose Up
-- HOST STAND-IN: PF-01 organizations and sites, PF-02 memberships and roles,
-- PF-30 permissions: tables, the permission codes the library checks, and a
-- default authorization model. A host with its own tables leaves this line
-- out and meets CONTRACT.md instead. Row-level security, grants and policies
-- on these tables are the library's (migrations/0002_access_helpers.up.sql).
-- Provisioning these rows is the host's job: `authenticated` reads them but
-- does not write them.

CREATE TABLE public.pf_organizations (
  id         uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  name       text NOT NULL CHECK (pg_catalog.length(name) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE TABLE public.pf_sites (
  organization_id uuid NOT NULL REFERENCES public.pf_organizations (id),
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  name            text NOT NULL CHECK (pg_catalog.length(name) BETWEEN 1 AND 200),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (organization_id, id)
);

-- A member is a user (auth.uid()) in an organization. Staff references in
-- every feature table (peer_provider_id, supervisor_id, facilitator_id, ...)
-- are (organization_id, user_id) foreign keys to this table.
CREATE TABLE public.pf_members (
  organization_id uuid NOT NULL REFERENCES public.pf_organizations (id),
  user_id         uuid NOT NULL,
  status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX pf_members_user_idx ON public.pf_members (user_id, organization_id) WHERE status = 'active';

-- PF-30: the permission catalogue and which roles grant what. Roles and
-- role permissions are global; a host with per-organization roles replaces
-- the access helpers (CONTRACT.md).
CREATE TABLE public.pf_permissions (
  code        text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
  description text NOT NULL
);

CREATE TABLE public.pf_roles (
  code        text PRIMARY KEY CHECK ((code ~ '^[a-z][a-z0-9_]+$' AND pg_catalog.length(code) <= 63)),
  description text NOT NULL
);

CREATE TABLE public.pf_role_permissions (
  role       text NOT NULL REFERENCES public.pf_roles (code),
  permission text NOT NULL REFERENCES public.pf_permissions (code),
  PRIMARY KEY (role, permission)
);

-- A member's role, organization-wide (site_id NULL) or at one site.
CREATE TABLE public.pf_member_roles (
  organization_id uuid NOT NULL,
  user_id         uuid NOT NULL,
  role            text NOT NULL REFERENCES public.pf_roles (code),
  site_id         uuid,
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  UNIQUE NULLS NOT DISTINCT (organization_id, user_id, role, site_id),
  FOREIGN KEY (organization_id, user_id) REFERENCES public.pf_members (organization_id, user_id),
  FOREIGN KEY (organization_id, site_id) REFERENCES public.pf_sites (organization_id, id)
);

-- The permission catalogue: one permission per action on each kind of
-- record. Policies and SECURITY DEFINER functions check these, never role
-- names; which role holds what is data (pf_role_permissions), so a host
-- changes its authorization model with rows, not with a release.
INSERT INTO public.pf_permissions (code, description) VALUES
  ('cl.chart.view',                    'See a chart and whether it holds Part 2 records (clinical staff only): every clinical read needs it'),
  ('cl.peer.encounter.view',           'View peer encounters and their amendments, without their clinical text'),
  ('cl.peer.encounter.view_text',      'Read peer encounters'' focus notes and amendments'' text (with cl.peer.encounter.view)'),
  ('cl.peer.encounter.create',         'Create peer encounter drafts (as their peer provider, unless documenting on behalf)'),
  ('cl.peer.encounter.edit',           'Edit one''s own peer encounter drafts'),
  ('cl.peer.encounter.finalize',       'Finalize one''s own peer encounters (sends them to charge capture)'),
  ('cl.peer.encounter.amend',          'Amend finalized peer encounters (addenda and corrections)'),
  ('cl.peer.encounter.on_behalf',      'Document and finalize a peer encounter for another peer provider (audited)'),
  ('cl.peer.encounter.cosign',         'Co-sign another peer''s draft encounter as a qualified supervisor (before finalizing, where the organization requires it)'),
  ('cl.peer.service.provide',          'Be the peer provider of record of a peer recovery service'),
  ('cl.peer.supervision.view',         'View peer supervision records and certifications, without supervision notes'),
  ('cl.peer.supervision.view_text',    'Read supervision notes (with cl.peer.supervision.view; a peer reads the notes of their own supervision)'),
  ('cl.peer.supervision.manage',       'Record peer supervision'),
  ('cl.peer.supervision.supervise',    'Be the supervisor of record of a peer specialist'),
  ('cl.peer.certification.manage',     'Record peer specialists'' certification dates'),
  ('cl.peer.supervision_rules.manage', 'Set the organization''s peer supervision rule set'),
  ('cl.progress_note.view',            'View progress-note metadata (CL-04)'),
  ('cl.progress_note.write',           'Write and sign one''s own progress notes (CL-04)'),
  ('cl.group.view',                    'View group sessions and their attendance (CL-14)'),
  ('cl.group.manage',                  'Schedule group sessions and record attendance (CL-14)'),
  ('cl.group.facilitate',              'Be the facilitator of record of a group session'),
  ('pm.appointment.view',              'View appointments and encounters (PM-03)'),
  ('pm.telehealth.view',               'View telehealth session status (PM-13)'),
  ('hr.productivity.view',             'View aggregate provider productivity (HR)'),
  ('cl.consent.view',                  'View Part 2 consents'),
  ('cl.consent.manage',                'Record and revoke Part 2 consents'),
  ('cl.part2.break_glass',             'Open a time-boxed medical-emergency access to a Part 2 chart (42 CFR 2.51)'),
  ('pf.audit.view',                    'Read the audit log, including accountings of disclosures'),
  ('pf.events.view',                   'Read the event outbox (events name charts and encounters)'),
  ('pf.events.publish',                'Publish library events directly, outside their own actions (an integration principal, never a person)'),
  ('cl.group.virtual.view',            'View virtual and hybrid group sessions'),
  ('cl.group.virtual.manage',          'Edit virtual group telehealth metadata and attendance'),
  ('cl.group.virtual.start',           'Start a virtual or hybrid group session'),
  ('cl.group.virtual.conclude',        'Conclude a virtual or hybrid group session'),
  ('cl.group.virtual.recording',       'Capture recording consent and mark recording'),
  ('cl.multi_party.view',              'View multi-party encounters, without their summary'),
  ('cl.multi_party.view_text',         'Read multi-party encounters'' summaries (with cl.multi_party.view)'),
  ('cl.multi_party.manage',            'Create and edit multi-party encounters');

INSERT INTO public.pf_roles (code, description) VALUES
  ('org_admin',        'Organization administrator (configuration, not clinical records)'),
  ('clinician',        'Licensed clinician'),
  ('peer_specialist',  'Certified peer specialist or recovery coach'),
  ('peer_supervisor',  'Qualified supervisor of peer specialists'),
  ('hr_manager',       'Human resources / workforce planning (aggregates only, no clinical rows)'),
  ('privacy_officer',  'Privacy or compliance officer (consents and the audit log, no clinical rows)'),
  ('integration',      'A service account the host creates on purpose to publish events directly; never a person');

-- The default authorization model (README, "Authorization"). Clinical
-- permissions go to clinical roles only: HR, privacy officers,
-- administrators and members without a role see no clinical row.
INSERT INTO public.pf_role_permissions (role, permission)
SELECT r.role, p.permission
FROM (VALUES
  -- The audit log names the charts of Part 2 decisions, consents and
  -- disclosures: it is for the privacy officer, not for administrators.
  -- Administrators count supervision for compliance without reading its
  -- notes (no cl.peer.supervision.view_text).
  ('org_admin',       ARRAY['cl.peer.certification.manage', 'cl.peer.supervision_rules.manage', 'cl.peer.supervision.view']),
  ('clinician',       ARRAY['cl.chart.view', 'cl.peer.encounter.view', 'cl.peer.encounter.view_text', 'cl.progress_note.view', 'cl.progress_note.write',
                            'cl.group.view', 'cl.group.manage', 'cl.group.facilitate', 'pm.appointment.view', 'pm.telehealth.view',
                            'cl.consent.view', 'cl.part2.break_glass',
                            'cl.group.virtual.view', 'cl.group.virtual.manage', 'cl.group.virtual.start',
                            'cl.group.virtual.conclude', 'cl.group.virtual.recording',
                            'cl.multi_party.view', 'cl.multi_party.view_text', 'cl.multi_party.manage']),
  ('peer_specialist', ARRAY['cl.chart.view', 'cl.peer.service.provide', 'cl.peer.encounter.view', 'cl.peer.encounter.view_text',
                            'cl.peer.encounter.create',
                            'cl.peer.encounter.edit', 'cl.peer.encounter.finalize', 'cl.peer.encounter.amend',
                            'cl.group.view', 'cl.group.virtual.view', 'pm.appointment.view']),
  ('peer_supervisor', ARRAY['cl.chart.view', 'cl.peer.encounter.view', 'cl.peer.encounter.view_text', 'cl.peer.encounter.amend',
                            'cl.peer.encounter.cosign',
                            'cl.peer.supervision.view', 'cl.peer.supervision.view_text', 'cl.peer.supervision.manage', 'cl.peer.supervision.supervise',
                            'cl.peer.certification.manage', 'cl.peer.supervision_rules.manage']),
  ('hr_manager',      ARRAY['hr.productivity.view']),
  ('privacy_officer', ARRAY['cl.consent.view', 'cl.consent.manage', 'pf.audit.view', 'pf.events.view']),
  ('integration',     ARRAY['pf.events.publish', 'pf.events.view'])
) AS r(role, permissions), pg_catalog.unnest(r.permissions) AS p(permission);
