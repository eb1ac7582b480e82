-- +goose Up
-- HOST-PROVIDED: minimal stand-ins for records other cores own, with only
-- the columns this library reads or references:
--   CL-04 progress notes          cl_progress_notes
--   CL-14 group sessions          cl_group_sessions, cl_group_attendance
--   PM-03 appointments/encounters pm_appointments, pm_encounters
--   PM-13 telehealth sessions     pm_telehealth_sessions (no join URLs)
-- A host with its own tables provides these names and columns (or views).
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

ALTER TABLE public.pm_telehealth_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.pm_telehealth_sessions FORCE ROW LEVEL SECURITY;
ALTER TABLE public.cl_group_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_group_sessions FORCE ROW LEVEL SECURITY;
ALTER TABLE public.cl_group_attendance ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_group_attendance FORCE ROW LEVEL SECURITY;
ALTER TABLE public.pm_appointments ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.pm_appointments FORCE ROW LEVEL SECURITY;
ALTER TABLE public.pm_encounters ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.pm_encounters FORCE ROW LEVEL SECURITY;
ALTER TABLE public.cl_progress_notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_progress_notes FORCE ROW LEVEL SECURITY;

REVOKE ALL ON public.pm_telehealth_sessions, public.cl_group_sessions, public.cl_group_attendance,
  public.pm_appointments, public.pm_encounters, public.cl_progress_notes FROM PUBLIC;
GRANT SELECT ON public.pm_telehealth_sessions, public.pm_appointments, public.pm_encounters TO authenticated;
GRANT SELECT, INSERT ON public.cl_group_sessions, public.cl_group_attendance TO authenticated;
GRANT UPDATE (site_id, service_type, scheduled_start, scheduled_end, status, started_at, ended_at)
  ON public.cl_group_sessions TO authenticated;
GRANT UPDATE (status) ON public.cl_group_attendance TO authenticated;
-- A note's chart, author and counseling-note flag never change (flipping the
-- flag would move a counseling note under a general consent).
GRANT SELECT, INSERT ON public.cl_progress_notes TO authenticated;
GRANT UPDATE (site_id, appointment_id, group_session_id, session_start, session_end, status, finalized_at)
  ON public.cl_progress_notes TO authenticated;

CREATE POLICY pm_telehealth_sessions_select ON public.pm_telehealth_sessions FOR SELECT TO authenticated
  USING (public.cl_has_org_access(organization_id));
CREATE POLICY pm_appointments_select ON public.pm_appointments FOR SELECT TO authenticated
  USING (public.cl_has_org_access(organization_id));
CREATE POLICY pm_encounters_select ON public.pm_encounters FOR SELECT TO authenticated
  USING (public.cl_has_org_access(organization_id));

CREATE POLICY cl_group_sessions_select ON public.cl_group_sessions FOR SELECT TO authenticated
  USING (public.cl_has_org_access(organization_id));
CREATE POLICY cl_group_sessions_insert ON public.cl_group_sessions FOR INSERT TO authenticated
  WITH CHECK (public.cl_has_org_access(organization_id));
CREATE POLICY cl_group_sessions_update ON public.cl_group_sessions FOR UPDATE TO authenticated
  USING (public.cl_has_org_access(organization_id))
  WITH CHECK (public.cl_has_org_access(organization_id));

-- Attendance names a patient in a group: Part 2 charts need consent.
CREATE POLICY cl_group_attendance_select ON public.cl_group_attendance FOR SELECT TO authenticated
  USING (public.cl_has_org_access(organization_id)
         AND public.cl_check_sud_consent(chart_id, 'group_session', auth.uid()));
CREATE POLICY cl_group_attendance_insert ON public.cl_group_attendance FOR INSERT TO authenticated
  WITH CHECK (public.cl_has_org_access(organization_id)
              AND public.cl_check_sud_consent(chart_id, 'group_session', auth.uid()));
CREATE POLICY cl_group_attendance_update ON public.cl_group_attendance FOR UPDATE TO authenticated
  USING (public.cl_has_org_access(organization_id)
         AND public.cl_check_sud_consent(chart_id, 'group_session', auth.uid()))
  WITH CHECK (public.cl_has_org_access(organization_id)
              AND public.cl_check_sud_consent(chart_id, 'group_session', auth.uid()));

CREATE POLICY cl_progress_notes_select ON public.cl_progress_notes FOR SELECT TO authenticated
  USING (public.cl_has_org_access(organization_id)
         AND public.cl_check_sud_consent(chart_id,
               CASE WHEN is_sud_counseling_note THEN 'sud_counseling_note' ELSE 'progress_note' END,
               auth.uid()));
CREATE POLICY cl_progress_notes_insert ON public.cl_progress_notes FOR INSERT TO authenticated
  WITH CHECK (public.cl_has_org_access(organization_id) AND author_id = auth.uid()
              AND public.cl_check_sud_consent(chart_id,
                    CASE WHEN is_sud_counseling_note THEN 'sud_counseling_note' ELSE 'progress_note' END,
                    auth.uid()));
CREATE POLICY cl_progress_notes_update ON public.cl_progress_notes FOR UPDATE TO authenticated
  USING (public.cl_has_org_access(organization_id)
         AND public.cl_check_sud_consent(chart_id,
               CASE WHEN is_sud_counseling_note THEN 'sud_counseling_note' ELSE 'progress_note' END,
               auth.uid()))
  WITH CHECK (public.cl_has_org_access(organization_id)
              AND public.cl_check_sud_consent(chart_id,
                    CASE WHEN is_sud_counseling_note THEN 'sud_counseling_note' ELSE 'progress_note' END,
                    auth.uid()));
