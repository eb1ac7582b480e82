-- +goose Up
-- HOST-PROVIDED: PF-01 organizations and sites, PF-02 memberships and roles,
-- PF-30 permissions.
--
-- A host that already has these keeps its own tables and instead provides the
-- access helpers of 0003 (cl_has_org_access and its variants) over them; the
-- feature tables reference pf_organizations, pf_sites and pf_members through
-- (organization_id, id) foreign keys, so a host's replacement must offer the
-- same keys (or views with them). Provisioning these rows is the host's job:
-- the `authenticated` role can read them but not write them.

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
-- the helpers in 0003.
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

INSERT INTO public.pf_permissions (code, description) VALUES
  ('hr.productivity.view',        'View aggregate provider productivity (HR)'),
  ('cl.consent.view',             'View Part 2 consents'),
  ('cl.consent.manage',           'Record and revoke Part 2 consents'),
  ('cl.part2.break_glass',        'Open a time-boxed medical-emergency access to a Part 2 chart (42 CFR 2.51)'),
  ('pf.audit.view',               'Read the audit log, including accountings of disclosures'),
  ('pf.events.view',              'Read the event outbox (events name charts and encounters)'),
  ('pf.events.publish',           'Publish library events directly, outside their own actions (integration and tests)'),
  ('cl.group.virtual.view',       'View virtual and hybrid group sessions'),
  ('cl.group.virtual.manage',     'Edit virtual group telehealth metadata and attendance'),
  ('cl.group.virtual.start',      'Start a virtual or hybrid group session'),
  ('cl.group.virtual.conclude',   'Conclude a virtual or hybrid group session'),
  ('cl.group.virtual.recording',  'Capture recording consent and mark recording'),
  ('cl.multi_party.view',         'View multi-party encounters'),
  ('cl.multi_party.manage',       'Create and edit multi-party encounters'),
  ('cl.peer.supervision.manage',  'Record peer supervision');

INSERT INTO public.pf_roles (code, description) VALUES
  ('org_admin',        'Organization administrator'),
  ('clinician',        'Licensed clinician'),
  ('peer_specialist',  'Certified peer specialist or recovery coach'),
  ('peer_supervisor',  'Qualified supervisor of peer specialists'),
  ('hr_manager',       'Human resources / workforce planning'),
  ('privacy_officer',  'Privacy or compliance officer');

INSERT INTO public.pf_role_permissions (role, permission)
SELECT 'org_admin', code FROM public.pf_permissions;
INSERT INTO public.pf_role_permissions (role, permission) VALUES
  ('clinician', 'cl.consent.view'),
  ('clinician', 'cl.part2.break_glass'),
  ('clinician', 'cl.group.virtual.view'),
  ('clinician', 'cl.group.virtual.manage'),
  ('clinician', 'cl.group.virtual.start'),
  ('clinician', 'cl.group.virtual.conclude'),
  ('clinician', 'cl.group.virtual.recording'),
  ('clinician', 'cl.multi_party.view'),
  ('clinician', 'cl.multi_party.manage'),
  ('peer_specialist', 'cl.group.virtual.view'),
  ('peer_supervisor', 'cl.peer.supervision.manage'),
  ('hr_manager', 'hr.productivity.view'),
  ('privacy_officer', 'cl.consent.view'),
  ('privacy_officer', 'cl.consent.manage'),
  ('privacy_officer', 'pf.audit.view'),
  ('privacy_officer', 'pf.events.view');
