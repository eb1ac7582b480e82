-- +goose Up
-- CL-55 virtual and hybrid group sessions. We store clinical documentation
-- and suggestions; PM-13 owns vendors, join URLs and its session lifecycle,
-- PM-07 owns charges. Configuration is an ordinary (policy-checked) write;
-- the lifecycle and recording move only through SECURITY DEFINER functions
-- that check their own permission, so no grant lets a user set a state.

-- The seed's contract: a UUID-only reference to pm_telehealth_sessions.id,
-- no foreign key. Written only by the metadata trigger below.
ALTER TABLE public.cl_group_sessions ADD COLUMN pm_telehealth_session_id uuid;
CREATE TRIGGER cl_group_sessions_initial BEFORE INSERT ON public.cl_group_sessions
  FOR EACH ROW EXECUTE FUNCTION public.pf_initial_values('{"started_at": null, "ended_at": null, "pm_telehealth_session_id": null}');

-- An opaque identifier, by an allow-list of what one looks like: 1 to 64
-- letters and digits, with '_' and '-' between them. No ':' (so no scheme:
-- sms:, callto:, javascript: ...), no '.', '/' or '@' (so no host, path or
-- address), and none of the well-known credential prefixes. The Go API
-- applies the same rule (telehealthgroup.OpaqueReference).
-- +goose StatementBegin
CREATE FUNCTION public.cl_is_opaque_reference(p_value text) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN p_value ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'
       AND p_value !~ '^(eyJ|sk_|sk-|pk_live|rk_live|ghp_|gho_|github_pat_|glpat-|xox[abpr]-|xapp-|AKIA|ASIA|AIza)';
  END
  $$;
-- +goose StatementEnd

CREATE TABLE public.cl_group_session_telehealth_metadata (
  organization_id          uuid NOT NULL,
  session_id               uuid NOT NULL,
  modality                 text NOT NULL CHECK (modality IN ('virtual', 'hybrid')),
  pm_telehealth_session_id uuid,
  vendor_session_ref       text CHECK (public.cl_is_opaque_reference(vendor_session_ref)),
  contingency_fallback     text NOT NULL DEFAULT 'audio_only'
                           CHECK (contingency_fallback IN ('audio_only', 'in_person', 'reschedule', 'end_session')),
  contingency_contact      text NOT NULL DEFAULT 'facilitator_calls_participants'
                           CHECK (contingency_contact IN ('facilitator_calls_participants', 'participants_call_program', 'program_staff_calls_participants')),
  recording_state          text NOT NULL DEFAULT 'not_recorded' CHECK (recording_state IN ('not_recorded', 'recording', 'stopped')),
  -- The PF-96 profile the charge figures follow (NULL: 'default').
  jurisdiction_profile     text CONSTRAINT cl_group_session_telehealth_metadata_profile_fkey
                           REFERENCES public.pf_jurisdiction_profiles (code),
  -- The PM-04 schedule the host's scheduling named at the start.
  schedule_id              uuid,
  state                    text NOT NULL DEFAULT 'scheduled' CHECK (state IN ('scheduled', 'started', 'concluded')),
  started_at               timestamptz,
  concluded_at             timestamptz,
  start_correlation_id     uuid,
  conclude_correlation_id  uuid,
  -- When the last transition happened (set only by cl_virtual_group_transition):
  -- its event may be published only in that transaction.
  transitioned_at          timestamptz,
  updated_by               uuid NOT NULL,
  updated_at               timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (organization_id, session_id),
  CONSTRAINT cl_group_session_telehealth_metadata_session_fkey FOREIGN KEY (organization_id, session_id)
    REFERENCES public.cl_group_sessions (organization_id, id),
  CHECK ((state = 'scheduled') = (started_at IS NULL)),
  CHECK ((state = 'concluded') = (concluded_at IS NOT NULL)),
  CHECK (concluded_at IS NULL OR concluded_at > started_at),
  CHECK (recording_state = 'not_recorded' OR state <> 'scheduled')
);

-- How each attendee takes part: billing differs per attendee.
CREATE TABLE public.cl_group_attendance_modes (
  organization_id uuid NOT NULL,
  attendance_id   uuid NOT NULL,
  session_id      uuid NOT NULL,
  mode            text NOT NULL CHECK (mode IN ('in_person', 'video', 'audio_only')),
  at_home         boolean NOT NULL DEFAULT false,
  joined_at       timestamptz,
  left_at         timestamptz,
  updated_by      uuid NOT NULL,
  PRIMARY KEY (organization_id, attendance_id),
  FOREIGN KEY (organization_id, session_id, attendance_id) REFERENCES public.cl_group_attendance (organization_id, session_id, id),
  CONSTRAINT cl_group_attendance_modes_virtual_fkey FOREIGN KEY (organization_id, session_id)
    REFERENCES public.cl_group_session_telehealth_metadata (organization_id, session_id),
  CHECK (left_at IS NULL OR joined_at IS NULL OR left_at >= joined_at),
  CHECK ((joined_at IS NULL OR public.pf_plausible_time(joined_at)) AND (left_at IS NULL OR public.pf_plausible_time(left_at))),
  CHECK (mode <> 'in_person' OR NOT at_home)
);
CREATE INDEX cl_group_attendance_modes_session_idx ON public.cl_group_attendance_modes (organization_id, session_id);

-- Recording consent evidence: one row per decision, append-only (no
-- UPDATE or DELETE grant, and nothing but the decision is insertable: the
-- time and the order are the database's).
CREATE TABLE public.cl_group_recording_consents (
  organization_id uuid NOT NULL,
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  session_id      uuid NOT NULL,
  attendance_id   uuid NOT NULL,
  -- The attendee's decisions in order, 1, 2, ...: the latest one counts
  -- (cl_group_recording_granted). Numbered by the database.
  decision_no     integer NOT NULL CHECK (decision_no >= 1),
  decision        text NOT NULL CHECK (decision IN ('granted', 'declined', 'withdrawn')),
  method          text NOT NULL CHECK (method IN ('verbal', 'written', 'electronic')),
  captured_by     uuid NOT NULL,
  captured_at     timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, session_id, attendance_id) REFERENCES public.cl_group_attendance (organization_id, session_id, id)
);
CREATE UNIQUE INDEX cl_group_recording_consents_attendance_idx
  ON public.cl_group_recording_consents (organization_id, attendance_id, decision_no);

-- Whether an attendee's latest recording decision is a grant.
-- +goose StatementBegin
CREATE FUNCTION public.cl_group_recording_granted(p_organization_id uuid, p_attendance_id uuid) RETURNS boolean
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN coalesce((SELECT r.decision = 'granted' FROM public.cl_group_recording_consents r
                     WHERE r.organization_id = p_organization_id AND r.attendance_id = p_attendance_id
                     ORDER BY r.decision_no DESC LIMIT 1), false);
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_group_recording_granted(uuid, uuid) FROM PUBLIC, authenticated;

-- Technology failures: an append-only log per session.
CREATE TABLE public.cl_group_technology_failures (
  organization_id            uuid NOT NULL,
  id                         uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  session_id                 uuid NOT NULL,
  kind                       text NOT NULL CHECK (kind IN ('video_outage', 'audio_outage', 'platform_outage', 'participant_connection', 'other')),
  started_at                 timestamptz NOT NULL,
  ended_at                   timestamptz NOT NULL,
  affected_participant_count integer NOT NULL CHECK (affected_participant_count >= 0),
  action_taken               text NOT NULL CHECK (action_taken IN ('switched_to_audio', 'reconnected', 'continued', 'rescheduled', 'ended_session')),
  -- The one attendee the failure affected (a participant's connection), if
  -- it affected one: their billable minutes lose the failure's span unless
  -- the service went on (switched_to_audio, continued).
  affected_attendance_id     uuid,
  recorded_by                uuid NOT NULL,
  recorded_at                timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  PRIMARY KEY (organization_id, id),
  CONSTRAINT cl_group_technology_failures_virtual_fkey FOREIGN KEY (organization_id, session_id)
    REFERENCES public.cl_group_session_telehealth_metadata (organization_id, session_id),
  CONSTRAINT cl_group_technology_failures_attendee_fkey FOREIGN KEY (organization_id, session_id, affected_attendance_id)
    REFERENCES public.cl_group_attendance (organization_id, session_id, id),
  CHECK (ended_at > started_at),
  CHECK (public.pf_plausible_time(started_at) AND public.pf_plausible_time(ended_at)),
  CHECK (ended_at <= recorded_at + interval '1 minute')
);
CREATE INDEX cl_group_technology_failures_session_idx ON public.cl_group_technology_failures (organization_id, session_id);

-- How an attendee takes part, over time: each switch (video to audio only
-- when the video fails, a remote attendee arriving in the room) recorded as
-- it happens, append-only. The mode before the first switch is the
-- attendance mode's.
CREATE TABLE public.cl_group_mode_switches (
  organization_id uuid NOT NULL,
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  session_id      uuid NOT NULL,
  attendance_id   uuid NOT NULL,
  switched_at     timestamptz NOT NULL CHECK (public.pf_plausible_time(switched_at)),
  mode            text NOT NULL CHECK (mode IN ('in_person', 'video', 'audio_only')),
  at_home         boolean NOT NULL DEFAULT false,
  recorded_by     uuid NOT NULL,
  recorded_at     timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  PRIMARY KEY (organization_id, id),
  CONSTRAINT cl_group_mode_switches_attendance_fkey FOREIGN KEY (organization_id, attendance_id)
    REFERENCES public.cl_group_attendance_modes (organization_id, attendance_id),
  FOREIGN KEY (organization_id, session_id, attendance_id) REFERENCES public.cl_group_attendance (organization_id, session_id, id),
  CHECK (mode <> 'in_person' OR NOT at_home)
);
CREATE UNIQUE INDEX cl_group_mode_switches_attendance_idx ON public.cl_group_mode_switches (organization_id, attendance_id, switched_at);

-- Whether a patient may take part in a virtual group run by p_user: a
-- chart that is not Part 2, or a current consent that names virtual group
-- participation explicitly ('*' does not count, see
-- cl_part2_needs_explicit_consent), for treatment, addressed to p_user or to
-- an organization p_user is an active member of. The internal form is for
-- the library's definer code; the public ones answer only callers who
-- manage virtual groups in the chart's organization, so that nobody else
-- can learn whether such a consent exists.
-- +goose StatementBegin
CREATE FUNCTION public.cl_group_participation_covered(p_organization_id uuid, p_chart_id uuid, p_user uuid) RETURNS boolean
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_part2 boolean;
    v_site  uuid;
  BEGIN
    SELECT c.is_part2, c.site_id INTO v_part2, v_site FROM public.cl_charts c
    WHERE c.organization_id = p_organization_id AND c.id = p_chart_id;
    -- To anyone without clinical access to the chart every chart answers
    -- alike (Part 2 status is private).
    IF NOT FOUND OR p_user IS NULL
       OR NOT public.cl_member_has_permission(p_organization_id, p_user, 'cl.chart.view', v_site) THEN
      RETURN false;
    END IF;
    RETURN NOT v_part2
        OR public.cl_part2_consent_covers(p_chart_id, p_organization_id, 'virtual_group_participation', p_user,
                                          pg_catalog.statement_timestamp(), 'TREAT');
  END
  $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION public.cl_group_participation_consented(p_organization_id uuid, p_chart_id uuid) RETURNS boolean
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN public.cl_has_permission(p_organization_id, 'cl.group.virtual.manage')
       AND public.cl_group_participation_covered(p_organization_id, p_chart_id, auth.uid());
  END
  $$;
-- +goose StatementEnd

-- The chart of an attendance row of the organization (NULL for none), for
-- the library's definer code.
-- +goose StatementBegin
CREATE FUNCTION public.cl_group_attendance_chart(p_organization_id uuid, p_attendance_id uuid) RETURNS uuid
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN (SELECT a.chart_id FROM public.cl_group_attendance a
            WHERE a.organization_id = p_organization_id AND a.id = p_attendance_id);
  END
  $$;
-- +goose StatementEnd

-- The same for an attendance row of the organization.
-- +goose StatementBegin
CREATE FUNCTION public.cl_group_attendee_consented(p_organization_id uuid, p_attendance_id uuid) RETURNS boolean
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_chart uuid := public.cl_group_attendance_chart(p_organization_id, p_attendance_id);
  BEGIN
    RETURN v_chart IS NOT NULL AND public.cl_group_participation_consented(p_organization_id, v_chart);
  END
  $$;
-- +goose StatementEnd

-- Whether an attendance row of the organization is visible to the caller
-- under its own policy (the chart's Part 2 consent), for the per-attendee
-- tables' policies.
-- +goose StatementBegin
CREATE FUNCTION public.cl_group_attendance_visible(p_organization_id uuid, p_attendance_id uuid) RETURNS boolean
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_chart uuid := public.cl_group_attendance_chart(p_organization_id, p_attendance_id);
  BEGIN
    RETURN v_chart IS NOT NULL AND public.cl_has_permission(p_organization_id, 'cl.group.view')
       AND public.cl_check_sud_consent(v_chart, 'group_session', auth.uid())
       AND public.cl_part2_opened(p_organization_id, v_chart, 'group_session');
  END
  $$;
-- +goose StatementEnd

-- cl_group_attendees: a session's attendees with their modes, as the
-- attendance and mode policies would show them to the caller after the
-- accounting, decided once per query instead of per row, and accounting
-- for itself: cl.group.view and cl.group.virtual.view once, and the
-- session's charts in one call of cl_part2_account (the seed's rule for a
-- treatment display, and the lines of its Part 2 charts where none stands:
-- those charts' attendees appear once the lines have committed, and the
-- library, seeing that the transaction wrote, reads again). By attendance
-- id.
-- +goose StatementBegin
CREATE FUNCTION public.cl_group_attendees(p_organization_id uuid, p_session_id uuid)
  RETURNS TABLE (attendance_id uuid, chart_id uuid, status text, mode text, at_home boolean, joined_at timestamptz,
                 left_at timestamptz)
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_open uuid[];
  BEGIN
    IF NOT public.cl_has_permission(p_organization_id, 'cl.group.view')
       OR NOT public.cl_has_permission(p_organization_id, 'cl.group.virtual.view') THEN
      RETURN;
    END IF;
    -- The charts first, the accounting in a statement of its own (as
    -- cl_group_disclose).
    v_open := ARRAY(SELECT a.chart_id FROM public.cl_group_attendance a
                    WHERE a.organization_id = p_organization_id AND a.session_id = p_session_id);
    v_open := (public.cl_part2_account(p_organization_id, v_open, 'group_session', 'TREAT', 'display', true)).open_charts;
    RETURN QUERY
      SELECT a.id, a.chart_id, a.status, m.mode, m.at_home, m.joined_at, m.left_at
      FROM public.cl_group_attendance a
      JOIN public.cl_group_attendance_modes m ON m.organization_id = a.organization_id AND m.attendance_id = a.id
      WHERE a.organization_id = p_organization_id AND a.session_id = p_session_id
        AND m.organization_id = p_organization_id AND m.session_id = p_session_id
        AND a.chart_id = ANY (v_open)
      ORDER BY a.id;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_group_attendees(uuid, uuid) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_group_attendees(uuid, uuid) TO authenticated;

-- The one refusal of a change to a concluded virtual group (its
-- configuration, attendance, modes, switches and failures): wrong state,
-- naming the column "state" (the library's ErrAlreadyConcluded).
-- +goose StatementBegin
CREATE FUNCTION public.cl_virtual_group_refuse_concluded(p_state text, p_what text) RETURNS void
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF p_state = 'concluded' THEN
      RAISE EXCEPTION 'a concluded virtual group''s % cannot change (state)', p_what
        USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_virtual_group_refuse_concluded(text, text) FROM PUBLIC, authenticated;

-- Configuration guard: nothing changes after the conclusion, the modality
-- not after the start (whoever writes: the library's definer functions
-- included), and the PM-13 reference must be a telehealth session of the
-- organization. Each refusal names its column, which the library maps to
-- its error. The reference is checked for managers only: to anyone else the
-- policy refuses every write alike.
-- +goose StatementBegin
CREATE FUNCTION public.cl_virtual_group_metadata_guard() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF auth.uid() IS NOT NULL THEN
      IF TG_OP = 'UPDATE' THEN
        PERFORM public.cl_virtual_group_refuse_concluded(OLD.state, 'configuration');
      END IF;
      IF TG_OP = 'UPDATE' AND OLD.state = 'started' AND NEW.modality <> OLD.modality THEN
        RAISE EXCEPTION 'the modality of a started group cannot change (modality)' USING ERRCODE = 'object_not_in_prerequisite_state';
      END IF;
      IF TG_OP = 'UPDATE' AND OLD.state = 'started' AND NEW.jurisdiction_profile IS DISTINCT FROM OLD.jurisdiction_profile THEN
        RAISE EXCEPTION 'the jurisdiction profile of a started group cannot change (modality)'
          USING ERRCODE = 'object_not_in_prerequisite_state';
      END IF;
      IF NEW.modality = 'virtual' AND EXISTS (
           SELECT 1 FROM public.cl_group_attendance_modes x
           WHERE x.organization_id = NEW.organization_id AND x.session_id = NEW.session_id AND x.mode = 'in_person') THEN
        RAISE EXCEPTION 'a group with an attendee in the room is hybrid (in_person_attendees)' USING ERRCODE = 'check_violation';
      END IF;
      IF public.cl_has_permission(NEW.organization_id, 'cl.group.virtual.manage')
         AND NOT public.cl_pm_reference_ok(NEW.organization_id, 'pm_telehealth_sessions', NEW.pm_telehealth_session_id) THEN
        RAISE EXCEPTION 'is not a telehealth session of the organization (pm_telehealth_session_id)' USING ERRCODE = 'foreign_key_violation';
      END IF;
    END IF;
    NEW.updated_at := pg_catalog.now();
    RETURN NEW;
  END
  $$;
-- +goose StatementEnd
CREATE TRIGGER cl_virtual_group_metadata_guard BEFORE INSERT OR UPDATE ON public.cl_group_session_telehealth_metadata
  FOR EACH ROW EXECUTE FUNCTION public.cl_virtual_group_metadata_guard();
-- Once the metadata is written, its PM-13 reference is copied to the group
-- session (whose guard checks it against the metadata).
-- +goose StatementBegin
CREATE FUNCTION public.cl_virtual_group_metadata_copy() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    UPDATE public.cl_group_sessions SET pm_telehealth_session_id = NEW.pm_telehealth_session_id
    WHERE organization_id = NEW.organization_id AND id = NEW.session_id
      AND pm_telehealth_session_id IS DISTINCT FROM NEW.pm_telehealth_session_id;
    RETURN NULL;
  END
  $$;
-- +goose StatementEnd
CREATE TRIGGER cl_virtual_group_metadata_copy AFTER INSERT OR UPDATE ON public.cl_group_session_telehealth_metadata
  FOR EACH ROW EXECUTE FUNCTION public.cl_virtual_group_metadata_copy();
REVOKE ALL ON FUNCTION public.cl_virtual_group_metadata_copy() FROM PUBLIC, authenticated;

-- A virtual group's lifecycle on its CL-14 session (status, start, end,
-- PM-13 reference) follows its telehealth metadata, which moves only
-- through the library's definer functions: whether these values are what
-- the metadata says (for a session without metadata, a plain group, what a
-- caller who manages groups sets). Decided by the rows, not by who runs
-- the statement (on Citus a worker cannot tell).
-- +goose StatementBegin
CREATE FUNCTION public.cl_group_lifecycle_follows(
  p_organization_id uuid, p_session_id uuid, p_status text, p_started_at timestamptz, p_ended_at timestamptz,
  p_pm_telehealth_session_id uuid
) RETURNS boolean
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    m public.cl_group_session_telehealth_metadata;
  BEGIN
    SELECT * INTO m FROM public.cl_group_session_telehealth_metadata x
    WHERE x.organization_id = p_organization_id AND x.session_id = p_session_id;
    IF NOT FOUND THEN
      RETURN public.cl_has_permission(p_organization_id, 'cl.group.manage');
    END IF;
    RETURN coalesce(p_pm_telehealth_session_id IS NOT DISTINCT FROM m.pm_telehealth_session_id
       AND CASE m.state
             WHEN 'started' THEN p_status = 'in_progress' AND p_started_at IS NOT DISTINCT FROM m.started_at AND p_ended_at IS NULL
             WHEN 'concluded' THEN p_status = 'completed' AND p_started_at IS NOT DISTINCT FROM m.started_at
                                   AND p_ended_at IS NOT DISTINCT FROM m.concluded_at
             ELSE p_started_at IS NULL AND p_ended_at IS NULL AND p_status = 'scheduled'
           END, false);
  END
  $$;
-- +goose StatementEnd

-- Whether the caller may still log failures of a session: it manages
-- virtual groups and the session has not concluded.
-- +goose StatementBegin
CREATE FUNCTION public.cl_virtual_group_open(p_organization_id uuid, p_session_id uuid) RETURNS boolean
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN public.cl_has_permission(p_organization_id, 'cl.group.virtual.manage') AND NOT EXISTS (
      SELECT 1 FROM public.cl_group_session_telehealth_metadata m
      WHERE m.organization_id = p_organization_id AND m.session_id = p_session_id AND m.state = 'concluded');
  END
  $$;
-- +goose StatementEnd

-- Without an acting user it is the host's maintenance (any other role
-- without claims holds no permission, so the policies refused it already).
-- +goose StatementBegin
CREATE FUNCTION public.cl_virtual_group_session_guard() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF auth.uid() IS NOT NULL
       AND (NEW.status, NEW.started_at, NEW.ended_at, NEW.pm_telehealth_session_id)
           IS DISTINCT FROM (OLD.status, OLD.started_at, OLD.ended_at, OLD.pm_telehealth_session_id)
       AND NOT public.cl_group_lifecycle_follows(NEW.organization_id, NEW.id, NEW.status, NEW.started_at, NEW.ended_at,
                                                 NEW.pm_telehealth_session_id) THEN
      PERFORM public.pf_refuse(NEW.organization_id, 'group_session.lifecycle', 'group_session', NEW.id,
        'a virtual group''s lifecycle changes through Start and Conclude only');
    END IF;
    RETURN NEW;
  END
  $$;
-- +goose StatementEnd
CREATE TRIGGER cl_virtual_group_session_guard BEFORE UPDATE ON public.cl_group_sessions
  FOR EACH ROW EXECUTE FUNCTION public.cl_virtual_group_session_guard();

-- The attendance of a virtual or hybrid group is managed with
-- cl.group.virtual.manage (so that nobody else learns anything from a
-- refusal), and an attendee who is expected or present needs the
-- participation consent (at add, and again when made present: it may have
-- been revoked); while the session is recorded, a present attendee needs a
-- current recording grant.
-- +goose StatementBegin
CREATE FUNCTION public.cl_virtual_group_attendance_guard() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_recording text;
    v_state     text;
  BEGIN
    -- This trigger runs before the policies: to a caller who may not manage
    -- attendance at all (another organization's member included) it says
    -- nothing, and the policy refuses every session alike. No acting user
    -- is the owner's maintenance (any other role without claims holds no
    -- permission, so the policies refuse it).
    IF auth.uid() IS NULL OR NOT public.cl_has_permission(NEW.organization_id, 'cl.group.manage') THEN
      RETURN NEW;
    END IF;
    SELECT m.recording_state, m.state INTO v_recording, v_state FROM public.cl_group_session_telehealth_metadata m
    WHERE m.organization_id = NEW.organization_id AND m.session_id = NEW.session_id;
    IF NOT FOUND THEN
      RETURN NEW; -- not a virtual group
    END IF;
    IF NOT public.cl_has_permission(NEW.organization_id, 'cl.group.virtual.manage') THEN
      PERFORM public.pf_refuse(NEW.organization_id, 'group_attendance.manage', 'group_session', NEW.session_id,
        'managing a virtual group''s attendance needs cl.group.virtual.manage');
    END IF;
    PERFORM public.cl_virtual_group_refuse_concluded(v_state, 'attendance');
    IF (TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status) AND NEW.status IN ('expected', 'present')
       AND NOT public.cl_group_participation_covered(NEW.organization_id, NEW.chart_id, auth.uid()) THEN
      PERFORM public.pf_refuse(NEW.organization_id, 'group_attendance.consent', 'group_session', NEW.session_id,
        'no consent to virtual group participation');
    END IF;
    IF v_recording = 'recording' AND NEW.status = 'present' AND (TG_OP = 'INSERT' OR OLD.status <> 'present')
       AND NOT public.cl_group_recording_granted(NEW.organization_id, NEW.id) THEN
      RAISE EXCEPTION 'the session is being recorded: the attendee has not granted recording' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  END
  $$;
-- +goose StatementEnd
CREATE TRIGGER cl_virtual_group_attendance_guard BEFORE INSERT OR UPDATE ON public.cl_group_attendance
  FOR EACH ROW EXECUTE FUNCTION public.cl_virtual_group_attendance_guard();

-- The counts of a session over every attendance row (as the definer: the
-- caller may not see every Part 2 attendee, and counts hold no identity).
-- +goose StatementBegin
CREATE FUNCTION public.cl_virtual_group_counts(p_organization_id uuid, p_session_id uuid,
  OUT expected_or_present integer, OUT present integer, OUT without_consent integer)
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    SELECT (count(*) FILTER (WHERE a.status IN ('expected', 'present')))::int,
           (count(*) FILTER (WHERE a.status = 'present'))::int,
           (count(*) FILTER (WHERE a.status IN ('expected', 'present')
                             AND NOT public.cl_group_participation_covered(a.organization_id, a.chart_id, auth.uid())))::int
      INTO expected_or_present, present, without_consent
    FROM public.cl_group_attendance a
    WHERE a.organization_id = p_organization_id AND a.session_id = p_session_id;
  END
  $$;
-- +goose StatementEnd

-- The present attendees' lines for charge suggestions: attendance id and
-- how they took part, never a chart. For users who may conclude; a Part 2
-- attendee's line only to one who may see the attendance (under consent,
-- its accounting committed).
-- +goose StatementBegin
CREATE FUNCTION public.cl_virtual_group_present_lines(p_organization_id uuid, p_session_id uuid)
  RETURNS TABLE (attendance_id uuid, mode text, at_home boolean, modifiers text[], place_of_service text)
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_profile uuid := public.cl_virtual_group_profile(p_organization_id, p_session_id);
    v_day     date := public.cl_virtual_group_service_date(p_organization_id, p_session_id);
  BEGIN
    IF NOT public.cl_has_permission(p_organization_id, 'cl.group.virtual.conclude') THEN
      RETURN;
    END IF;
    RETURN QUERY SELECT a.id, m.mode, m.at_home, s.modifiers, s.place_of_service
      FROM public.cl_group_attendance a
      JOIN public.cl_group_attendance_modes m ON m.organization_id = a.organization_id AND m.attendance_id = a.id
      CROSS JOIN LATERAL public.pf_jurisdiction_suggest(v_profile, v_day, true, m.mode, m.at_home) s
      WHERE a.organization_id = p_organization_id AND a.session_id = p_session_id AND a.status = 'present'
        AND m.organization_id = p_organization_id
        -- a Part 2 attendee's line only under consent, once accounted for
        AND public.cl_group_attendance_visible(p_organization_id, a.id)
      ORDER BY a.id;
  END
  $$;
-- +goose StatementEnd

-- A virtual group's PF-96 profile (its own, or 'default') and service date:
-- the day it started in the organization's time zone (the one the library
-- keeps, hr_productivity_settings.time_zone; UTC when none is set), so that
-- an evening session is billed on its own day and under that day's rules.
-- +goose StatementBegin
CREATE FUNCTION public.cl_virtual_group_profile(p_organization_id uuid, p_session_id uuid) RETURNS uuid
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN (SELECT p.id FROM public.cl_group_session_telehealth_metadata m
            JOIN public.pf_jurisdiction_profiles p ON p.code = coalesce(m.jurisdiction_profile, 'default')
            WHERE m.organization_id = p_organization_id AND m.session_id = p_session_id);
  END
  $$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION public.cl_virtual_group_service_date(p_organization_id uuid, p_session_id uuid) RETURNS date
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN (SELECT (m.started_at AT TIME ZONE coalesce((SELECT s.time_zone FROM public.hr_productivity_settings s
                                                        WHERE s.organization_id = p_organization_id), 'UTC'))::date
            FROM public.cl_group_session_telehealth_metadata m
            WHERE m.organization_id = p_organization_id AND m.session_id = p_session_id);
  END
  $$;
-- +goose StatementEnd

-- The spans no service was delivered to anyone: failures during which the
-- whole platform was down, or after which the session was ended or
-- rescheduled. Other failures (the group went on by audio, a participant
-- reconnected) interrupt the whole session's billable time for no one.
-- +goose StatementBegin
CREATE FUNCTION public.cl_virtual_group_interruptions(p_organization_id uuid, p_session_id uuid) RETURNS tstzmultirange
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN coalesce((SELECT pg_catalog.range_agg(pg_catalog.tstzrange(f.started_at, f.ended_at))
                     FROM public.cl_group_technology_failures f
                     WHERE f.organization_id = p_organization_id AND f.session_id = p_session_id
                       AND (f.kind = 'platform_outage' OR f.action_taken IN ('ended_session', 'rescheduled'))),
                    '{}'::tstzmultirange);
  END
  $$;
-- +goose StatementEnd

-- Whole minutes in a set of time spans.
-- +goose StatementBegin
CREATE FUNCTION public.cl_minutes(p_spans tstzmultirange) RETURNS integer
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN (SELECT coalesce(pg_catalog.floor(EXTRACT(EPOCH FROM pg_catalog.sum(pg_catalog.upper(r) - pg_catalog.lower(r))) / 60), 0)::integer
            FROM pg_catalog.unnest(p_spans) AS r);
  END
  $$;
-- +goose StatementEnd

-- The billable minutes of a concluded session: from start to conclusion,
-- less the interruptions, in whole minutes.
-- +goose StatementBegin
CREATE FUNCTION public.cl_virtual_group_billable_minutes(p_organization_id uuid, p_session_id uuid) RETURNS integer
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN public.cl_minutes((SELECT pg_catalog.tstzmultirange(pg_catalog.tstzrange(m.started_at, m.concluded_at))
                                     OPERATOR(pg_catalog.-) public.cl_virtual_group_interruptions(p_organization_id, p_session_id)
                              FROM public.cl_group_session_telehealth_metadata m
                              WHERE m.organization_id = p_organization_id AND m.session_id = p_session_id AND m.state = 'concluded'));
  END
  $$;
-- +goose StatementEnd

-- One attendee's billable time in a concluded session: from joining (or
-- the start) to leaving (or the conclusion), less the session's
-- interruptions, the failures that affected this attendee, and, while the
-- attendee took part remotely, the group's video or audio outages, unless
-- the service went on (switched to audio, continued).
-- +goose StatementBegin
CREATE FUNCTION public.cl_virtual_group_attendee_time(p_organization_id uuid, p_session_id uuid, p_attendance_id uuid)
  RETURNS tstzmultirange
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_from timestamptz;
    v_to   timestamptz;
  BEGIN
    SELECT GREATEST(m.started_at, coalesce(x.joined_at, m.started_at)), LEAST(m.concluded_at, coalesce(x.left_at, m.concluded_at))
      INTO v_from, v_to
    FROM public.cl_group_session_telehealth_metadata m
    JOIN public.cl_group_attendance_modes x ON x.organization_id = m.organization_id AND x.session_id = m.session_id
    WHERE m.organization_id = p_organization_id AND m.session_id = p_session_id AND m.state = 'concluded'
      AND x.organization_id = p_organization_id AND x.attendance_id = p_attendance_id;
    IF v_from IS NULL OR v_to IS NULL OR v_to <= v_from THEN
      RETURN '{}'::tstzmultirange;
    END IF;
    RETURN pg_catalog.tstzmultirange(pg_catalog.tstzrange(v_from, v_to))
           OPERATOR(pg_catalog.-) public.cl_virtual_group_interruptions(p_organization_id, p_session_id)
           OPERATOR(pg_catalog.-) coalesce((SELECT pg_catalog.range_agg(pg_catalog.tstzrange(f.started_at, f.ended_at))
                                            FROM public.cl_group_technology_failures f
                                            WHERE f.organization_id = p_organization_id AND f.session_id = p_session_id
                                              AND f.affected_attendance_id = p_attendance_id
                                              AND f.action_taken NOT IN ('switched_to_audio', 'continued')),
                                           '{}'::tstzmultirange)
           OPERATOR(pg_catalog.-) (coalesce((SELECT pg_catalog.range_agg(pg_catalog.tstzrange(f.started_at, f.ended_at))
                                             FROM public.cl_group_technology_failures f
                                             WHERE f.organization_id = p_organization_id AND f.session_id = p_session_id
                                               AND f.affected_attendance_id IS NULL AND f.kind IN ('video_outage', 'audio_outage')
                                               AND f.action_taken NOT IN ('switched_to_audio', 'continued')),
                                            '{}'::tstzmultirange)
                                   OPERATOR(pg_catalog.*) coalesce((SELECT pg_catalog.range_agg(s.span)
                                                                    FROM public.cl_virtual_group_attendee_modes(p_organization_id, p_attendance_id) s
                                                                    WHERE s.mode <> 'in_person' AND NOT pg_catalog.isempty(s.span)),
                                                                   '{}'::tstzmultirange));
  END
  $$;
-- +goose StatementEnd

-- How an attendee took part over time: each mode with the span it lasted
-- (the attendance mode from the start, then each switch in order).
-- +goose StatementBegin
CREATE FUNCTION public.cl_virtual_group_attendee_modes(p_organization_id uuid, p_attendance_id uuid)
  RETURNS TABLE (mode text, at_home boolean, span tstzrange)
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN QUERY
      SELECT t.mode, t.at_home,
             pg_catalog.tstzrange(t.since, pg_catalog.lead(t.since, 1, 'infinity'::timestamptz) OVER (ORDER BY t.since, t.n))
      FROM (SELECT x.mode, x.at_home, '-infinity'::timestamptz AS since, 0::bigint AS n
            FROM public.cl_group_attendance_modes x
            WHERE x.organization_id = p_organization_id AND x.attendance_id = p_attendance_id
            UNION ALL
            SELECT w.mode, w.at_home, w.switched_at, pg_catalog.row_number() OVER (ORDER BY w.switched_at, w.recorded_at)
            FROM public.cl_group_mode_switches w
            WHERE w.organization_id = p_organization_id AND w.attendance_id = p_attendance_id) t
      ORDER BY t.since, t.n;
  END
  $$;
-- +goose StatementEnd

-- cl_virtual_group_publish_charge_lines: with a session's concluded event
-- (p_concluded, as stored), publish one cl_virtual_group_charge_line per
-- present attendee, every figure computed here. A Part 2 chart's line only
-- under a current consent to disclosure for payment (HPAYMT) to the
-- organization, with the DS4P labels, and written in the chart's
-- accounting of disclosures. Returns how many lines it published.
-- +goose StatementBegin
CREATE FUNCTION public.cl_virtual_group_publish_charge_lines(p_organization_id uuid, p_session_id uuid, p_concluded jsonb)
  RETURNS integer
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_profile uuid := public.cl_virtual_group_profile(p_organization_id, p_session_id);
    v_day     date := public.cl_virtual_group_service_date(p_organization_id, p_session_id);
    v_now     timestamptz := pg_catalog.statement_timestamp();
    a         record;
    v_time    tstzmultirange;
    v_modes   text[];
    v_minutes jsonb;
    v_mode    text;
    v_home    boolean;
    v_billed  integer;
    v_suggest record;
    v_id      uuid;
    v_count   integer := 0;
  BEGIN
    FOR a IN
      SELECT x.id, x.chart_id, ch.is_part2, ch.site_id FROM public.cl_group_attendance x
      JOIN public.cl_charts ch ON ch.organization_id = x.organization_id AND ch.id = x.chart_id
      WHERE x.organization_id = p_organization_id AND x.session_id = p_session_id AND x.status = 'present'
      ORDER BY x.id
    LOOP
      -- PM-07 is the organization's own billing: a consent naming the
      -- organization as recipient covers the disclosure, never one naming a
      -- person or another organization (whoever concludes).
      CONTINUE WHEN a.is_part2 AND NOT public.cl_part2_consent_covers(a.chart_id, p_organization_id, 'group_session', NULL,
                                                                       v_now, 'HPAYMT');
      v_time := public.cl_virtual_group_attendee_time(p_organization_id, p_session_id, a.id);
      -- From the attendee's modes over time, read once, each span with
      -- its billable part: the modes they spent billable time in, in
      -- order; the minutes in each; and the way of taking part (mode, and
      -- at home or not) of most billable minutes, a tie to the less
      -- capable, then to the later.
      WITH s AS MATERIALIZED (
        SELECT t.mode, t.at_home, t.span, pg_catalog.tstzmultirange(t.span) OPERATOR(pg_catalog.*) v_time AS billed
        FROM public.cl_virtual_group_attendee_modes(p_organization_id, a.id) t
        WHERE NOT pg_catalog.isempty(t.span)
      ), ways AS (
        SELECT s.mode, s.at_home, public.cl_minutes(pg_catalog.range_agg(s.billed)) AS minutes,
               pg_catalog.max(pg_catalog.lower(s.span)) AS latest
        FROM s GROUP BY s.mode, s.at_home
      )
      SELECT (SELECT coalesce(pg_catalog.array_agg(s.mode ORDER BY pg_catalog.lower(s.span)), '{}'::text[])
              FROM s WHERE NOT pg_catalog.isempty(s.billed)),
             (SELECT pg_catalog.jsonb_object_agg(m.mode, m.minutes)
              FROM (SELECT s.mode, public.cl_minutes(pg_catalog.range_agg(s.billed)) AS minutes FROM s GROUP BY s.mode) m),
             w.mode, w.at_home
        INTO v_modes, v_minutes, v_mode, v_home
      FROM ways w
      ORDER BY w.minutes DESC, CASE w.mode WHEN 'audio_only' THEN 0 WHEN 'video' THEN 1 ELSE 2 END, w.latest DESC
      LIMIT 1;
      v_billed := public.cl_minutes(v_time);
      SELECT * INTO v_suggest FROM public.pf_jurisdiction_suggest(v_profile, v_day, true, v_mode, v_home);
      v_id := pg_catalog.gen_random_uuid();
      PERFORM public.cl_pm_events_append(p_organization_id, v_id, 'cl_virtual_group_charge_line', a.id,
        'cl_virtual_group_charge_line:' || a.id::text,
        pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
          'specversion', '1.0', 'id', v_id, 'source', p_concluded OPERATOR(pg_catalog.->>) 'source',
          'type', 'cl_virtual_group_charge_line', 'time', p_concluded OPERATOR(pg_catalog.->>) 'time', 'subject', a.id,
          'datacontenttype', 'application/json', 'organizationid', p_organization_id,
          'correlationid', p_concluded OPERATOR(pg_catalog.->>) 'correlationid',
          'data', pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
            'event_type', 'cl_virtual_group_charge_line',
            'organization_id', p_organization_id,
            'timestamp', p_concluded OPERATOR(pg_catalog.->) 'data' OPERATOR(pg_catalog.->>) 'timestamp',
            'correlation_id', p_concluded OPERATOR(pg_catalog.->) 'data' OPERATOR(pg_catalog.->>) 'correlation_id',
            'session_id', p_session_id,
            'attendance_id', a.id,
            'chart_id', a.chart_id,
            'concluded_event_id', p_concluded OPERATOR(pg_catalog.->>) 'id',
            'service_date', v_day,
            'modes', pg_catalog.to_jsonb(v_modes),
            'video_minutes', coalesce((v_minutes OPERATOR(pg_catalog.->>) 'video')::integer, 0),
            'audio_only_minutes', coalesce((v_minutes OPERATOR(pg_catalog.->>) 'audio_only')::integer, 0),
            'in_person_minutes', coalesce((v_minutes OPERATOR(pg_catalog.->>) 'in_person')::integer, 0),
            'billable_minutes', v_billed,
            'units', public.pf_units(v_profile, v_billed, NULL),
            'place_of_service', v_suggest.place_of_service,
            'modifier_suggestions', pg_catalog.to_jsonb(v_suggest.modifiers),
            'jurisdiction_profile_id', v_profile,
            'security_labels', public.cl_part2_security_labels(a.is_part2))))));
      IF a.is_part2 THEN
        PERFORM public.cl_part2_disclosure_line(auth.uid(), p_organization_id, a.site_id, a.chart_id, 'group_session',
                                                'HPAYMT', 'export', 'consent');
      END IF;
      v_count := v_count + 1;
    END LOOP;
    RETURN v_count;
  END
  $$;
-- +goose StatementEnd

-- cl_virtual_group_concluded_data: the data of a concluded session's
-- cl_virtual_group_concluded, every figure computed here: the billable
-- minutes, the present count, the profile's suggestions for the session
-- (those of its remote attendees: video if any, else audio only; none when
-- all were in the room), the profile, the schedule. Without the event's
-- envelope fields (event_type, organization_id, timestamp, correlation_id).
-- NULL to anyone who may not conclude virtual groups (the present count
-- would tell a viewer how many attendees it cannot see), and before the
-- conclusion.
-- +goose StatementBegin
CREATE FUNCTION public.cl_virtual_group_concluded_data(p_organization_id uuid, p_session_id uuid) RETURNS jsonb
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    m          public.cl_group_session_telehealth_metadata;
    v_profile  uuid := public.cl_virtual_group_profile(p_organization_id, p_session_id);
    v_present  integer;
    v_delivery text;
    v_mods     text[] := '{}'::text[];
  BEGIN
    IF auth.uid() IS NULL OR NOT public.cl_has_permission(p_organization_id, 'cl.group.virtual.conclude') THEN
      RETURN NULL;
    END IF;
    SELECT * INTO m FROM public.cl_group_session_telehealth_metadata x
    WHERE x.organization_id = p_organization_id AND x.session_id = p_session_id AND x.state = 'concluded';
    IF NOT FOUND THEN
      RETURN NULL;
    END IF;
    SELECT c.present INTO v_present FROM public.cl_virtual_group_counts(p_organization_id, p_session_id) c;
    SELECT CASE WHEN pg_catalog.bool_or(x.mode = 'video') THEN 'video' WHEN pg_catalog.bool_or(x.mode = 'audio_only') THEN 'audio_only' END
      INTO v_delivery
    FROM public.cl_group_attendance a
    JOIN public.cl_group_attendance_modes x ON x.organization_id = a.organization_id AND x.attendance_id = a.id
    WHERE a.organization_id = p_organization_id AND a.session_id = p_session_id AND a.status = 'present'
      AND x.organization_id = p_organization_id;
    IF v_delivery IS NOT NULL THEN
      SELECT s.modifiers INTO v_mods
      FROM public.pf_jurisdiction_suggest(v_profile, public.cl_virtual_group_service_date(p_organization_id, p_session_id),
                                          true, v_delivery, false) s;
    END IF;
    RETURN pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
      'session_id', m.session_id,
      'schedule_id', m.schedule_id,
      'pm_telehealth_session_id', m.pm_telehealth_session_id,
      'modality', m.modality,
      'concluded_at', public.pf_iso_time(m.concluded_at),
      'duration_minutes', public.cl_virtual_group_billable_minutes(p_organization_id, p_session_id),
      'participant_count', v_present,
      'modifier_suggestions', pg_catalog.to_jsonb(v_mods),
      'jurisdiction_profile_id', v_profile));
  END
  $$;
-- +goose StatementEnd

-- cl_virtual_group_transition: start (p_to = 'started') or conclude
-- ('concluded') a session, with the matching permission. Returns the
-- session's lifecycle after the call and whether this call changed it; a
-- session already in (or past) the target state is returned unchanged, for
-- the caller to tell a retry (same correlation id) from a conflict. A start
-- is refused (insufficient_privilege) while an expected or present Part 2
-- attendee lacks the participation consent.
-- +goose StatementBegin
CREATE FUNCTION public.cl_virtual_group_transition(
  p_organization_id uuid, p_session_id uuid, p_to text, p_correlation_id uuid, p_concluded_at timestamptz, p_schedule_id uuid
) RETURNS TABLE (state text, started_at timestamptz, concluded_at timestamptz, start_correlation_id uuid,
                 conclude_correlation_id uuid, changed boolean, expected_or_present integer, present integer)
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    m public.cl_group_session_telehealth_metadata;
    v_changed boolean := false;
  BEGIN
    IF auth.uid() IS NULL OR p_to NOT IN ('started', 'concluded')
       OR NOT public.cl_has_permission(p_organization_id,
                CASE p_to WHEN 'started' THEN 'cl.group.virtual.start' ELSE 'cl.group.virtual.conclude' END) THEN
      PERFORM public.pf_refuse(p_organization_id, 'group_session.transition', 'group_session', p_session_id, 'permission denied');
    END IF;
    SELECT * INTO m FROM public.cl_group_session_telehealth_metadata x
    WHERE x.organization_id = p_organization_id AND x.session_id = p_session_id FOR UPDATE;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'no such virtual group' USING ERRCODE = 'no_data_found';
    END IF;
    IF p_to = 'started' AND m.state = 'scheduled' THEN
      IF (SELECT c.without_consent FROM public.cl_virtual_group_counts(p_organization_id, p_session_id) c) > 0 THEN
        PERFORM public.pf_refuse(p_organization_id, 'group_session.start', 'group_session', p_session_id,
          'an attendee has no consent to virtual group participation');
      END IF;
      UPDATE public.cl_group_session_telehealth_metadata x
      SET state = 'started', started_at = pg_catalog.now(), start_correlation_id = p_correlation_id, schedule_id = p_schedule_id,
          transitioned_at = pg_catalog.now(), updated_by = (SELECT auth.uid()), updated_at = pg_catalog.now()
      WHERE x.organization_id = p_organization_id AND x.session_id = p_session_id RETURNING * INTO m;
      UPDATE public.cl_group_sessions s SET status = 'in_progress', started_at = m.started_at
      WHERE s.organization_id = p_organization_id AND s.id = p_session_id;
      v_changed := true;
    ELSIF p_to = 'concluded' AND m.state = 'started' THEN
      IF p_concluded_at IS NULL OR p_concluded_at <= m.started_at OR p_concluded_at > pg_catalog.statement_timestamp() THEN
        RAISE EXCEPTION 'the conclusion must be after the start and not in the future' USING ERRCODE = 'invalid_parameter_value';
      END IF;
      UPDATE public.cl_group_session_telehealth_metadata x
      SET state = 'concluded', concluded_at = p_concluded_at, conclude_correlation_id = p_correlation_id,
          transitioned_at = pg_catalog.now(),
          recording_state = CASE WHEN x.recording_state = 'recording' THEN 'stopped' ELSE x.recording_state END,
          updated_by = (SELECT auth.uid()), updated_at = pg_catalog.now()
      WHERE x.organization_id = p_organization_id AND x.session_id = p_session_id RETURNING * INTO m;
      UPDATE public.cl_group_sessions s SET status = 'completed', ended_at = m.concluded_at
      WHERE s.organization_id = p_organization_id AND s.id = p_session_id;
      v_changed := true;
    END IF;
    RETURN QUERY SELECT m.state, m.started_at, m.concluded_at, m.start_correlation_id, m.conclude_correlation_id, v_changed,
                        c.expected_or_present, c.present
                 FROM public.cl_virtual_group_counts(p_organization_id, p_session_id) c;
  END
  $$;
-- +goose StatementEnd

-- A start or conclusion commits only with its event, written in this
-- transaction (created after it began) and carrying the true counts.
-- +goose StatementBegin
CREATE FUNCTION public.cl_virtual_group_require_event() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_type  text := CASE NEW.state WHEN 'started' THEN 'cl_virtual_group_started' ELSE 'cl_virtual_group_concluded' END;
    v_count integer;
    v_key   text := CASE NEW.state WHEN 'started' THEN 'attendee_count' ELSE 'participant_count' END;
  BEGIN
    SELECT CASE NEW.state WHEN 'started' THEN c.expected_or_present ELSE c.present END INTO v_count
    FROM public.cl_virtual_group_counts(NEW.organization_id, NEW.session_id) c;
    IF NOT EXISTS (
      SELECT 1 FROM public.cl_pm_events e
      WHERE e.organization_id = NEW.organization_id AND e.event_type = v_type AND e.aggregate_id = NEW.session_id
        -- this transition's event: its correlation id is the row's
        AND (e.envelope OPERATOR(pg_catalog.->) 'data' OPERATOR(pg_catalog.->>) 'correlation_id')
            = (CASE NEW.state WHEN 'started' THEN NEW.start_correlation_id ELSE NEW.conclude_correlation_id END)::text
        AND (e.envelope OPERATOR(pg_catalog.->) 'data' OPERATOR(pg_catalog.->>) 'session_id') = NEW.session_id::text
        AND (e.envelope OPERATOR(pg_catalog.->) 'data' OPERATOR(pg_catalog.->>) v_key) = v_count::text) THEN
      RAISE EXCEPTION 'a virtual group % needs its % event, written in the same transaction', NEW.state, v_type
        USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
  END
  $$;
-- +goose StatementEnd
CREATE CONSTRAINT TRIGGER cl_virtual_group_require_event AFTER UPDATE ON public.cl_group_session_telehealth_metadata
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (NEW.state IS DISTINCT FROM OLD.state)
  EXECUTE FUNCTION public.cl_virtual_group_require_event();

-- cl_virtual_group_publish: publish a session's started or concluded event,
-- the only way these two types enter the outbox. The caller holds the
-- matching permission, the session is in the matching state and was moved
-- there in this transaction (or the same event is being asked for again, by
-- its key: a retry), and the event's attributes are the session's.
-- +goose StatementBegin
CREATE FUNCTION public.cl_virtual_group_publish(
  p_organization_id uuid, p_session_id uuid, p_id uuid, p_event_type text, p_idempotency_key text, p_envelope jsonb
) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    m          public.cl_group_session_telehealth_metadata;
    v_data     jsonb := p_envelope OPERATOR(pg_catalog.->) 'data';
    v_old      jsonb;
    v_fac      uuid;
    v_corr     uuid;
    v_expected integer;
    v_stored   jsonb;
  BEGIN
    IF auth.uid() IS NULL OR p_event_type NOT IN ('cl_virtual_group_started', 'cl_virtual_group_concluded')
       OR NOT public.cl_has_permission(p_organization_id, CASE p_event_type WHEN 'cl_virtual_group_started'
                                       THEN 'cl.group.virtual.start' ELSE 'cl.group.virtual.conclude' END) THEN
      PERFORM public.pf_refuse(p_organization_id, 'group_session.publish', 'group_session', p_session_id, 'permission denied');
    END IF;
    SELECT * INTO m FROM public.cl_group_session_telehealth_metadata x
    WHERE x.organization_id = p_organization_id AND x.session_id = p_session_id;
    v_corr := CASE p_event_type WHEN 'cl_virtual_group_started' THEN m.start_correlation_id ELSE m.conclude_correlation_id END;
    -- The session's one event of this type: a retry of the same action (same
    -- correlation id) gets it back; anything else is refused.
    SELECT e.envelope INTO v_old FROM public.cl_pm_events e
    WHERE e.organization_id = p_organization_id AND e.event_type = p_event_type AND e.aggregate_id = p_session_id;
    IF FOUND THEN
      IF v_corr IS NOT NULL AND (p_envelope OPERATOR(pg_catalog.->>) 'correlationid') = v_corr::text
         AND (v_old OPERATOR(pg_catalog.->>) 'correlationid') = v_corr::text THEN
        RETURN v_old;
      END IF;
      RAISE EXCEPTION 'the session already has its % event', p_event_type USING ERRCODE = 'check_violation';
    END IF;
    SELECT c.expected_or_present INTO v_expected
    FROM public.cl_virtual_group_counts(p_organization_id, p_session_id) c;
    SELECT s.facilitator_id INTO v_fac FROM public.cl_group_sessions s
    WHERE s.organization_id = p_organization_id AND s.id = p_session_id;
    -- No event of this type yet and the session in its state means the
    -- transition is this transaction's: a transition without its event
    -- never commits (cl_virtual_group_require_event).
    IF m.session_id IS NULL
       OR m.state <> (CASE p_event_type WHEN 'cl_virtual_group_started' THEN 'started' ELSE 'concluded' END)
       OR (v_data OPERATOR(pg_catalog.->>) 'session_id') IS DISTINCT FROM p_session_id::text
       OR (v_data OPERATOR(pg_catalog.->>) 'modality') IS DISTINCT FROM m.modality
       OR (v_data OPERATOR(pg_catalog.->>) 'correlation_id') IS DISTINCT FROM
          (CASE p_event_type WHEN 'cl_virtual_group_started' THEN m.start_correlation_id ELSE m.conclude_correlation_id END)::text
       OR (v_data OPERATOR(pg_catalog.->>) 'pm_telehealth_session_id') IS DISTINCT FROM m.pm_telehealth_session_id::text
       OR (p_event_type = 'cl_virtual_group_started'
           AND ((v_data OPERATOR(pg_catalog.->>) 'started_at')::timestamptz IS DISTINCT FROM m.started_at
                OR (v_data OPERATOR(pg_catalog.->>) 'facilitator_id') IS DISTINCT FROM v_fac::text
                OR (v_data OPERATOR(pg_catalog.->>) 'schedule_id') IS DISTINCT FROM m.schedule_id::text
                OR (v_data OPERATOR(pg_catalog.->>) 'timestamp')::timestamptz IS DISTINCT FROM m.started_at
                OR (v_data OPERATOR(pg_catalog.->>) 'attendee_count') IS DISTINCT FROM v_expected::text))
       OR (p_event_type = 'cl_virtual_group_concluded'
           -- every figure as the database computes it, and no other field
           AND ((v_data OPERATOR(pg_catalog.-) ARRAY['event_type', 'organization_id', 'timestamp', 'correlation_id', 'concluded_at']::text[])
                IS DISTINCT FROM (public.cl_virtual_group_concluded_data(p_organization_id, p_session_id) OPERATOR(pg_catalog.-) 'concluded_at')
                OR (v_data OPERATOR(pg_catalog.->>) 'concluded_at')::timestamptz IS DISTINCT FROM m.concluded_at
                OR (v_data OPERATOR(pg_catalog.->>) 'timestamp')::timestamptz IS DISTINCT FROM m.concluded_at)) THEN
      RAISE EXCEPTION 'the event does not describe this transition of the session' USING ERRCODE = 'check_violation';
    END IF;
    v_stored := public.cl_pm_events_store(p_organization_id, p_id, p_event_type, p_session_id, p_idempotency_key, p_envelope);
    IF p_event_type = 'cl_virtual_group_concluded' THEN
      PERFORM public.cl_virtual_group_publish_charge_lines(p_organization_id, p_session_id, v_stored);
    END IF;
    RETURN v_stored;
  END
  $$;
-- +goose StatementEnd

-- cl_virtual_group_set_recording: mark a started session as recording (only
-- when every present attendee's latest decision is a grant) or stopped.
-- +goose StatementBegin
CREATE FUNCTION public.cl_virtual_group_set_recording(p_organization_id uuid, p_session_id uuid, p_state text)
  RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_state text;
  BEGIN
    IF auth.uid() IS NULL OR p_state NOT IN ('recording', 'stopped')
       OR NOT public.cl_has_permission(p_organization_id, 'cl.group.virtual.recording') THEN
      PERFORM public.pf_refuse(p_organization_id, 'group_session.recording', 'group_session', p_session_id, 'permission denied');
    END IF;
    SELECT x.state INTO v_state FROM public.cl_group_session_telehealth_metadata x
    WHERE x.organization_id = p_organization_id AND x.session_id = p_session_id FOR UPDATE;
    IF NOT FOUND OR v_state <> 'started' THEN
      RAISE EXCEPTION 'the session is not in progress' USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF p_state = 'recording' AND EXISTS (
         SELECT 1 FROM public.cl_group_attendance a
         WHERE a.organization_id = p_organization_id AND a.session_id = p_session_id AND a.status = 'present'
           AND NOT public.cl_group_recording_granted(a.organization_id, a.id)) THEN
      RAISE EXCEPTION 'not every present attendee has granted recording' USING ERRCODE = 'check_violation';
    END IF;
    UPDATE public.cl_group_session_telehealth_metadata x SET recording_state = p_state, updated_by = (SELECT auth.uid()), updated_at = pg_catalog.now()
    WHERE x.organization_id = p_organization_id AND x.session_id = p_session_id;
  END
  $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION public.cl_group_recording_consents_audit() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    -- A present attendee who declines or withdraws stops a recording.
    IF NEW.decision <> 'granted' THEN
      UPDATE public.cl_group_session_telehealth_metadata m SET recording_state = 'stopped'
      WHERE m.organization_id = NEW.organization_id AND m.session_id = NEW.session_id AND m.recording_state = 'recording'
        AND EXISTS (SELECT 1 FROM public.cl_group_attendance a
                    WHERE a.organization_id = NEW.organization_id AND a.id = NEW.attendance_id AND a.status = 'present');
    END IF;
    PERFORM public.pf_audit_write(NEW.captured_by, NEW.organization_id, NULL, 'cl.group.recording_consent.recorded',
      'group_session', NEW.session_id, NULL,
      pg_catalog.jsonb_build_object('attendance_id', NEW.attendance_id, 'decision', NEW.decision, 'method', NEW.method,
                                    'recording_consent_id', NEW.id));
    RETURN NULL;
  END
  $$;
-- +goose StatementEnd
CREATE TRIGGER cl_group_recording_consents_audit AFTER INSERT ON public.cl_group_recording_consents
  FOR EACH ROW EXECUTE FUNCTION public.cl_group_recording_consents_audit();

-- Evidence is numbered and timed by the database: the next decision of the
-- attendee, now (a concurrent decision for the same attendee fails its
-- unique number and is retried by its caller). Failures are timed the same
-- way.
-- +goose StatementBegin
CREATE FUNCTION public.cl_group_recording_consents_number() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    NEW.decision_no := coalesce((SELECT pg_catalog.max(r.decision_no) FROM public.cl_group_recording_consents r
                                 WHERE r.organization_id = NEW.organization_id AND r.attendance_id = NEW.attendance_id), 0) + 1;
    IF auth.uid() IS NOT NULL THEN
      NEW.captured_at := pg_catalog.clock_timestamp();
    END IF;
    RETURN NEW;
  END
  $$;
-- +goose StatementEnd
CREATE TRIGGER cl_group_recording_consents_number BEFORE INSERT ON public.cl_group_recording_consents
  FOR EACH ROW EXECUTE FUNCTION public.cl_group_recording_consents_number();
-- A failure is logged with the database's clock, and not once the session
-- has concluded (for managers; to anyone else the policy refuses alike).
-- +goose StatementBegin
CREATE FUNCTION public.cl_group_technology_failures_guard() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF auth.uid() IS NOT NULL THEN
      NEW.recorded_at := pg_catalog.clock_timestamp();
      IF public.cl_has_permission(NEW.organization_id, 'cl.group.virtual.manage') THEN
        PERFORM public.cl_virtual_group_refuse_concluded(
          (SELECT m.state FROM public.cl_group_session_telehealth_metadata m
           WHERE m.organization_id = NEW.organization_id AND m.session_id = NEW.session_id), 'failure log');
      END IF;
    END IF;
    RETURN NEW;
  END
  $$;
-- +goose StatementEnd
CREATE TRIGGER cl_group_technology_failures_guard BEFORE INSERT ON public.cl_group_technology_failures
  FOR EACH ROW EXECUTE FUNCTION public.cl_group_technology_failures_guard();
-- How an attendee takes part changes only while the session has not
-- concluded, and an attendee of a virtual group takes part remotely (for
-- managers, as above).
-- +goose StatementBegin
CREATE FUNCTION public.cl_group_attendance_modes_guard() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    m public.cl_group_session_telehealth_metadata;
  BEGIN
    IF auth.uid() IS NULL OR NOT public.cl_has_permission(NEW.organization_id, 'cl.group.virtual.manage') THEN
      RETURN NEW;
    END IF;
    SELECT * INTO m FROM public.cl_group_session_telehealth_metadata x
    WHERE x.organization_id = NEW.organization_id AND x.session_id = NEW.session_id;
    PERFORM public.cl_virtual_group_refuse_concluded(m.state, 'attendance');
    IF NEW.mode = 'in_person' AND m.modality = 'virtual' THEN
      RAISE EXCEPTION 'cannot be in person in a virtual group (mode)' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  END
  $$;
-- +goose StatementEnd
CREATE TRIGGER cl_group_attendance_modes_guard BEFORE INSERT OR UPDATE ON public.cl_group_attendance_modes
  FOR EACH ROW EXECUTE FUNCTION public.cl_group_attendance_modes_guard();
CREATE TRIGGER cl_group_session_telehealth_metadata_initial BEFORE INSERT ON public.cl_group_session_telehealth_metadata
  FOR EACH ROW EXECUTE FUNCTION public.pf_initial_values('{"state": "scheduled", "recording_state": "not_recorded",
    "started_at": null, "concluded_at": null, "start_correlation_id": null, "conclude_correlation_id": null,
    "transitioned_at": null, "schedule_id": null}');
CREATE TRIGGER cl_group_attendance_modes_initial BEFORE INSERT ON public.cl_group_attendance_modes
  FOR EACH ROW EXECUTE FUNCTION public.pf_initial_values('{"joined_at": null, "left_at": null}');

-- A switch is recorded while the session is in progress, at a time within
-- it, with the database's clock, and never into the room of a virtual
-- group (for managers; to anyone else the policy refuses alike).
-- +goose StatementBegin
CREATE FUNCTION public.cl_group_mode_switches_guard() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    m public.cl_group_session_telehealth_metadata;
  BEGIN
    IF auth.uid() IS NULL THEN
      RETURN NEW;
    END IF;
    NEW.recorded_at := pg_catalog.clock_timestamp();
    IF NOT public.cl_has_permission(NEW.organization_id, 'cl.group.virtual.manage') THEN
      RETURN NEW;
    END IF;
    SELECT * INTO m FROM public.cl_group_session_telehealth_metadata x
    WHERE x.organization_id = NEW.organization_id AND x.session_id = NEW.session_id;
    PERFORM public.cl_virtual_group_refuse_concluded(m.state, 'attendance');
    IF m.state IS DISTINCT FROM 'started' THEN
      RAISE EXCEPTION 'modes switch during the session: it has not started (started_at)' USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- Recorded as it happens: at most five minutes back, never before the
    -- start or the attendee's last switch, never ahead.
    IF NEW.switched_at < GREATEST(m.started_at, NEW.recorded_at - interval '5 minutes',
                                  (SELECT pg_catalog.max(w.switched_at) FROM public.cl_group_mode_switches w
                                   WHERE w.organization_id = NEW.organization_id AND w.attendance_id = NEW.attendance_id)
                                  + interval '1 microsecond')
       OR NEW.switched_at > NEW.recorded_at + interval '1 minute' THEN
      RAISE EXCEPTION 'must be within the last five minutes, after the start and the attendee''s last switch (switched_at)'
        USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.mode = 'in_person' AND m.modality = 'virtual' THEN
      RAISE EXCEPTION 'cannot be in person in a virtual group (mode)' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  END
  $$;
-- +goose StatementEnd
CREATE TRIGGER cl_group_mode_switches_guard BEFORE INSERT ON public.cl_group_mode_switches
  FOR EACH ROW EXECUTE FUNCTION public.cl_group_mode_switches_guard();

ALTER TABLE public.cl_group_session_telehealth_metadata ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_group_session_telehealth_metadata FORCE ROW LEVEL SECURITY;
ALTER TABLE public.cl_group_attendance_modes ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_group_attendance_modes FORCE ROW LEVEL SECURITY;
ALTER TABLE public.cl_group_recording_consents ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_group_recording_consents FORCE ROW LEVEL SECURITY;
ALTER TABLE public.cl_group_technology_failures ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_group_technology_failures FORCE ROW LEVEL SECURITY;
ALTER TABLE public.cl_group_mode_switches ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_group_mode_switches FORCE ROW LEVEL SECURITY;
REVOKE ALL ON public.cl_group_session_telehealth_metadata, public.cl_group_attendance_modes,
  public.cl_group_recording_consents, public.cl_group_technology_failures, public.cl_group_mode_switches FROM PUBLIC, authenticated;
GRANT SELECT ON public.cl_group_session_telehealth_metadata, public.cl_group_attendance_modes,
  public.cl_group_recording_consents, public.cl_group_technology_failures, public.cl_group_mode_switches TO authenticated;
-- Table-level INSERT (Citus writes defaults out, which column grants would
-- refuse): the columns an insert may not choose are checked by
-- pf_initial_values or stamped by the triggers above.
GRANT INSERT ON public.cl_group_session_telehealth_metadata, public.cl_group_attendance_modes,
  public.cl_group_recording_consents, public.cl_group_technology_failures, public.cl_group_mode_switches TO authenticated;
GRANT UPDATE (modality, pm_telehealth_session_id, vendor_session_ref, contingency_fallback, contingency_contact,
  jurisdiction_profile, updated_by) ON public.cl_group_session_telehealth_metadata TO authenticated;
GRANT UPDATE (joined_at, left_at, updated_by) ON public.cl_group_attendance_modes TO authenticated;


CREATE POLICY cl_group_session_telehealth_metadata_select ON public.cl_group_session_telehealth_metadata
  FOR SELECT TO authenticated USING (public.cl_has_permission(organization_id, 'cl.group.virtual.view'));
CREATE POLICY cl_group_session_telehealth_metadata_insert ON public.cl_group_session_telehealth_metadata
  FOR INSERT TO authenticated
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.group.virtual.manage') AND updated_by = auth.uid()
              AND public.cl_pm_reference_ok(organization_id, 'pm_telehealth_sessions', pm_telehealth_session_id));
CREATE POLICY cl_group_session_telehealth_metadata_update ON public.cl_group_session_telehealth_metadata
  FOR UPDATE TO authenticated
  USING (public.cl_has_permission(organization_id, 'cl.group.virtual.manage'))
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.group.virtual.manage') AND updated_by = auth.uid()
              AND public.cl_pm_reference_ok(organization_id, 'pm_telehealth_sessions', pm_telehealth_session_id));

-- Per-attendee rows are visible with the attendance they describe (whose
-- policy is the chart's Part 2 consent), and only to viewers.
CREATE POLICY cl_group_attendance_modes_select ON public.cl_group_attendance_modes FOR SELECT TO authenticated
  USING (public.cl_has_permission(organization_id, 'cl.group.virtual.view')
         AND public.cl_group_attendance_visible(organization_id, attendance_id));
CREATE POLICY cl_group_attendance_modes_insert ON public.cl_group_attendance_modes FOR INSERT TO authenticated
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.group.virtual.manage') AND updated_by = auth.uid()
              AND public.cl_group_attendee_consented(organization_id, attendance_id));
CREATE POLICY cl_group_attendance_modes_update ON public.cl_group_attendance_modes FOR UPDATE TO authenticated
  USING (public.cl_has_permission(organization_id, 'cl.group.virtual.manage')
         AND public.cl_group_attendance_visible(organization_id, attendance_id))
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.group.virtual.manage') AND updated_by = auth.uid());

CREATE POLICY cl_group_recording_consents_select ON public.cl_group_recording_consents FOR SELECT TO authenticated
  USING (public.cl_has_permission(organization_id, 'cl.group.virtual.view')
         AND public.cl_group_attendance_visible(organization_id, attendance_id));
CREATE POLICY cl_group_recording_consents_insert ON public.cl_group_recording_consents FOR INSERT TO authenticated
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.group.virtual.recording') AND captured_by = auth.uid()
              AND public.cl_group_attendance_visible(organization_id, attendance_id));
CREATE POLICY cl_group_mode_switches_select ON public.cl_group_mode_switches FOR SELECT TO authenticated
  USING (public.cl_has_permission(organization_id, 'cl.group.virtual.view')
         AND public.cl_group_attendance_visible(organization_id, attendance_id));
CREATE POLICY cl_group_mode_switches_insert ON public.cl_group_mode_switches FOR INSERT TO authenticated
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.group.virtual.manage') AND recorded_by = auth.uid()
              AND public.cl_group_attendance_visible(organization_id, attendance_id));
CREATE POLICY cl_group_technology_failures_select ON public.cl_group_technology_failures FOR SELECT TO authenticated
  USING (public.cl_has_permission(organization_id, 'cl.group.virtual.view'));
CREATE POLICY cl_group_technology_failures_insert ON public.cl_group_technology_failures FOR INSERT TO authenticated
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.group.virtual.manage') AND recorded_by = auth.uid()
              AND public.cl_virtual_group_open(organization_id, session_id));

REVOKE ALL ON FUNCTION public.cl_is_opaque_reference(text) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_group_participation_covered(uuid, uuid, uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_group_participation_consented(uuid, uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_group_attendee_consented(uuid, uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_group_attendance_chart(uuid, uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_group_attendance_visible(uuid, uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_virtual_group_open(uuid, uuid) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_group_attendee_consented(uuid, uuid) TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_group_attendance_visible(uuid, uuid) TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_virtual_group_open(uuid, uuid) TO authenticated;
REVOKE ALL ON FUNCTION public.cl_virtual_group_metadata_guard() FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_virtual_group_attendance_guard() FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_virtual_group_counts(uuid, uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_virtual_group_present_lines(uuid, uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_virtual_group_profile(uuid, uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_virtual_group_service_date(uuid, uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_virtual_group_billable_minutes(uuid, uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_virtual_group_interruptions(uuid, uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_minutes(tstzmultirange) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_virtual_group_attendee_time(uuid, uuid, uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_virtual_group_attendee_modes(uuid, uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_virtual_group_publish_charge_lines(uuid, uuid, jsonb) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_group_mode_switches_guard() FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_virtual_group_concluded_data(uuid, uuid) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_virtual_group_concluded_data(uuid, uuid) TO authenticated;
REVOKE ALL ON FUNCTION public.cl_virtual_group_transition(uuid, uuid, text, uuid, timestamptz, uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_virtual_group_require_event() FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_virtual_group_set_recording(uuid, uuid, text) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_virtual_group_publish(uuid, uuid, uuid, text, text, jsonb) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_virtual_group_session_guard() FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_group_lifecycle_follows(uuid, uuid, text, timestamptz, timestamptz, uuid) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_virtual_group_publish(uuid, uuid, uuid, text, text, jsonb) TO authenticated;
REVOKE ALL ON FUNCTION public.cl_group_recording_consents_audit() FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_group_recording_consents_number() FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_group_technology_failures_guard() FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_group_attendance_modes_guard() FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_is_opaque_reference(text) TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_group_participation_consented(uuid, uuid) TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_virtual_group_present_lines(uuid, uuid) TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_virtual_group_transition(uuid, uuid, text, uuid, timestamptz, uuid) TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_virtual_group_set_recording(uuid, uuid, text) TO authenticated;
