-- +goose Up
-- The library's rules over records other cores own (the host's tables, or
-- the stand-ins of schema/host): CL-04 progress notes, CL-14 group sessions
-- and attendance, PM-03 appointments and encounters, PM-13 telehealth
-- sessions. Row-level security forced, what `authenticated` may do, the
-- Part 2 policies, plausible times, and the functions the library reads
-- them through. A host's own tables get the same (host/CONTRACT.md).

ALTER TABLE public.cl_group_sessions ADD CONSTRAINT cl_group_sessions_plausible_times
  CHECK (public.pf_plausible_time(scheduled_start) AND public.pf_plausible_time(scheduled_end)
         AND (started_at IS NULL OR public.pf_plausible_time(started_at))
         AND (ended_at IS NULL OR public.pf_plausible_time(ended_at)));
ALTER TABLE public.cl_progress_notes ADD CONSTRAINT cl_progress_notes_plausible_times
  CHECK (public.pf_plausible_time(session_start) AND public.pf_plausible_time(session_end)
         AND (finalized_at IS NULL OR (public.pf_plausible_time(finalized_at) AND finalized_at >= session_start)));

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
  public.pm_appointments, public.pm_encounters, public.cl_progress_notes FROM PUBLIC, authenticated;
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

-- Every policy names the permission of its action (PF-30, granted to roles
-- by data); organization membership alone opens nothing clinical.
CREATE POLICY pm_telehealth_sessions_select ON public.pm_telehealth_sessions FOR SELECT TO authenticated
  USING (public.cl_has_permission(organization_id, 'pm.telehealth.view'));
-- Appointments and encounters of a Part 2 chart are Part 2 records (record
-- type appointment): read under a consent, after their accounting.
CREATE POLICY pm_appointments_select ON public.pm_appointments FOR SELECT TO authenticated
  USING (public.cl_has_site_permission(organization_id, site_id, 'pm.appointment.view')
         AND public.cl_check_sud_consent(chart_id, 'appointment', auth.uid())
         AND public.cl_part2_opened(organization_id, chart_id, 'appointment'));
CREATE POLICY pm_encounters_select ON public.pm_encounters FOR SELECT TO authenticated
  USING (public.cl_has_permission(organization_id, 'pm.appointment.view')
         AND public.cl_check_sud_consent(chart_id, 'appointment', auth.uid())
         AND public.cl_part2_opened(organization_id, chart_id, 'appointment'));

CREATE POLICY cl_group_sessions_select ON public.cl_group_sessions FOR SELECT TO authenticated
  USING (public.cl_has_site_permission(organization_id, site_id, 'cl.group.view'));
CREATE POLICY cl_group_sessions_insert ON public.cl_group_sessions FOR INSERT TO authenticated
  WITH CHECK (public.cl_has_site_permission(organization_id, site_id, 'cl.group.manage')
              AND public.cl_staff_holds(organization_id, facilitator_id, 'cl.group.facilitate'));
CREATE POLICY cl_group_sessions_update ON public.cl_group_sessions FOR UPDATE TO authenticated
  USING (public.cl_has_site_permission(organization_id, site_id, 'cl.group.manage'))
  WITH CHECK (public.cl_has_site_permission(organization_id, site_id, 'cl.group.manage')
              AND public.cl_staff_holds(organization_id, facilitator_id, 'cl.group.facilitate'));

-- Attendance names a patient in a group: Part 2 charts need consent, and
-- their rows open only with their accounting (cl_part2_opened; the
-- library's virtual-group reads write it through cl_group_disclose).
CREATE POLICY cl_group_attendance_select ON public.cl_group_attendance FOR SELECT TO authenticated
  USING (public.cl_has_permission(organization_id, 'cl.group.view')
         AND public.cl_check_sud_consent(chart_id, 'group_session', auth.uid())
         AND public.cl_part2_opened(organization_id, chart_id, 'group_session'));
CREATE POLICY cl_group_attendance_insert ON public.cl_group_attendance FOR INSERT TO authenticated
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.group.manage')
              AND public.cl_check_sud_consent(chart_id, 'group_session', auth.uid())
              AND public.cl_part2_opened(organization_id, chart_id, 'group_session'));
CREATE POLICY cl_group_attendance_update ON public.cl_group_attendance FOR UPDATE TO authenticated
  USING (public.cl_has_permission(organization_id, 'cl.group.manage')
         AND public.cl_check_sud_consent(chart_id, 'group_session', auth.uid())
         AND public.cl_part2_opened(organization_id, chart_id, 'group_session'))
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.group.manage')
              AND public.cl_check_sud_consent(chart_id, 'group_session', auth.uid()));

-- A note's record type for Part 2 purposes.
-- +goose StatementBegin
CREATE FUNCTION public.cl_progress_note_record_type(p_is_sud_counseling_note boolean) RETURNS text
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN CASE WHEN p_is_sud_counseling_note THEN 'sud_counseling_note' ELSE 'progress_note' END;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_progress_note_record_type(boolean) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_progress_note_record_type(boolean) TO authenticated;

-- Notes are written by their author only; a signed note is frozen (its
-- timing feeds HR's documentation-lag figures). A Part 2 chart's notes are
-- read after their disclosure is accounted for (cl_part2_disclosed with
-- record type progress_note or sud_counseling_note).
CREATE POLICY cl_progress_notes_select ON public.cl_progress_notes FOR SELECT TO authenticated
  USING (public.cl_has_site_permission(organization_id, site_id, 'cl.progress_note.view')
         AND public.cl_check_sud_consent(chart_id, public.cl_progress_note_record_type(is_sud_counseling_note), auth.uid())
         AND public.cl_part2_opened(organization_id, chart_id, public.cl_progress_note_record_type(is_sud_counseling_note)));
CREATE POLICY cl_progress_notes_insert ON public.cl_progress_notes FOR INSERT TO authenticated
  WITH CHECK (public.cl_has_site_permission(organization_id, site_id, 'cl.progress_note.write') AND author_id = auth.uid()
              AND status = 'draft'
              AND public.cl_check_sud_consent(chart_id, public.cl_progress_note_record_type(is_sud_counseling_note), auth.uid())
              AND public.cl_part2_opened(organization_id, chart_id, public.cl_progress_note_record_type(is_sud_counseling_note)));
CREATE POLICY cl_progress_notes_update ON public.cl_progress_notes FOR UPDATE TO authenticated
  USING (public.cl_has_site_permission(organization_id, site_id, 'cl.progress_note.write') AND author_id = auth.uid()
         AND status = 'draft'
         AND public.cl_check_sud_consent(chart_id, public.cl_progress_note_record_type(is_sud_counseling_note), auth.uid())
         AND public.cl_part2_opened(organization_id, chart_id, public.cl_progress_note_record_type(is_sud_counseling_note)))
  WITH CHECK (public.cl_has_site_permission(organization_id, site_id, 'cl.progress_note.write') AND author_id = auth.uid()
              AND public.cl_check_sud_consent(chart_id, public.cl_progress_note_record_type(is_sud_counseling_note), auth.uid()));

-- cl_group_disclose: account for a group's Part 2 attendees before they
-- are read or written (one part2.record.disclosed row per Part 2 chart the
-- caller may see, once per transaction and use), which, once committed,
-- opens them to the caller (cl_part2_opened). The whole session's
-- attendees when p_attendance_id is NULL, else that one attendee. Returns
-- how many rows it wrote.
-- +goose StatementBegin
CREATE FUNCTION public.cl_group_disclose(p_organization_id uuid, p_session_id uuid, p_attendance_id uuid, p_use text)
  RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_charts uuid[];
  BEGIN
    IF NOT public.cl_has_permission(p_organization_id, 'cl.group.view') THEN
      RETURN 0;
    END IF;
    -- The charts first, the accounting in a statement of its own (on Citus
    -- a statement that reads a distributed table runs on its worker, with
    -- whatever it calls).
    v_charts := ARRAY(SELECT a.chart_id FROM public.cl_group_attendance a
                      WHERE a.organization_id = p_organization_id
                        AND (a.session_id = p_session_id OR p_session_id IS NULL)
                        AND (a.id = p_attendance_id OR p_attendance_id IS NULL)
                        AND (p_session_id IS NOT NULL OR p_attendance_id IS NOT NULL));
    RETURN public.cl_part2_disclosed(p_organization_id, v_charts, 'group_session', 'TREAT', p_use);
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_group_disclose(uuid, uuid, uuid, text) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_group_disclose(uuid, uuid, uuid, text) TO authenticated;

-- Signing is stamped by the database (HR's documentation lag is measured
-- from it): a note signed by an acting user is signed now.
-- +goose StatementBegin
CREATE FUNCTION public.cl_progress_notes_sign() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF auth.uid() IS NOT NULL AND NEW.status = 'signed' AND OLD.status = 'draft' THEN
      NEW.finalized_at := pg_catalog.statement_timestamp();
    END IF;
    RETURN NEW;
  END
  $$;
-- +goose StatementEnd
CREATE TRIGGER cl_progress_notes_sign BEFORE UPDATE ON public.cl_progress_notes
  FOR EACH ROW EXECUTE FUNCTION public.cl_progress_notes_sign();
REVOKE ALL ON FUNCTION public.cl_progress_notes_sign() FROM PUBLIC, authenticated;

-- cl_pm_reference_ok: whether a UUID-only reference to a PM row (the
-- specifications forbid a foreign key across cores) names a row of the same
-- organization and, when p_chart_id is given and the PM table has charts,
-- of the same chart (a peer encounter bills onto its own patient's
-- encounter, never another's). Asked by a member of the organization only:
-- anyone else gets false, whether or not the row exists. A host without the
-- PM table gets true (nothing to check against).
-- +goose StatementBegin
CREATE FUNCTION public.cl_pm_reference_ok(p_organization_id uuid, p_table text, p_id uuid, p_chart_id uuid DEFAULT NULL)
  RETURNS boolean
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_found boolean;
  BEGIN
    IF p_table NOT IN ('pm_encounters', 'pm_telehealth_sessions', 'pm_appointments') THEN
      RAISE EXCEPTION 'not a PM table' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Which PM row belongs to which chart is clinical: a question naming a
    -- chart needs cl.chart.view.
    IF NOT public.cl_has_org_access(p_organization_id)
       OR (p_chart_id IS NOT NULL AND NOT public.cl_has_permission(p_organization_id, 'cl.chart.view')) THEN
      RETURN false;
    END IF;
    IF p_id IS NULL OR pg_catalog.to_regclass('public.' || p_table) IS NULL THEN
      RETURN true;
    END IF;
    -- A statement per table, planned once per session (a table a host
    -- lacks is never reached: to_regclass above).
    CASE p_table
      WHEN 'pm_encounters' THEN
        v_found := EXISTS (SELECT 1 FROM public.pm_encounters x WHERE x.organization_id = p_organization_id AND x.id = p_id
                             AND (p_chart_id IS NULL OR x.chart_id = p_chart_id));
      WHEN 'pm_appointments' THEN
        v_found := EXISTS (SELECT 1 FROM public.pm_appointments x WHERE x.organization_id = p_organization_id AND x.id = p_id
                             AND (p_chart_id IS NULL OR x.chart_id = p_chart_id));
      ELSE
        v_found := EXISTS (SELECT 1 FROM public.pm_telehealth_sessions x WHERE x.organization_id = p_organization_id AND x.id = p_id);
    END CASE;
    RETURN v_found;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_pm_reference_ok(uuid, text, uuid, uuid) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_pm_reference_ok(uuid, text, uuid, uuid) TO authenticated;
