-- +goose Up
-- HOST STAND-IN: minimal stand-ins for records other cores own, with only
-- the columns this library reads or references:
--   CL-04 progress notes          cl_progress_notes
--   CL-14 group sessions          cl_group_sessions, cl_group_attendance
--   PM-03 appointments/encounters pm_appointments, pm_encounters
--   PM-13 telehealth sessions     pm_telehealth_sessions (no join URLs)
-- A host with its own tables leaves this line out and meets CONTRACT.md
-- instead.
-- References from CL rows to PM rows are UUID-only (no foreign key), as the
-- specifications say; every other reference carries organization_id.

CREATE TABLE public.pm_telehealth_sessions (
  organization_id    uuid NOT NULL REFERENCES public.pf_organizations (id),
  id                 uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  status             text NOT NULL DEFAULT 'scheduled'
                     CHECK (status IN ('scheduled', 'live', 'ended', 'failed', 'cancelled')),
  vendor_code        text CHECK ((vendor_code ~ '^[a-z][a-z0-9_]+$' AND pg_catalog.length(vendor_code) <= 31)),
  scheduled_start    timestamptz,
  started_at         timestamptz,
  ended_at           timestamptz,
  PRIMARY KEY (organization_id, id)
);

CREATE TABLE public.cl_group_sessions (
  organization_id uuid NOT NULL REFERENCES public.pf_organizations (id),
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  site_id         uuid,
  facilitator_id  uuid NOT NULL,
  service_type    text NOT NULL CHECK ((service_type ~ '^[a-z][a-z0-9_]+$' AND pg_catalog.length(service_type) <= 63)),
  is_sud_group    boolean NOT NULL DEFAULT false,
  status          text NOT NULL DEFAULT 'scheduled'
                  CHECK (status IN ('scheduled', 'in_progress', 'completed', 'cancelled')),
  scheduled_start timestamptz NOT NULL,
  scheduled_end   timestamptz NOT NULL,
  started_at      timestamptz,
  ended_at        timestamptz,
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, site_id) REFERENCES public.pf_sites (organization_id, id),
  FOREIGN KEY (organization_id, facilitator_id) REFERENCES public.pf_members (organization_id, user_id),
  CHECK (scheduled_end > scheduled_start),
  CHECK (ended_at IS NULL OR (started_at IS NOT NULL AND ended_at >= started_at))
);

CREATE TABLE public.cl_group_attendance (
  organization_id uuid NOT NULL,
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  session_id      uuid NOT NULL,
  chart_id        uuid NOT NULL,
  status          text NOT NULL DEFAULT 'expected'
                  CHECK (status IN ('expected', 'present', 'absent', 'excused')),
  PRIMARY KEY (organization_id, id),
  UNIQUE (organization_id, session_id, chart_id),
  UNIQUE (organization_id, session_id, id),
  FOREIGN KEY (organization_id, session_id) REFERENCES public.cl_group_sessions (organization_id, id),
  FOREIGN KEY (organization_id, chart_id) REFERENCES public.cl_charts (organization_id, id)
);

CREATE TABLE public.pm_appointments (
  organization_id  uuid NOT NULL REFERENCES public.pf_organizations (id),
  id               uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  site_id          uuid,
  chart_id         uuid NOT NULL,
  provider_id      uuid NOT NULL,
  service_type     text NOT NULL CHECK ((service_type ~ '^[a-z][a-z0-9_]+$' AND pg_catalog.length(service_type) <= 63)),
  status           text NOT NULL DEFAULT 'scheduled'
                   CHECK (status IN ('scheduled', 'completed', 'cancelled', 'no_show')),
  attendance_flag  text CHECK (attendance_flag IN ('attended', 'no_show', 'late_cancel')),
  starts_at        timestamptz NOT NULL,
  ends_at          timestamptz NOT NULL,
  group_session_id uuid,
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, site_id) REFERENCES public.pf_sites (organization_id, id),
  FOREIGN KEY (organization_id, chart_id) REFERENCES public.cl_charts (organization_id, id),
  FOREIGN KEY (organization_id, provider_id) REFERENCES public.pf_members (organization_id, user_id),
  CHECK (ends_at > starts_at)
);

CREATE TABLE public.pm_encounters (
  organization_id uuid NOT NULL,
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  appointment_id  uuid,
  chart_id        uuid NOT NULL,
  provider_id     uuid NOT NULL,
  encounter_date  date NOT NULL,
  status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed', 'void')),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, appointment_id) REFERENCES public.pm_appointments (organization_id, id),
  FOREIGN KEY (organization_id, chart_id) REFERENCES public.cl_charts (organization_id, id),
  FOREIGN KEY (organization_id, provider_id) REFERENCES public.pf_members (organization_id, user_id)
);

CREATE TABLE public.cl_progress_notes (
  organization_id        uuid NOT NULL,
  id                     uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  site_id                uuid,
  chart_id               uuid NOT NULL,
  author_id              uuid NOT NULL,
  appointment_id         uuid,
  group_session_id       uuid,
  is_sud_counseling_note boolean NOT NULL DEFAULT false,
  session_start          timestamptz NOT NULL,
  session_end            timestamptz NOT NULL,
  status                 text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'signed')),
  finalized_at           timestamptz,
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, site_id) REFERENCES public.pf_sites (organization_id, id),
  FOREIGN KEY (organization_id, chart_id) REFERENCES public.cl_charts (organization_id, id),
  FOREIGN KEY (organization_id, author_id) REFERENCES public.pf_members (organization_id, user_id),
  FOREIGN KEY (organization_id, group_session_id) REFERENCES public.cl_group_sessions (organization_id, id),
  CHECK (session_end >= session_start),
  CHECK ((status = 'signed') = (finalized_at IS NOT NULL))
);
