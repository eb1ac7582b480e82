-- +goose Up
-- CL-55 multi-party clinical encounters: crisis, family, interpreter and
-- care-team sessions with N participants. A patient participant is linked
-- to a chart and gated by that chart's Part 2 consent; a participant who is
-- not a patient never carries a chart. Permissions cl.multi_party.view and
-- cl.multi_party.manage (PF-30).

CREATE TABLE public.cl_multi_party_encounters (
  organization_id          uuid NOT NULL REFERENCES public.pf_organizations (id),
  id                       uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  site_id                  uuid,
  kind                     text NOT NULL CHECK (kind IN ('crisis', 'family', 'interpreter', 'care_team')),
  modality                 text NOT NULL CHECK (modality IN ('in_person', 'virtual', 'hybrid')),
  -- PM-13 session: a UUID-only reference, no foreign key (PM owns it).
  pm_telehealth_session_id uuid,
  lead_clinician_id        uuid NOT NULL,
  started_at               timestamptz NOT NULL,
  ended_at                 timestamptz,
  summary                  text NOT NULL DEFAULT '' CHECK (pg_catalog.length(summary) <= 20000),
  created_by               uuid NOT NULL,
  created_at               timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_by               uuid NOT NULL,
  updated_at               timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, site_id) REFERENCES public.pf_sites (organization_id, id),
  FOREIGN KEY (organization_id, lead_clinician_id) REFERENCES public.pf_members (organization_id, user_id),
  CHECK (ended_at IS NULL OR ended_at > started_at),
  CHECK (public.pf_plausible_time(started_at) AND (ended_at IS NULL OR public.pf_plausible_time(ended_at)))
);

CREATE TABLE public.cl_multi_party_participants (
  organization_id uuid NOT NULL,
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  encounter_id    uuid NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('patient', 'family_support', 'interpreter', 'staff', 'external_professional')),
  chart_id        uuid,
  member_user_id  uuid,
  -- An interpreter's language, as a BCP 47 tag (e.g. es, zh-Hant, ase).
  language        text CHECK (language ~ '^[a-zA-Z]+(-[a-zA-Z0-9]+)*$' AND pg_catalog.length(language) <= 35),
  -- A family/support person's relationship or an external professional's
  -- role, as a code (e.g. parent, probation_officer); never a name.
  role_code       text CHECK (role_code ~ '^[a-z][a-z0-9_]*$' AND pg_catalog.length(role_code) <= 63),
  joined_at       timestamptz,
  left_at         timestamptz,
  created_by      uuid NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, encounter_id) REFERENCES public.cl_multi_party_encounters (organization_id, id),
  FOREIGN KEY (organization_id, chart_id) REFERENCES public.cl_charts (organization_id, id),
  FOREIGN KEY (organization_id, member_user_id) REFERENCES public.pf_members (organization_id, user_id),
  CHECK ((kind = 'patient') = (chart_id IS NOT NULL)),
  CHECK ((kind = 'staff') = (member_user_id IS NOT NULL)),
  CHECK ((kind = 'interpreter') = (language IS NOT NULL)),
  CHECK (left_at IS NULL OR joined_at IS NULL OR left_at >= joined_at),
  CHECK ((joined_at IS NULL OR public.pf_plausible_time(joined_at)) AND (left_at IS NULL OR public.pf_plausible_time(left_at)))
);
CREATE UNIQUE INDEX cl_multi_party_participants_patient_idx
  ON public.cl_multi_party_participants (organization_id, encounter_id, chart_id) WHERE chart_id IS NOT NULL;
CREATE INDEX cl_multi_party_participants_encounter_idx ON public.cl_multi_party_participants (organization_id, encounter_id);

-- Whether the caller may see an encounter's clinical content: it holds
-- cl.multi_party.view and has consent (or no consent is needed) for every
-- patient participant's chart; with p_opened, every Part 2 patient's
-- disclosure is also in the committed accounting. One Part 2 patient
-- without either hides the whole encounter, since its content is about all
-- of them. The patients' charts are decided together, in one call of the
-- seed's rule (cl_sud_consent_charts). Reads the participants as the
-- definer (a policy on one table cannot read the other through RLS without
-- recursion).
-- +goose StatementBegin
CREATE FUNCTION public.cl_multi_party_allowed(p_organization_id uuid, p_encounter_id uuid, p_opened boolean) RETURNS boolean
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_charts uuid[];
  BEGIN
    IF NOT public.cl_has_permission(p_organization_id, 'cl.multi_party.view')
       OR NOT EXISTS (SELECT 1 FROM public.cl_multi_party_encounters e
                      WHERE e.organization_id = p_organization_id AND e.id = p_encounter_id) THEN
      RETURN false; -- the same answer whether or not the encounter exists
    END IF;
    v_charts := ARRAY(SELECT p.chart_id FROM public.cl_multi_party_participants p
                      WHERE p.organization_id = p_organization_id AND p.encounter_id = p_encounter_id AND p.kind = 'patient');
    RETURN pg_catalog.cardinality(v_charts) = 0
        OR pg_catalog.cardinality(v_charts) = pg_catalog.cardinality(public.cl_sud_consent_charts(
             p_organization_id, v_charts, 'multi_party_encounter', p_opened));
  END
  $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION public.cl_multi_party_visible(p_organization_id uuid, p_encounter_id uuid) RETURNS boolean
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN public.cl_multi_party_allowed(p_organization_id, p_encounter_id, false);
  END
  $$;
-- +goose StatementEnd

-- Whether the caller may read an encounter now: it may see it and every
-- Part 2 patient's disclosure is in the committed accounting
-- (cl_part2_opened's rule; cl_multi_party_disclose writes it). The
-- policies use this one.
-- +goose StatementBegin
CREATE FUNCTION public.cl_multi_party_readable(p_organization_id uuid, p_encounter_id uuid) RETURNS boolean
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN public.cl_multi_party_allowed(p_organization_id, p_encounter_id, true);
  END
  $$;
-- +goose StatementEnd

-- cl_multi_party_participants_of: an encounter's participants, oldest
-- first, to a caller who may read it (cl_multi_party_readable, asked once
-- for the encounter, as the participants' policy asks it per row).
-- +goose StatementBegin
CREATE FUNCTION public.cl_multi_party_participants_of(p_organization_id uuid, p_encounter_id uuid)
  RETURNS SETOF public.cl_multi_party_participants
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF NOT public.cl_multi_party_readable(p_organization_id, p_encounter_id) THEN
      RETURN;
    END IF;
    RETURN QUERY
      SELECT p.* FROM public.cl_multi_party_participants p
      WHERE p.organization_id = p_organization_id AND p.encounter_id = p_encounter_id
      ORDER BY p.created_at, p.id;
  END
  $$;
-- +goose StatementEnd

-- cl_multi_party_disclose: account for reading an encounter the caller may
-- see (one part2.record.disclosed row per Part 2 patient, once per
-- transaction and use), which, once committed, opens it to the caller.
-- Returns how many rows it wrote; an encounter the caller may not see
-- writes nothing.
-- +goose StatementBegin
CREATE FUNCTION public.cl_multi_party_disclose(p_organization_id uuid, p_encounter_id uuid, p_use text) RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_charts uuid[];
  BEGIN
    IF NOT public.cl_multi_party_visible(p_organization_id, p_encounter_id) THEN
      RETURN 0;
    END IF;
    -- The charts first, the accounting in a statement of its own (as
    -- cl_group_disclose).
    v_charts := ARRAY(SELECT p.chart_id FROM public.cl_multi_party_participants p
                      WHERE p.organization_id = p_organization_id AND p.encounter_id = p_encounter_id AND p.kind = 'patient');
    RETURN public.cl_part2_disclosed(p_organization_id, v_charts, 'multi_party_encounter', 'TREAT', p_use);
  END
  $$;
-- +goose StatementEnd

-- Whether an encounter the caller may read is still open (participants are
-- added only then). A function of the organization and the encounter, not
-- a sub-query in the policy.
-- +goose StatementBegin
CREATE FUNCTION public.cl_multi_party_open(p_organization_id uuid, p_encounter_id uuid) RETURNS boolean
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN public.cl_multi_party_readable(p_organization_id, p_encounter_id) AND EXISTS (
      SELECT 1 FROM public.cl_multi_party_encounters e
      WHERE e.organization_id = p_organization_id AND e.id = p_encounter_id AND e.ended_at IS NULL);
  END
  $$;
-- +goose StatementEnd

CREATE TRIGGER cl_multi_party_encounters_stamp BEFORE INSERT OR UPDATE ON public.cl_multi_party_encounters
  FOR EACH ROW EXECUTE FUNCTION public.pf_stamp();
CREATE TRIGGER cl_multi_party_participants_stamp BEFORE INSERT OR UPDATE ON public.cl_multi_party_participants
  FOR EACH ROW EXECUTE FUNCTION public.pf_stamp();

ALTER TABLE public.cl_multi_party_encounters ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_multi_party_encounters FORCE ROW LEVEL SECURITY;
ALTER TABLE public.cl_multi_party_participants ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_multi_party_participants FORCE ROW LEVEL SECURITY;
REVOKE ALL ON public.cl_multi_party_encounters, public.cl_multi_party_participants FROM PUBLIC, authenticated;
GRANT SELECT, INSERT ON public.cl_multi_party_participants TO authenticated;
-- The summary is read through cl_multi_party_encounters_shown only.
GRANT INSERT ON public.cl_multi_party_encounters TO authenticated;
CALL public.pf_grant_select_except('public.cl_multi_party_encounters', 'authenticated', ARRAY['summary']);
-- Who took part, and in what capacity, never changes; only the times and
-- the documentation do.
GRANT UPDATE (ended_at, summary, updated_by, updated_at) ON public.cl_multi_party_encounters TO authenticated;
GRANT UPDATE (joined_at, left_at) ON public.cl_multi_party_participants TO authenticated;

CREATE POLICY cl_multi_party_encounters_select ON public.cl_multi_party_encounters FOR SELECT TO authenticated
  USING (public.cl_multi_party_readable(organization_id, id));
CREATE POLICY cl_multi_party_encounters_insert ON public.cl_multi_party_encounters FOR INSERT TO authenticated
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.multi_party.manage')
              AND created_by = auth.uid() AND updated_by = auth.uid()
              AND started_at <= pg_catalog.statement_timestamp() + interval '1 minute');

-- What a new encounter names: a lead clinician who may lead multi-party
-- encounters, a PM-13 session of the organization. Refused by column, so
-- that the library names the field (it does not ask first); a caller who
-- may not manage multi-party encounters is refused first, so that nobody
-- learns another organization's staff or sessions by the error. The
-- owner (no acting user: the host's own code) is trusted, as it is by row
-- level security; a claimless caller as authenticated is refused by the
-- insert policy.
-- +goose StatementBegin
CREATE FUNCTION public.cl_multi_party_encounters_references_guard() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF auth.uid() IS NULL THEN
      RETURN NEW;
    END IF;
    IF NOT public.cl_has_permission(NEW.organization_id, 'cl.multi_party.manage') THEN
      PERFORM public.pf_refuse(NEW.organization_id, 'multi_party.manage', 'multi_party_encounter', NEW.id,
        'permission denied: cl.multi_party.manage');
    END IF;
    IF NOT public.cl_staff_holds(NEW.organization_id, NEW.lead_clinician_id, 'cl.multi_party.manage') THEN
      RAISE EXCEPTION 'the lead clinician may not lead multi-party encounters in the organization (lead_clinician_id)'
        USING ERRCODE = 'check_violation', COLUMN = 'lead_clinician_id';
    END IF;
    IF NOT public.cl_pm_reference_ok(NEW.organization_id, 'pm_telehealth_sessions', NEW.pm_telehealth_session_id) THEN
      RAISE EXCEPTION 'the telehealth session is not one of the organization''s (pm_telehealth_session_id)'
        USING ERRCODE = 'check_violation', COLUMN = 'pm_telehealth_session_id';
    END IF;
    RETURN NEW;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_multi_party_encounters_references_guard() FROM PUBLIC, authenticated;
CREATE TRIGGER cl_multi_party_encounters_references_guard BEFORE INSERT ON public.cl_multi_party_encounters
  FOR EACH ROW EXECUTE FUNCTION public.cl_multi_party_encounters_references_guard();
CREATE POLICY cl_multi_party_encounters_update ON public.cl_multi_party_encounters FOR UPDATE TO authenticated
  USING (public.cl_has_permission(organization_id, 'cl.multi_party.manage') AND public.cl_multi_party_readable(organization_id, id))
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.multi_party.manage')
              AND public.cl_multi_party_readable(organization_id, id) AND updated_by = auth.uid());

CREATE POLICY cl_multi_party_participants_select ON public.cl_multi_party_participants FOR SELECT TO authenticated
  USING (public.cl_multi_party_readable(organization_id, encounter_id));
-- Adding a participant needs an encounter the user may see that has not
-- ended; adding a patient, that chart's consent for multi-party encounters.
CREATE POLICY cl_multi_party_participants_insert ON public.cl_multi_party_participants FOR INSERT TO authenticated
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.multi_party.manage') AND created_by = auth.uid()
              AND public.cl_multi_party_open(organization_id, encounter_id)
              AND (kind <> 'patient' OR public.cl_check_sud_consent(chart_id, 'multi_party_encounter', auth.uid())));
CREATE POLICY cl_multi_party_participants_update ON public.cl_multi_party_participants FOR UPDATE TO authenticated
  USING (public.cl_has_permission(organization_id, 'cl.multi_party.manage') AND public.cl_multi_party_readable(organization_id, encounter_id))
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.multi_party.manage')
              AND public.cl_multi_party_readable(organization_id, encounter_id)
              AND (kind <> 'patient' OR public.cl_check_sud_consent(chart_id, 'multi_party_encounter', auth.uid())));

-- An encounter ends once; after that its documentation is frozen.
-- +goose StatementBegin
CREATE FUNCTION public.cl_multi_party_encounters_guard() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF OLD.ended_at IS NOT NULL AND (NEW.ended_at IS DISTINCT FROM OLD.ended_at OR NEW.summary IS DISTINCT FROM OLD.summary) THEN
      RAISE EXCEPTION 'an ended multi-party encounter cannot be reopened or rewritten' USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.ended_at IS NOT NULL AND NEW.ended_at > pg_catalog.now() + interval '1 minute' THEN
      RAISE EXCEPTION 'an encounter cannot end in the future' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  END
  $$;
-- +goose StatementEnd
CREATE TRIGGER cl_multi_party_encounters_guard BEFORE UPDATE ON public.cl_multi_party_encounters
  FOR EACH ROW EXECUTE FUNCTION public.cl_multi_party_encounters_guard();
REVOKE ALL ON FUNCTION public.cl_multi_party_encounters_guard() FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_multi_party_allowed(uuid, uuid, boolean) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_multi_party_participants_of(uuid, uuid) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_multi_party_participants_of(uuid, uuid) TO authenticated;
REVOKE ALL ON FUNCTION public.cl_multi_party_visible(uuid, uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_multi_party_open(uuid, uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_multi_party_readable(uuid, uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_multi_party_disclose(uuid, uuid, text) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_multi_party_readable(uuid, uuid) TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_multi_party_disclose(uuid, uuid, text) TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_multi_party_open(uuid, uuid) TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_multi_party_visible(uuid, uuid) TO authenticated;

-- cl_multi_party_summary: an encounter's summary, for a caller who may read
-- the encounter now (cl_multi_party_readable: its Part 2 patients
-- accounted for) and holds cl.multi_party.view_text; NULL for anyone else.
-- +goose StatementBegin
CREATE FUNCTION public.cl_multi_party_summary(p_organization_id uuid, p_encounter_id uuid) RETURNS text
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF NOT (public.cl_has_permission(p_organization_id, 'cl.multi_party.view_text')
            AND public.cl_multi_party_readable(p_organization_id, p_encounter_id)) THEN
      RETURN NULL;
    END IF;
    RETURN (SELECT e.summary FROM public.cl_multi_party_encounters e
            WHERE e.organization_id = p_organization_id AND e.id = p_encounter_id);
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_multi_party_summary(uuid, uuid) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_multi_party_summary(uuid, uuid) TO authenticated;

-- cl_multi_party_encounters_shown: the encounters the caller may see (the
-- table's policy applies, as the caller), with their summary where the
-- caller may read it and '' elsewhere.
CREATE VIEW public.cl_multi_party_encounters_shown WITH (security_invoker = true) AS
  SELECT e.organization_id, e.id, e.site_id, e.kind, e.modality, e.pm_telehealth_session_id, e.lead_clinician_id,
         e.started_at, e.ended_at, coalesce(public.cl_multi_party_summary(e.organization_id, e.id), '') AS summary,
         e.created_by, e.created_at, e.updated_by, e.updated_at
  FROM public.cl_multi_party_encounters e;
REVOKE ALL ON public.cl_multi_party_encounters_shown FROM PUBLIC, authenticated;
GRANT SELECT ON public.cl_multi_party_encounters_shown TO authenticated;

-- cl_multi_party_encounter_read: an encounter as the caller may see it (the
-- summary only with cl.multi_party.view_text) with its participants, for a
-- read that accounts for itself: cl.multi_party.view, then its patients'
-- charts in one call of cl_part2_account (the seed's rule for a treatment
-- display, and the lines of its Part 2 charts where none stands), the
-- encounter only when every patient's chart is open (one patient without
-- hides it whole, as cl_multi_party_allowed). Where a line had to be
-- written nothing is returned: the library, seeing that the transaction
-- wrote, reads again once it has committed. The participants, oldest
-- first, come in the same row (a JSON array of the table's rows), so the
-- rule is decided once for both (cl_multi_party_participants_of, which
-- plain SQL may call, decides it again).
-- +goose StatementBegin
CREATE FUNCTION public.cl_multi_party_encounter_read(p_organization_id uuid, p_encounter_id uuid)
  RETURNS TABLE (organization_id uuid, id uuid, site_id uuid, kind text, modality text, pm_telehealth_session_id uuid,
                 lead_clinician_id uuid, started_at timestamptz, ended_at timestamptz, summary text, created_by uuid,
                 created_at timestamptz, updated_by uuid, updated_at timestamptz, participants json)
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_charts       uuid[];
    v_participants json;
  BEGIN
    IF NOT public.cl_has_permission(p_organization_id, 'cl.multi_party.view') THEN
      RETURN;
    END IF;
    -- The participants once, and the charts decided are theirs: what is
    -- returned is what was decided (each statement of a read committed
    -- function sees its own snapshot: a patient added meanwhile would
    -- otherwise come out unchecked).
    SELECT pg_catalog.json_agg(p ORDER BY p.created_at, p.id),
           coalesce(pg_catalog.array_agg(p.chart_id) FILTER (WHERE p.kind = 'patient'), '{}'::uuid[])
      INTO v_participants, v_charts
    FROM public.cl_multi_party_participants p
    WHERE p.organization_id = p_organization_id AND p.encounter_id = p_encounter_id;
    IF pg_catalog.cardinality(v_charts) > 0
       AND pg_catalog.cardinality((public.cl_part2_account(p_organization_id, v_charts, 'multi_party_encounter', 'TREAT',
                                                           'display', true)).open_charts) < pg_catalog.cardinality(v_charts) THEN
      RETURN;
    END IF;
    RETURN QUERY
      SELECT e.organization_id, e.id, e.site_id, e.kind, e.modality, e.pm_telehealth_session_id, e.lead_clinician_id,
             e.started_at, e.ended_at,
             CASE WHEN public.cl_has_permission(p_organization_id, 'cl.multi_party.view_text') THEN e.summary ELSE '' END,
             e.created_by, e.created_at, e.updated_by, e.updated_at, coalesce(v_participants, '[]'::json)
      FROM public.cl_multi_party_encounters e
      WHERE e.organization_id = p_organization_id AND e.id = p_encounter_id;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_multi_party_encounter_read(uuid, uuid) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_multi_party_encounter_read(uuid, uuid) TO authenticated;
