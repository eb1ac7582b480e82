-- +goose Up
-- CL-55 virtual and hybrid group sessions: the CL-14 group session gains a
-- PM-13 reference, telehealth metadata and per-attendee attendance modes.
-- We store clinical documentation and suggestions; PM-13 owns vendors, join
-- URLs and the session's lifecycle, PM-07 owns charges.

-- The seed's contract: a UUID-only reference to pm_telehealth_sessions.id,
-- no foreign key (PM owns it).
ALTER TABLE public.cl_group_sessions ADD COLUMN pm_telehealth_session_id uuid;

-- Whether a short reference looks like an opaque identifier rather than a
-- URL, an address or a secret: letters, digits, '_', '-' and ':', at most
-- 64 characters, and none of the well-known secret prefixes. The Go API
-- applies the same rule (and says why it refuses).
CREATE FUNCTION public.cl_is_opaque_reference(p_value text) RETURNS boolean
  LANGUAGE sql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT p_value ~ '^[A-Za-z0-9_:-]+$'
       AND pg_catalog.length(p_value) <= 64
       AND p_value !~* '^(https?|wss?|ftp|mailto|tel|sip)[:_-]'
       AND p_value !~ '^(eyJ|sk_|pk_live|rk_live|ghp_|gho_|xox[abpr]-|AKIA|ASIA|AIza)'
  $$;

CREATE TABLE public.cl_group_session_telehealth_metadata (
  organization_id      uuid NOT NULL,
  session_id           uuid NOT NULL,
  modality             text NOT NULL CHECK (modality IN ('virtual', 'hybrid')),
  -- A non-PHI reference to the vendor's session (never a join URL).
  vendor_session_ref   text CHECK (public.cl_is_opaque_reference(vendor_session_ref)),
  -- Contingency plan: what happens if video fails, and who calls whom
  -- (roles, never phone numbers).
  contingency_fallback text NOT NULL DEFAULT 'audio_only'
                       CHECK (contingency_fallback IN ('audio_only', 'in_person', 'reschedule', 'end_session')),
  contingency_contact  text NOT NULL DEFAULT 'facilitator_calls_participants'
                       CHECK (contingency_contact IN ('facilitator_calls_participants', 'participants_call_program', 'program_staff_calls_participants')),
  recording_state      text NOT NULL DEFAULT 'not_recorded'
                       CHECK (recording_state IN ('not_recorded', 'recording', 'stopped')),
  jurisdiction_profile text CHECK (jurisdiction_profile ~ '^[a-z][a-z0-9_]*$' AND pg_catalog.length(jurisdiction_profile) <= 63),
  state                text NOT NULL DEFAULT 'scheduled' CHECK (state IN ('scheduled', 'started', 'concluded')),
  started_at           timestamptz,
  concluded_at         timestamptz,
  start_correlation_id    uuid,
  conclude_correlation_id uuid,
  updated_by           uuid NOT NULL,
  updated_at           timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (organization_id, session_id),
  FOREIGN KEY (organization_id, session_id) REFERENCES public.cl_group_sessions (organization_id, id),
  CHECK ((state = 'scheduled') = (started_at IS NULL)),
  CHECK ((state = 'concluded') = (concluded_at IS NOT NULL)),
  CHECK (concluded_at IS NULL OR concluded_at > started_at)
);

-- How each attendee took part: billing differs per attendee in a hybrid
-- group (a remote attendee's line gets the telehealth modifier).
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
  FOREIGN KEY (organization_id, attendance_id) REFERENCES public.cl_group_attendance (organization_id, id),
  FOREIGN KEY (organization_id, session_id) REFERENCES public.cl_group_sessions (organization_id, id),
  CHECK (left_at IS NULL OR joined_at IS NULL OR left_at >= joined_at),
  CHECK (mode <> 'in_person' OR NOT at_home)
);
-- A session's attendees are read by session: the policy then runs on that
-- session's rows only.
CREATE INDEX cl_group_attendance_modes_session_idx ON public.cl_group_attendance_modes (organization_id, session_id);

-- A patient whose chart is Part 2 joins a virtual or hybrid group only
-- under a current consent that names group participation explicitly (a
-- virtual group discloses them to its members; a general '*' consent does
-- not count). For charts that are not Part 2, true. Callers must have
-- access to the chart's organization.
-- +goose StatementBegin
CREATE FUNCTION public.cl_group_participation_consented(p_chart_id uuid) RETURNS boolean
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_org   uuid;
    v_part2 boolean;
  BEGIN
    SELECT c.organization_id, c.is_part2 INTO v_org, v_part2 FROM public.cl_charts c WHERE c.id = p_chart_id;
    IF NOT FOUND OR NOT public.cl_has_org_access(v_org) THEN
      RETURN false;
    END IF;
    RETURN NOT v_part2 OR EXISTS (
      SELECT 1 FROM public.cl_part2_consents k
      WHERE k.chart_id = p_chart_id AND k.organization_id = v_org AND k.revoked_at IS NULL
        AND k.effective_at <= pg_catalog.statement_timestamp()
        AND (k.expires_at IS NULL OR k.expires_at > pg_catalog.statement_timestamp())
        AND 'virtual_group_participation' = ANY (k.record_types));
  END
  $$;
-- +goose StatementEnd

ALTER TABLE public.cl_group_session_telehealth_metadata ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_group_session_telehealth_metadata FORCE ROW LEVEL SECURITY;
ALTER TABLE public.cl_group_attendance_modes ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_group_attendance_modes FORCE ROW LEVEL SECURITY;
REVOKE ALL ON public.cl_group_session_telehealth_metadata, public.cl_group_attendance_modes FROM PUBLIC;
GRANT SELECT, INSERT ON public.cl_group_session_telehealth_metadata, public.cl_group_attendance_modes TO authenticated;
GRANT UPDATE (modality, vendor_session_ref, contingency_fallback, contingency_contact, recording_state, jurisdiction_profile,
  state, started_at, concluded_at, start_correlation_id, conclude_correlation_id, updated_by, updated_at)
  ON public.cl_group_session_telehealth_metadata TO authenticated;
GRANT UPDATE (mode, at_home, joined_at, left_at, updated_by) ON public.cl_group_attendance_modes TO authenticated;

-- The lifecycle only moves forward (scheduled, started, concluded), a
-- start or conclusion is stamped now, and (checked at commit) each comes
-- with its event in the outbox.
-- +goose StatementBegin
CREATE FUNCTION public.cl_virtual_group_lifecycle_guard() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF TG_OP = 'INSERT' THEN
      IF NEW.state <> 'scheduled' THEN
        RAISE EXCEPTION 'a virtual group starts out scheduled' USING ERRCODE = 'check_violation';
      END IF;
      RETURN NEW;
    END IF;
    IF NEW.state IS DISTINCT FROM OLD.state THEN
      IF NOT ((OLD.state = 'scheduled' AND NEW.state = 'started' AND NEW.started_at = pg_catalog.now())
              OR (OLD.state = 'started' AND NEW.state = 'concluded' AND NEW.started_at = OLD.started_at)) THEN
        RAISE EXCEPTION 'a virtual group goes from scheduled to started (now) to concluded' USING ERRCODE = 'check_violation';
      END IF;
    ELSIF (NEW.started_at, NEW.concluded_at, NEW.start_correlation_id, NEW.conclude_correlation_id)
          IS DISTINCT FROM (OLD.started_at, OLD.concluded_at, OLD.start_correlation_id, OLD.conclude_correlation_id) THEN
      RAISE EXCEPTION 'start and conclusion are recorded only with their transitions' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  END
  $$;
-- +goose StatementEnd
CREATE TRIGGER cl_virtual_group_lifecycle_guard BEFORE INSERT OR UPDATE ON public.cl_group_session_telehealth_metadata
  FOR EACH ROW EXECUTE FUNCTION public.cl_virtual_group_lifecycle_guard();

-- +goose StatementBegin
CREATE FUNCTION public.cl_virtual_group_require_event() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_type text := CASE NEW.state WHEN 'started' THEN 'cl_virtual_group_started' ELSE 'cl_virtual_group_concluded' END;
  BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.cl_pm_events e
                   WHERE e.organization_id = NEW.organization_id AND e.event_type = v_type AND e.aggregate_id = NEW.session_id) THEN
      RAISE EXCEPTION 'a virtual group % needs its % event in the same transaction', NEW.state, v_type
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
REVOKE ALL ON FUNCTION public.cl_virtual_group_lifecycle_guard() FROM PUBLIC;
REVOKE ALL ON FUNCTION public.cl_virtual_group_require_event() FROM PUBLIC;

CREATE POLICY cl_group_session_telehealth_metadata_select ON public.cl_group_session_telehealth_metadata
  FOR SELECT TO authenticated USING (public.cl_has_permission(organization_id, 'cl.group.virtual.view'));
CREATE POLICY cl_group_session_telehealth_metadata_insert ON public.cl_group_session_telehealth_metadata
  FOR INSERT TO authenticated
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.group.virtual.manage') AND updated_by = auth.uid());
-- Lifecycle changes need the start or conclude permission; metadata edits
-- the manage permission. The Go API checks which applies; the policy admits
-- any of them and WITH CHECK keeps the row in an organization where the
-- user holds one.
CREATE POLICY cl_group_session_telehealth_metadata_update ON public.cl_group_session_telehealth_metadata
  FOR UPDATE TO authenticated
  USING (public.cl_has_permission(organization_id, 'cl.group.virtual.manage')
         OR public.cl_has_permission(organization_id, 'cl.group.virtual.start')
         OR public.cl_has_permission(organization_id, 'cl.group.virtual.conclude'))
  WITH CHECK ((public.cl_has_permission(organization_id, 'cl.group.virtual.manage')
               OR public.cl_has_permission(organization_id, 'cl.group.virtual.start')
               OR public.cl_has_permission(organization_id, 'cl.group.virtual.conclude'))
              AND updated_by = auth.uid());

CREATE POLICY cl_group_attendance_modes_select ON public.cl_group_attendance_modes FOR SELECT TO authenticated
  USING (public.cl_has_permission(organization_id, 'cl.group.virtual.view'));
CREATE POLICY cl_group_attendance_modes_insert ON public.cl_group_attendance_modes FOR INSERT TO authenticated
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.group.virtual.manage') AND updated_by = auth.uid());
CREATE POLICY cl_group_attendance_modes_update ON public.cl_group_attendance_modes FOR UPDATE TO authenticated
  USING (public.cl_has_permission(organization_id, 'cl.group.virtual.manage'))
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.group.virtual.manage') AND updated_by = auth.uid());

REVOKE ALL ON FUNCTION public.cl_is_opaque_reference(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.cl_is_opaque_reference(text) TO authenticated;
REVOKE ALL ON FUNCTION public.cl_group_participation_consented(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.cl_group_participation_consented(uuid) TO authenticated;

-- Recording consent evidence: one row per participant decision, who
-- captured it, when and how. Append-only for everyone but the owner (no
-- UPDATE or DELETE grant), and every row is audited.
CREATE TABLE public.cl_group_recording_consents (
  organization_id uuid NOT NULL,
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  session_id      uuid NOT NULL,
  attendance_id   uuid NOT NULL,
  decision        text NOT NULL CHECK (decision IN ('granted', 'declined', 'withdrawn')),
  method          text NOT NULL CHECK (method IN ('verbal', 'written', 'electronic')),
  captured_by     uuid NOT NULL,
  captured_at     timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, session_id) REFERENCES public.cl_group_sessions (organization_id, id),
  FOREIGN KEY (organization_id, attendance_id) REFERENCES public.cl_group_attendance (organization_id, id)
);
CREATE INDEX cl_group_recording_consents_session_idx
  ON public.cl_group_recording_consents (organization_id, session_id, attendance_id, captured_at);

-- Technology failures: an append-only log per session, feeding the
-- documentation and the duration that can be billed.
CREATE TABLE public.cl_group_technology_failures (
  organization_id            uuid NOT NULL,
  id                         uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  session_id                 uuid NOT NULL,
  kind                       text NOT NULL CHECK (kind IN ('video_outage', 'audio_outage', 'platform_outage', 'participant_connection', 'other')),
  started_at                 timestamptz NOT NULL,
  ended_at                   timestamptz NOT NULL,
  affected_participant_count integer NOT NULL CHECK (affected_participant_count >= 0),
  action_taken               text NOT NULL CHECK (action_taken IN ('switched_to_audio', 'reconnected', 'continued', 'rescheduled', 'ended_session')),
  recorded_by                uuid NOT NULL,
  recorded_at                timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, session_id) REFERENCES public.cl_group_sessions (organization_id, id),
  CHECK (ended_at > started_at)
);
CREATE INDEX cl_group_technology_failures_session_idx ON public.cl_group_technology_failures (organization_id, session_id);

-- +goose StatementBegin
CREATE FUNCTION public.cl_group_recording_consents_audit() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
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

ALTER TABLE public.cl_group_recording_consents ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_group_recording_consents FORCE ROW LEVEL SECURITY;
ALTER TABLE public.cl_group_technology_failures ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_group_technology_failures FORCE ROW LEVEL SECURITY;
REVOKE ALL ON public.cl_group_recording_consents, public.cl_group_technology_failures FROM PUBLIC;
GRANT SELECT, INSERT ON public.cl_group_recording_consents, public.cl_group_technology_failures TO authenticated;
REVOKE ALL ON FUNCTION public.cl_group_recording_consents_audit() FROM PUBLIC;

CREATE POLICY cl_group_recording_consents_select ON public.cl_group_recording_consents FOR SELECT TO authenticated
  USING (public.cl_has_permission(organization_id, 'cl.group.virtual.view'));
CREATE POLICY cl_group_recording_consents_insert ON public.cl_group_recording_consents FOR INSERT TO authenticated
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.group.virtual.recording') AND captured_by = auth.uid());
CREATE POLICY cl_group_technology_failures_select ON public.cl_group_technology_failures FOR SELECT TO authenticated
  USING (public.cl_has_permission(organization_id, 'cl.group.virtual.view'));
CREATE POLICY cl_group_technology_failures_insert ON public.cl_group_technology_failures FOR INSERT TO authenticated
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.group.virtual.manage') AND recorded_by = auth.uid());
