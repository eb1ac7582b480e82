-- +goose Up
-- CL-19 peer recovery support services: billing codes (PF-70), peer
-- encounter service types (PF-15 or per organization), and peer encounters.

-- PF-70: national codes the library knows, and each organization's own.
CREATE TABLE public.pf_billing_codes (
  code           text PRIMARY KEY CHECK (code ~ '^[A-Z0-9][A-Z0-9.]+$' AND pg_catalog.length(code) <= 10),
  code_system    text NOT NULL,
  descriptor     text NOT NULL,
  unit_minutes   integer CHECK (unit_minutes > 0),
  effective_from date NOT NULL,
  effective_to   date,
  CHECK (effective_to IS NULL OR effective_to >= effective_from)
);
INSERT INTO public.pf_billing_codes (code, code_system, descriptor, unit_minutes, effective_from) VALUES
  ('H0038', 'HCPCS', 'Self-help/peer services, per 15 minutes', 15, '2003-01-01'),
  ('H2017', 'HCPCS', 'Psychosocial rehabilitation services, per 15 minutes', 15, '2003-01-01');

CREATE TABLE public.pf_org_billing_codes (
  organization_id uuid NOT NULL REFERENCES public.pf_organizations (id),
  code            text NOT NULL CHECK (code ~ '^[A-Z0-9][A-Z0-9.]+$' AND pg_catalog.length(code) <= 10),
  code_system     text NOT NULL,
  descriptor      text NOT NULL,
  unit_minutes    integer CHECK (unit_minutes > 0),
  effective_from  date NOT NULL,
  effective_to    date,
  PRIMARY KEY (organization_id, code),
  CHECK (effective_to IS NULL OR effective_to >= effective_from)
);

-- Whether a code may be billed by an organization on a date.
-- +goose StatementBegin
CREATE FUNCTION public.pf_billing_code_valid(p_organization_id uuid, p_code text, p_on date) RETURNS boolean
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN public.cl_has_org_access(p_organization_id) AND (
      EXISTS (SELECT 1 FROM public.pf_billing_codes c
              WHERE c.code = p_code AND c.effective_from <= p_on AND (c.effective_to IS NULL OR c.effective_to >= p_on))
      OR EXISTS (SELECT 1 FROM public.pf_org_billing_codes c
                 WHERE c.organization_id = p_organization_id AND c.code = p_code
                   AND c.effective_from <= p_on AND (c.effective_to IS NULL OR c.effective_to >= p_on)));
  END
  $$;
-- +goose StatementEnd

-- PF-15 (HOST-PROVIDED where a host has its own lookup values): seeded,
-- cross-organization values, here the peer_encounter_type category.
CREATE TABLE public.pf_lookup_values (
  category   text NOT NULL CHECK (category ~ '^[a-z][a-z0-9_]+$'),
  code       text NOT NULL CHECK (code ~ '^[a-z][a-z0-9_]+$' AND pg_catalog.length(code) <= 63),
  label      text NOT NULL,
  sort_order integer NOT NULL DEFAULT 0,
  active     boolean NOT NULL DEFAULT true,
  PRIMARY KEY (category, code)
);
INSERT INTO public.pf_lookup_values (category, code, label, sort_order) VALUES
  ('peer_encounter_type', 'peer_support', 'Peer support', 1),
  ('peer_encounter_type', 'recovery_coaching', 'Recovery coaching', 2),
  ('peer_encounter_type', 'crisis_peer', 'Crisis peer', 3);

-- An organization's own peer service types, used when it does not use PF-15.
CREATE TABLE public.cl_peer_service_types (
  organization_id uuid NOT NULL REFERENCES public.pf_organizations (id),
  code            text NOT NULL CHECK (code ~ '^[a-z][a-z0-9_]+$' AND pg_catalog.length(code) <= 63),
  label           text NOT NULL CHECK (pg_catalog.length(label) BETWEEN 1 AND 200),
  active          boolean NOT NULL DEFAULT true,
  PRIMARY KEY (organization_id, code)
);

-- Per-organization CL-19 settings. No row means the defaults (use PF-15).
-- require_cosign: a qualified supervisor (cl.peer.encounter.cosign) must
-- co-sign a draft before it is finalized, as many state peer-certification
-- programs require before billing.
CREATE TABLE public.cl_peer_settings (
  organization_id uuid PRIMARY KEY REFERENCES public.pf_organizations (id),
  use_pf15        boolean NOT NULL DEFAULT true,
  require_cosign  boolean NOT NULL DEFAULT false
);

-- The one service-type resolver every read and write uses: the types an
-- organization may use now (source 'pf15' or 'org', by its use_pf15 flag),
-- or, with p_source given, the types of that source (to label an encounter
-- recorded under it).
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_service_types_for(p_organization_id uuid, p_source text DEFAULT NULL)
  RETURNS TABLE (source text, code text, label text, active boolean)
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  #variable_conflict use_column
  DECLARE
    v_source text;
  BEGIN
    IF NOT public.cl_has_org_access(p_organization_id) THEN
      RETURN;
    END IF;
    v_source := coalesce(p_source,
                  CASE WHEN coalesce((SELECT s.use_pf15 FROM public.cl_peer_settings s
                                      WHERE s.organization_id = p_organization_id), true)
                       THEN 'pf15' ELSE 'org' END);
    IF v_source = 'pf15' THEN
      RETURN QUERY SELECT 'pf15'::text, v.code, v.label, v.active FROM public.pf_lookup_values v
        WHERE v.category = 'peer_encounter_type';
    ELSE
      RETURN QUERY SELECT 'org'::text, t.code, t.label, t.active FROM public.cl_peer_service_types t
        WHERE t.organization_id = p_organization_id;
    END IF;
  END
  $$;
-- +goose StatementEnd

CREATE TABLE public.cl_peer_encounters (
  organization_id     uuid NOT NULL,
  id                  uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  site_id             uuid,
  chart_id            uuid NOT NULL,
  -- PM-03 encounter: a UUID-only reference, no foreign key (PM owns it).
  encounter_id        uuid,
  peer_provider_id    uuid NOT NULL,
  service_date        date NOT NULL,
  start_time          timestamptz NOT NULL,
  end_time            timestamptz NOT NULL,
  duration_minutes    integer NOT NULL,
  service_type        text NOT NULL,
  service_type_source text NOT NULL CHECK (service_type_source IN ('pf15', 'org')),
  hcpcs_code          text NOT NULL CHECK (hcpcs_code ~ '^[A-Z0-9][A-Z0-9.]+$' AND pg_catalog.length(hcpcs_code) <= 10),
  focus_notes         text NOT NULL DEFAULT '' CHECK (pg_catalog.length(focus_notes) <= 20000),
  status              text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'finalized')),
  created_by          uuid NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_by          uuid NOT NULL,
  updated_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
  finalized_by        uuid,
  finalized_at        timestamptz,
  -- The supervisor's co-sign of the draft as it stands (cleared by any
  -- later edit), set only by cl_peer_encounter_cosign.
  cosigned_by         uuid,
  cosigned_at         timestamptz,
  PRIMARY KEY (organization_id, id),
  UNIQUE (organization_id, id, chart_id),
  FOREIGN KEY (organization_id, site_id) REFERENCES public.pf_sites (organization_id, id),
  FOREIGN KEY (organization_id, chart_id) REFERENCES public.cl_charts (organization_id, id),
  FOREIGN KEY (organization_id, peer_provider_id) REFERENCES public.pf_members (organization_id, user_id),
  CHECK (end_time > start_time),
  CHECK (duration_minutes BETWEEN 1 AND 1440),
  CHECK (duration_minutes <= pg_catalog.ceil(EXTRACT(EPOCH FROM (end_time - start_time)) / 60)),
  CHECK (public.pf_plausible_date(service_date) AND public.pf_plausible_time(start_time) AND public.pf_plausible_time(end_time)),
  -- The service date is the day the service starts on, in some time zone
  -- (UTC-12 to UTC+14): Go checks the caller's own zone exactly.
  CHECK (service_date BETWEEN (start_time AT TIME ZONE 'UTC')::date - 1 AND (start_time AT TIME ZONE 'UTC')::date + 1),
  CHECK ((status = 'finalized') = (finalized_at IS NOT NULL AND finalized_by IS NOT NULL)),
  -- A finalized encounter documents what was done.
  CONSTRAINT cl_peer_encounters_finalized_needs_notes CHECK (status = 'draft' OR pg_catalog.btrim(focus_notes) <> ''),
  CHECK ((cosigned_by IS NULL) = (cosigned_at IS NULL)),
  CHECK (cosigned_by IS DISTINCT FROM peer_provider_id)
);
-- Listing a chart's or a provider's encounters, newest first (keyset). A
-- provider's page learns its charts before it reads its rows: from the
-- index alone (chart_id included).
CREATE INDEX cl_peer_encounters_chart_idx ON public.cl_peer_encounters (organization_id, chart_id, service_date DESC, id DESC);
CREATE INDEX cl_peer_encounters_provider_idx ON public.cl_peer_encounters (organization_id, peer_provider_id, service_date DESC, id DESC)
  INCLUDE (chart_id);

-- A finalized encounter is immutable; corrections are amendments, with
-- history (who, when, what changed, why), never edits.
CREATE TABLE public.cl_peer_encounter_amendments (
  organization_id   uuid NOT NULL,
  id                uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  peer_encounter_id uuid NOT NULL,
  chart_id          uuid NOT NULL,
  kind              text NOT NULL CHECK (kind IN ('addendum', 'correction')),
  body              text NOT NULL CHECK (pg_catalog.length(pg_catalog.btrim(body)) BETWEEN 1 AND 20000),
  reason            text NOT NULL CHECK (pg_catalog.length(pg_catalog.btrim(reason)) BETWEEN 1 AND 2000),
  created_by        uuid NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
  -- A correction of billed figures names them (NULL: unchanged); each
  -- publishes peer_encounter_corrected (cl_peer_encounter_correct).
  corrected_service_date     date CHECK (public.pf_plausible_date(corrected_service_date)),
  corrected_duration_minutes integer CHECK (corrected_duration_minutes BETWEEN 1 AND 1440),
  corrected_hcpcs_code       text CHECK (corrected_hcpcs_code ~ '^[A-Z0-9][A-Z0-9.]+$' AND pg_catalog.length(corrected_hcpcs_code) <= 10),
  corrected_peer_provider_id uuid,
  -- A correction of billed figures: its place among the encounter's, 1,
  -- 2, ..., numbered by cl_peer_encounter_correct under the encounter's
  -- row lock; the order the figures apply in (cl_peer_encounter_billed)
  -- and the order their events are published in, whatever the
  -- transactions' clocks or the amendments' ids.
  billing_seq integer CHECK (billing_seq >= 1),
  PRIMARY KEY (organization_id, id),
  UNIQUE (organization_id, peer_encounter_id, billing_seq),
  CONSTRAINT cl_peer_encounter_amendments_billing_seq
    CHECK ((billing_seq IS NULL) = ((corrected_service_date, corrected_duration_minutes, corrected_hcpcs_code,
                                     corrected_peer_provider_id) IS NULL)),
  -- The amendment's chart is its encounter's chart.
  FOREIGN KEY (organization_id, peer_encounter_id, chart_id)
    REFERENCES public.cl_peer_encounters (organization_id, id, chart_id),
  FOREIGN KEY (organization_id, corrected_peer_provider_id) REFERENCES public.pf_members (organization_id, user_id),
  CONSTRAINT cl_peer_encounter_amendments_figures_are_corrections
    CHECK (kind = 'correction' OR (corrected_service_date, corrected_duration_minutes, corrected_hcpcs_code,
                                   corrected_peer_provider_id) IS NULL)
);

-- The database stands behind the Go validation for every acting-user write
-- (auth.uid() set; a host's superuser maintenance is not checked here):
-- the provider holds cl.peer.service.provide, the code is billable on the
-- service date, the service type is one of the source the encounter
-- records, and the service is not in the future. A finalized encounter is
-- immutable; finalizing is a transition of its own: with
-- cl.peer.encounter.finalize, by the caller, now, with nothing else
-- changed, and (checked at commit) with its peer_encounter_finalized event
-- in the outbox. Documenting or finalizing for another peer provider needs
-- cl.peer.encounter.on_behalf (the policies) and is audited here.
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_encounters_guard() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_user       uuid := auth.uid();
    v_permission text;
  BEGIN
    IF TG_OP = 'UPDATE' THEN
      IF OLD.status = 'finalized' THEN
        RAISE EXCEPTION 'a finalized peer encounter cannot be changed; record an amendment'
          USING ERRCODE = 'check_violation';
      END IF;
      IF NEW.organization_id <> OLD.organization_id OR NEW.id <> OLD.id OR NEW.chart_id <> OLD.chart_id
         OR NEW.created_by <> OLD.created_by OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION 'a peer encounter keeps its organization, chart and creation'
          USING ERRCODE = 'check_violation';
      END IF;
      -- An edit of the draft's content undoes its co-sign: the supervisor
      -- co-signed what it said then.
      IF NEW.status = 'draft' AND NOT public.pf_changed_only(pg_catalog.to_jsonb(OLD), pg_catalog.to_jsonb(NEW),
           ARRAY['updated_by', 'updated_at', 'cosigned_by', 'cosigned_at']) THEN
        NEW.cosigned_by := NULL;
        NEW.cosigned_at := NULL;
      END IF;
      IF NEW.status = 'finalized' THEN
        -- Finalizing changes the status and its stamps, nothing else (a
        -- column added later is covered too).
        IF NOT public.pf_changed_only(pg_catalog.to_jsonb(OLD), pg_catalog.to_jsonb(NEW),
                                      ARRAY['status', 'finalized_by', 'finalized_at', 'updated_by', 'updated_at'])
           OR (v_user IS NOT NULL AND NEW.finalized_by IS DISTINCT FROM v_user) THEN
          RAISE EXCEPTION 'finalizing changes nothing but the status, by the caller'
            USING ERRCODE = 'check_violation';
        END IF;
        -- The database's clock on the finalization (HR's timeliness and the
        -- event's timestamp are measured from it); then the permissions,
        -- before the organization's setting: finalizing needs its own and,
        -- as an edit, the edit permission (cl_peer_encounter_finalize
        -- writes as the definer and asks them here, once).
        IF v_user IS NOT NULL THEN
          NEW.finalized_at := pg_catalog.now();
          FOREACH v_permission IN ARRAY ARRAY['cl.peer.encounter.finalize', 'cl.peer.encounter.edit'] LOOP
            IF NOT public.cl_has_permission(NEW.organization_id, v_permission) THEN
              PERFORM public.pf_refuse(NEW.organization_id, 'peer_encounter.finalize', 'peer_encounter', NEW.id,
                'finalizing a peer encounter needs ' || v_permission);
            END IF;
          END LOOP;
        END IF;
        IF NEW.cosigned_by IS NULL AND coalesce((SELECT s.require_cosign FROM public.cl_peer_settings s
                                                 WHERE s.organization_id = NEW.organization_id), false) THEN
          RAISE EXCEPTION 'the organization requires a supervisor''s co-sign before finalizing (cosigned_by)'
            USING ERRCODE = 'check_violation', COLUMN = 'cosigned_by';
        END IF;
      END IF;
    END IF;
    -- A caller who may not write here learns nothing from the checks below:
    -- an insert without the create permission is refused here (for plain
    -- SQL as for cl_peer_encounter_create, which so asks it once), an
    -- update without the edit permission by the policies (the co-sign
    -- writes as the definer: a supervisor who may not edit goes through),
    -- a finalization without it above.
    IF v_user IS NULL THEN
      RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' AND NOT public.cl_has_permission(NEW.organization_id, 'cl.peer.encounter.create') THEN
      RAISE EXCEPTION 'permission denied: creating a peer encounter needs cl.peer.encounter.create'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.status <> 'finalized'
       AND NOT public.cl_has_permission(NEW.organization_id, 'cl.peer.encounter.edit') THEN
      RETURN NEW;
    END IF;
    -- Each refusal names its column (the library turns it into a field
    -- error); a finalization checks again what may have changed since the
    -- draft (the provider's role, the code's dates, the PM-03 encounter).
    IF TG_OP = 'INSERT' AND NOT EXISTS (SELECT 1 FROM public.cl_charts c
                                        WHERE c.organization_id = NEW.organization_id AND c.id = NEW.chart_id) THEN
      RAISE EXCEPTION 'the chart is not one of the organization''s (chart_id)' USING ERRCODE = 'foreign_key_violation', COLUMN = 'chart_id';
    END IF;
    IF (TG_OP = 'INSERT' OR NEW.status = 'finalized' OR NEW.peer_provider_id <> OLD.peer_provider_id)
       AND NOT public.cl_staff_holds(NEW.organization_id, NEW.peer_provider_id, 'cl.peer.service.provide') THEN
      RAISE EXCEPTION 'the provider is not a peer specialist of the organization (peer_provider_id)'
        USING ERRCODE = 'check_violation', COLUMN = 'peer_provider_id';
    END IF;
    IF (TG_OP = 'INSERT' OR NEW.start_time <> OLD.start_time OR NEW.end_time <> OLD.end_time OR NEW.service_date <> OLD.service_date)
       AND (NEW.end_time > pg_catalog.statement_timestamp() + interval '1 minute'
            OR NEW.service_date > (pg_catalog.statement_timestamp() AT TIME ZONE 'UTC')::date + 1) THEN
      RAISE EXCEPTION 'a peer encounter cannot be in the future (end_time)' USING ERRCODE = 'check_violation', COLUMN = 'end_time';
    END IF;
    IF (TG_OP = 'INSERT' OR NEW.status = 'finalized' OR NEW.hcpcs_code <> OLD.hcpcs_code OR NEW.service_date <> OLD.service_date)
       AND NOT public.pf_billing_code_valid(NEW.organization_id, NEW.hcpcs_code, NEW.service_date) THEN
      RAISE EXCEPTION 'the code is not billable by the organization on the service date (hcpcs_code)'
        USING ERRCODE = 'check_violation', COLUMN = 'hcpcs_code';
    END IF;
    IF (TG_OP = 'INSERT' OR NEW.status = 'finalized' OR NEW.encounter_id IS DISTINCT FROM OLD.encounter_id)
       AND NOT public.cl_pm_reference_ok(NEW.organization_id, 'pm_encounters', NEW.encounter_id, NEW.chart_id) THEN
      RAISE EXCEPTION 'the PM-03 encounter is not one of the organization''s for this chart (encounter_id)'
        USING ERRCODE = 'check_violation', COLUMN = 'encounter_id';
    END IF;
    -- The service type's source is the database's: the organization's
    -- vocabulary now (PF-15 or its own, by use_pf15) for a new or changed
    -- type; an unchanged type keeps its source, even after the organization
    -- switched vocabularies.
    IF TG_OP = 'INSERT' OR NEW.service_type <> OLD.service_type THEN
      NEW.service_type_source := (SELECT t.source FROM public.cl_peer_service_types_for(NEW.organization_id) t
                                  WHERE t.code = NEW.service_type AND t.active);
      IF NEW.service_type_source IS NULL THEN
        RAISE EXCEPTION 'the service type is not one the organization uses now (service_type)'
          USING ERRCODE = 'check_violation', COLUMN = 'service_type';
      END IF;
    ELSE
      NEW.service_type_source := OLD.service_type_source;
    END IF;
    IF NEW.peer_provider_id <> v_user AND (TG_OP = 'INSERT' OR NEW.status = 'finalized'
                                           OR NEW.peer_provider_id <> OLD.peer_provider_id) THEN
      PERFORM public.pf_audit_write(v_user, NEW.organization_id, NEW.site_id,
        CASE WHEN TG_OP = 'UPDATE' AND NEW.status = 'finalized' THEN 'cl.peer_encounter.finalized_on_behalf'
             ELSE 'cl.peer_encounter.documented_on_behalf' END,
        'peer_encounter', NEW.id, 'TREAT',
        pg_catalog.jsonb_build_object('peer_provider_id', NEW.peer_provider_id, 'chart_id', NEW.chart_id));
    END IF;
    RETURN NEW;
  END
  $$;
-- +goose StatementEnd
CREATE TRIGGER cl_peer_encounters_guard BEFORE INSERT OR UPDATE ON public.cl_peer_encounters
  FOR EACH ROW EXECUTE FUNCTION public.cl_peer_encounters_guard();
CREATE TRIGGER cl_peer_encounters_stamp BEFORE INSERT OR UPDATE ON public.cl_peer_encounters
  FOR EACH ROW EXECUTE FUNCTION public.pf_stamp();
-- A draft starts without a co-sign (cl_peer_encounter_cosign gives it).
CREATE TRIGGER cl_peer_encounters_initial BEFORE INSERT ON public.cl_peer_encounters
  FOR EACH ROW EXECUTE FUNCTION public.pf_initial_values('{"cosigned_by": null, "cosigned_at": null}');

-- Only a finalized encounter is amended (a draft is edited), and the
-- amendment's time is the database's.
-- cl_peer_encounter_billed: an encounter's billed figures as they stand
-- after its corrections (each correction's named figures over the
-- finalized ones, oldest first), up to and including p_upto (a correction
-- being written, not yet in the table), or all of them when NULL.
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_encounter_billed(p_organization_id uuid, p_encounter_id uuid,
                                                p_upto public.cl_peer_encounter_amendments,
                                                OUT service_date date, OUT duration_minutes integer,
                                                OUT hcpcs_code text, OUT peer_provider_id uuid)
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    a public.cl_peer_encounter_amendments;
  BEGIN
    SELECT e.service_date, e.duration_minutes, e.hcpcs_code, e.peer_provider_id
      INTO service_date, duration_minutes, hcpcs_code, peer_provider_id
    FROM public.cl_peer_encounters e WHERE e.organization_id = p_organization_id AND e.id = p_encounter_id;
    FOR a IN SELECT x.* FROM public.cl_peer_encounter_amendments x
             WHERE x.organization_id = p_organization_id AND x.peer_encounter_id = p_encounter_id AND x.kind = 'correction'
               AND x.billing_seq IS NOT NULL AND (p_upto.id IS NULL OR x.billing_seq <= p_upto.billing_seq)
             ORDER BY x.billing_seq LOOP
      service_date := coalesce(a.corrected_service_date, service_date);
      duration_minutes := coalesce(a.corrected_duration_minutes, duration_minutes);
      hcpcs_code := coalesce(a.corrected_hcpcs_code, hcpcs_code);
      peer_provider_id := coalesce(a.corrected_peer_provider_id, peer_provider_id);
    END LOOP;
    IF p_upto.id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.cl_peer_encounter_amendments x
                                              WHERE x.organization_id = p_organization_id AND x.id = p_upto.id) THEN
      service_date := coalesce(p_upto.corrected_service_date, service_date);
      duration_minutes := coalesce(p_upto.corrected_duration_minutes, duration_minutes);
      hcpcs_code := coalesce(p_upto.corrected_hcpcs_code, hcpcs_code);
      peer_provider_id := coalesce(p_upto.corrected_peer_provider_id, peer_provider_id);
    END IF;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_peer_encounter_billed(uuid, uuid, public.cl_peer_encounter_amendments) FROM PUBLIC, authenticated;

-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_encounter_amendments_guard() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    pe public.cl_peer_encounters;
    f  record;
  BEGIN
    SELECT * INTO pe FROM public.cl_peer_encounters e
    WHERE e.organization_id = NEW.organization_id AND e.id = NEW.peer_encounter_id AND e.status = 'finalized';
    IF NOT FOUND THEN
      RAISE EXCEPTION 'only a finalized peer encounter is amended; edit the draft' USING ERRCODE = 'check_violation';
    END IF;
    -- Corrected figures meet the rules a draft's do, as they would stand.
    IF NOT ((NEW.corrected_service_date, NEW.corrected_duration_minutes, NEW.corrected_hcpcs_code,
             NEW.corrected_peer_provider_id) IS NULL) THEN
      -- As the table's row type: on a Citus shard NEW is the shard's.
      f := public.cl_peer_encounter_billed(NEW.organization_id, NEW.peer_encounter_id,
                                           ROW(NEW.*)::public.cl_peer_encounter_amendments);
      IF NEW.corrected_peer_provider_id IS NOT NULL
         AND NOT public.cl_staff_holds(NEW.organization_id, NEW.corrected_peer_provider_id, 'cl.peer.service.provide') THEN
        RAISE EXCEPTION 'the provider is not a peer specialist of the organization (corrected_peer_provider_id)'
          USING ERRCODE = 'check_violation', COLUMN = 'corrected_peer_provider_id';
      END IF;
      IF NOT public.pf_billing_code_valid(NEW.organization_id, f.hcpcs_code, f.service_date) THEN
        RAISE EXCEPTION 'the code is not billable by the organization on the service date (corrected_hcpcs_code)'
          USING ERRCODE = 'check_violation', COLUMN = 'corrected_hcpcs_code';
      END IF;
      IF f.duration_minutes > pg_catalog.ceil(EXTRACT(EPOCH FROM (pe.end_time - pe.start_time)) / 60)
         OR f.service_date NOT BETWEEN (pe.start_time AT TIME ZONE 'UTC')::date - 1 AND (pe.start_time AT TIME ZONE 'UTC')::date + 1 THEN
        RAISE EXCEPTION 'the corrected figures do not fit the session''s times (corrected_duration_minutes)'
          USING ERRCODE = 'check_violation', COLUMN = 'corrected_duration_minutes';
      END IF;
    END IF;
    RETURN NEW;
  END
  $$;
-- +goose StatementEnd
CREATE TRIGGER cl_peer_encounter_amendments_guard BEFORE INSERT ON public.cl_peer_encounter_amendments
  FOR EACH ROW EXECUTE FUNCTION public.cl_peer_encounter_amendments_guard();
CREATE TRIGGER cl_peer_encounter_amendments_stamp BEFORE INSERT ON public.cl_peer_encounter_amendments
  FOR EACH ROW EXECUTE FUNCTION public.pf_stamp();

-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_encounters_require_event() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.cl_pm_events e
                   WHERE e.organization_id = NEW.organization_id AND e.event_type = 'peer_encounter_finalized'
                     AND e.aggregate_id = NEW.id) THEN
      RAISE EXCEPTION 'a finalized peer encounter needs its peer_encounter_finalized event in the same transaction'
        USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
  END
  $$;
-- +goose StatementEnd
CREATE CONSTRAINT TRIGGER cl_peer_encounters_require_event AFTER UPDATE ON public.cl_peer_encounters
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.status = 'draft' AND NEW.status = 'finalized')
  EXECUTE FUNCTION public.cl_peer_encounters_require_event();

ALTER TABLE public.pf_billing_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.pf_billing_codes FORCE ROW LEVEL SECURITY;
ALTER TABLE public.pf_org_billing_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.pf_org_billing_codes FORCE ROW LEVEL SECURITY;
ALTER TABLE public.pf_lookup_values ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.pf_lookup_values FORCE ROW LEVEL SECURITY;
ALTER TABLE public.cl_peer_service_types ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_peer_service_types FORCE ROW LEVEL SECURITY;
ALTER TABLE public.cl_peer_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_peer_settings FORCE ROW LEVEL SECURITY;
ALTER TABLE public.cl_peer_encounters ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_peer_encounters FORCE ROW LEVEL SECURITY;
ALTER TABLE public.cl_peer_encounter_amendments ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_peer_encounter_amendments FORCE ROW LEVEL SECURITY;

REVOKE ALL ON public.pf_billing_codes, public.pf_org_billing_codes, public.pf_lookup_values, public.cl_peer_service_types,
  public.cl_peer_settings, public.cl_peer_encounters, public.cl_peer_encounter_amendments FROM PUBLIC, authenticated;
GRANT SELECT ON public.pf_billing_codes, public.pf_org_billing_codes, public.pf_lookup_values,
  public.cl_peer_service_types, public.cl_peer_settings TO authenticated;
-- Clinical text (focus notes, amendments' body and reason) is not
-- readable by plain SQL: it leaves the database only through the library's
-- read functions below, to callers holding cl.peer.encounter.view_text.
GRANT INSERT ON public.cl_peer_encounters TO authenticated;
CALL public.pf_grant_select_except('public.cl_peer_encounters', 'authenticated', ARRAY['focus_notes']);
GRANT UPDATE (site_id, encounter_id, peer_provider_id, service_date, start_time, end_time, duration_minutes, service_type,
  service_type_source, hcpcs_code, focus_notes, status, updated_by, updated_at, finalized_by, finalized_at)
  ON public.cl_peer_encounters TO authenticated;
GRANT INSERT ON public.cl_peer_encounter_amendments TO authenticated;
CALL public.pf_grant_select_except('public.cl_peer_encounter_amendments', 'authenticated', ARRAY['body', 'reason']);

CREATE POLICY pf_billing_codes_select ON public.pf_billing_codes FOR SELECT TO authenticated USING (true);
CREATE POLICY pf_lookup_values_select ON public.pf_lookup_values FOR SELECT TO authenticated USING (true);
CREATE POLICY pf_org_billing_codes_select ON public.pf_org_billing_codes FOR SELECT TO authenticated
  USING (public.cl_has_org_access(organization_id));
CREATE POLICY cl_peer_service_types_select ON public.cl_peer_service_types FOR SELECT TO authenticated
  USING (public.cl_has_org_access(organization_id));
CREATE POLICY cl_peer_settings_select ON public.cl_peer_settings FOR SELECT TO authenticated
  USING (public.cl_has_org_access(organization_id));

-- cl_peer_access: the library's half of every peer-encounter policy, in
-- one call per row (fewer calls per row, and a row estimate that keeps the
-- planner on the index for a page): the caller holds the action's
-- permission and, for a Part 2 chart, the accounting of the disclosure has
-- committed earlier (cl_part2_opened).
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_access(p_organization_id uuid, p_chart_id uuid, p_permission text) RETURNS boolean
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN public.cl_has_permission(p_organization_id, p_permission)
       -- A write needs a line accounting for a write.
       AND public.cl_part2_opened(p_organization_id, p_chart_id, 'peer_encounter',
                                  CASE WHEN p_permission = 'cl.peer.encounter.view' THEN NULL ELSE 'save' END);
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_peer_access(uuid, uuid, text) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_peer_access(uuid, uuid, text) TO authenticated;

-- The seed's policy, organization access and Part 2 consent, kept verbatim
-- in every policy, with the permission of the action beside it, the
-- ownership rules (a peer specialist documents as themself, or holds
-- cl.peer.encounter.on_behalf; only the author edits a draft), and, for a
-- Part 2 chart, the accounting of the disclosure first (cl_part2_opened:
-- the library's read functions below write it; a plain-SQL client calls
-- cl_part2_disclosed before it reads or writes).
CREATE POLICY cl_peer_encounters_select ON public.cl_peer_encounters FOR SELECT TO authenticated
  USING (public.cl_has_org_access(organization_id)
         AND public.cl_check_sud_consent(chart_id, 'peer_encounter', auth.uid())
         AND public.cl_peer_access(organization_id, chart_id, 'cl.peer.encounter.view'));
CREATE POLICY cl_peer_encounters_insert ON public.cl_peer_encounters FOR INSERT TO authenticated
  WITH CHECK (public.cl_has_org_access(organization_id)
              AND public.cl_check_sud_consent(chart_id, 'peer_encounter', auth.uid())
              AND public.cl_peer_access(organization_id, chart_id, 'cl.peer.encounter.create')
              AND status = 'draft' AND created_by = auth.uid() AND updated_by = auth.uid()
              AND public.cl_pm_reference_ok(organization_id, 'pm_encounters', encounter_id, chart_id)
              AND (peer_provider_id = auth.uid()
                   OR public.cl_has_permission(organization_id, 'cl.peer.encounter.on_behalf')));
-- Only drafts can be edited (the guard trigger says why to the others).
CREATE POLICY cl_peer_encounters_update ON public.cl_peer_encounters FOR UPDATE TO authenticated
  USING (public.cl_has_org_access(organization_id)
         AND public.cl_check_sud_consent(chart_id, 'peer_encounter', auth.uid())
         AND public.cl_peer_access(organization_id, chart_id, 'cl.peer.encounter.edit')
         AND (created_by = auth.uid() OR public.cl_has_permission(organization_id, 'cl.peer.encounter.on_behalf')))
  WITH CHECK (public.cl_has_org_access(organization_id)
              AND public.cl_check_sud_consent(chart_id, 'peer_encounter', auth.uid())
              AND public.cl_has_permission(organization_id, 'cl.peer.encounter.edit')
              AND updated_by = auth.uid()
              AND public.cl_pm_reference_ok(organization_id, 'pm_encounters', encounter_id, chart_id)
              AND (peer_provider_id = auth.uid()
                   OR public.cl_has_permission(organization_id, 'cl.peer.encounter.on_behalf')));
CREATE POLICY cl_peer_encounter_amendments_select ON public.cl_peer_encounter_amendments FOR SELECT TO authenticated
  USING (public.cl_has_org_access(organization_id)
         AND public.cl_check_sud_consent(chart_id, 'peer_encounter', auth.uid())
         AND public.cl_peer_access(organization_id, chart_id, 'cl.peer.encounter.view'));
CREATE POLICY cl_peer_encounter_amendments_insert ON public.cl_peer_encounter_amendments FOR INSERT TO authenticated
  WITH CHECK (public.cl_has_org_access(organization_id)
              AND public.cl_check_sud_consent(chart_id, 'peer_encounter', auth.uid())
              AND public.cl_peer_access(organization_id, chart_id, 'cl.peer.encounter.amend')
              AND created_by = auth.uid());

-- The library's reads account for themselves: an accounting line must be
-- committed before the rows it accounts for leave the database
-- (cl_part2_opened), so a read function decides the seed's policy (and the
-- view permission) once per chart instead of once per row (all rows of one
-- chart get the same answer), returns a Part 2 chart's rows only under a
-- committed line that stands for the read (cl_part2_account), writes the
-- line where none does and returns nothing of that chart, to be called
-- again once it has committed; it reads as the definer. The disclose
-- functions write the same lines for a write, or for a plain-SQL client,
-- in a transaction of their own before (cl_part2_disclosed), and return
-- how many they wrote. p_use is the closed vocabulary's use ('display'
-- for a read, 'save' for the read that precedes a write).

-- Whether the caller may read a chart's peer encounters: the seed's policy
-- and the view permission (and, with p_opened, the chart's accounting).
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_chart_readable(p_organization_id uuid, p_chart_id uuid, p_opened boolean) RETURNS boolean
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    -- A permission is held by an active member only: no separate
    -- organization check.
    RETURN public.cl_has_permission(p_organization_id, 'cl.peer.encounter.view')
       AND public.cl_peer_chart_open(p_organization_id, p_chart_id, p_opened);
  END
  $$;
-- +goose StatementEnd

-- The chart's part of it, for a caller whose organization and permission a
-- list has checked once: the chart's Part 2 consent (and, when p_opened,
-- its committed accounting): the seed's rule, cl_sud_consent_charts, asked
-- about one chart.
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_chart_open(p_organization_id uuid, p_chart_id uuid, p_opened boolean) RETURNS boolean
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN p_chart_id = ANY (public.cl_sud_consent_charts(p_organization_id, ARRAY[p_chart_id], 'peer_encounter', p_opened));
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_peer_chart_open(uuid, uuid, boolean) FROM PUBLIC, authenticated;

-- The chart's encounters for a read that accounts for itself (the API's
-- reads: cl_peer_encounter_get, cl_peer_encounter_amendments_of,
-- cl_peer_encounters_by_chart): the view permission, and the chart open
-- under its accounting for a display (cl_part2_account, which decides the
-- seed's rule for a treatment read and writes the chart's line when none
-- stands). A Part 2 chart whose line it has just written is not open in
-- this transaction: the read returns nothing for it, and the library,
-- which sees that the transaction wrote, reads again once it has
-- committed. So the rule is decided once per read, not once to account
-- and again to read.
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_chart_disclosed(p_organization_id uuid, p_chart_id uuid) RETURNS boolean
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN public.cl_has_permission(p_organization_id, 'cl.peer.encounter.view')
       AND p_chart_id = ANY ((public.cl_part2_account(p_organization_id, ARRAY[p_chart_id], 'peer_encounter', 'TREAT',
                                                     'display', true)).open_charts);
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_peer_chart_disclosed(uuid, uuid) FROM PUBLIC, authenticated;


-- Account for the charts of encounters (by id) before reading or writing
-- them.
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_encounters_disclose(p_organization_id uuid, p_ids uuid[], p_use text) RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_charts uuid[];
  BEGIN
    -- As the page of a chart: the permission once, and cl_part2_disclosed
    -- decides each chart (clinical access, a consent or an emergency).
    IF NOT public.cl_has_permission(p_organization_id, 'cl.peer.encounter.view') THEN
      RETURN 0;
    END IF;
    -- The charts first, the accounting in a statement of its own (as
    -- cl_group_disclose).
    v_charts := ARRAY(SELECT DISTINCT e.chart_id FROM public.cl_peer_encounters e
                      WHERE e.organization_id = p_organization_id AND e.id = ANY (p_ids));
    RETURN public.cl_part2_disclosed(p_organization_id, v_charts, 'peer_encounter', 'TREAT', p_use);
  END
  $$;
-- +goose StatementEnd

-- One encounter.
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_encounter_get(p_organization_id uuid, p_id uuid)
  RETURNS SETOF public.cl_peer_encounters
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    r public.cl_peer_encounters;
  BEGIN
    SELECT * INTO r FROM public.cl_peer_encounters e WHERE e.organization_id = p_organization_id AND e.id = p_id;
    IF FOUND AND public.cl_peer_chart_disclosed(p_organization_id, r.chart_id) THEN
      -- Clinical text only with its permission (masked in place, here and
      -- in every reader below: a function call per row cost 1.5x).
      IF NOT public.cl_has_permission(p_organization_id, 'cl.peer.encounter.view_text') THEN
        r.focus_notes := '';
      END IF;
      RETURN NEXT r;
    END IF;
  END
  $$;
-- +goose StatementEnd

-- An encounter's amendments, oldest first.
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_encounter_amendments_of(p_organization_id uuid, p_encounter_id uuid)
  RETURNS SETOF public.cl_peer_encounter_amendments
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_chart uuid;
    v_text  boolean;
    r       public.cl_peer_encounter_amendments;
  BEGIN
    SELECT e.chart_id INTO v_chart FROM public.cl_peer_encounters e
    WHERE e.organization_id = p_organization_id AND e.id = p_encounter_id;
    IF FOUND AND public.cl_peer_chart_disclosed(p_organization_id, v_chart) THEN
      v_text := public.cl_has_permission(p_organization_id, 'cl.peer.encounter.view_text');
      -- A loop, not a join with the masking function: on Citus a whole
      -- row of a shard is of the shard's row type.
      FOR r IN SELECT a.* FROM public.cl_peer_encounter_amendments a
               WHERE a.organization_id = p_organization_id AND a.peer_encounter_id = p_encounter_id
               ORDER BY a.created_at, a.id LOOP
        IF NOT v_text THEN
          r.body := '';
          r.reason := '';
        END IF;
        RETURN NEXT r;
      END LOOP;
    END IF;
  END
  $$;
-- +goose StatementEnd

-- Account for a chart before reading its encounters. The chart's own
-- part of cl_peer_chart_readable is not asked first: cl_part2_disclosed
-- asks clinical access and writes a line only on a basis for treatment
-- (a consent naming it, or an emergency access), each of which the seed's
-- rule accepts, so the lines are the same without it.
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_encounters_by_chart_disclose(p_organization_id uuid, p_chart_id uuid) RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF NOT public.cl_has_permission(p_organization_id, 'cl.peer.encounter.view') THEN
      RETURN 0;
    END IF;
    RETURN public.cl_part2_disclosed(p_organization_id, ARRAY[p_chart_id], 'peer_encounter', 'TREAT', 'display');
  END
  $$;
-- +goose StatementEnd

-- A page of a chart's encounters, newest first (keyset on service date,
-- id), accounting for itself (cl_peer_chart_disclosed). Measured: 180x the
-- unprotected query through the per-row policy, about 1x this way.
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_encounters_by_chart(
  p_organization_id uuid, p_chart_id uuid, p_from date, p_to date, p_after_date date, p_after_id uuid, p_limit integer
) RETURNS SETOF public.cl_peer_encounters
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_text boolean := public.cl_has_permission(p_organization_id, 'cl.peer.encounter.view_text');
  BEGIN
    IF NOT public.cl_peer_chart_disclosed(p_organization_id, p_chart_id) THEN
      RETURN;
    END IF;
    -- One query, the clinical text masked in it (the columns by name: on
    -- Citus a whole row of a shard is of the shard's row type).
    RETURN QUERY
      SELECT e.organization_id, e.id, e.site_id, e.chart_id, e.encounter_id, e.peer_provider_id, e.service_date,
             e.start_time, e.end_time, e.duration_minutes, e.service_type, e.service_type_source, e.hcpcs_code,
             CASE WHEN v_text THEN e.focus_notes ELSE ''::text END, e.status, e.created_by, e.created_at, e.updated_by,
             e.updated_at, e.finalized_by, e.finalized_at, e.cosigned_by, e.cosigned_at
      FROM public.cl_peer_encounters e
      WHERE e.organization_id = p_organization_id
        AND e.chart_id = p_chart_id
        AND e.service_date BETWEEN p_from AND p_to
        AND (e.service_date, e.id) < (p_after_date, p_after_id)
      ORDER BY e.service_date DESC, e.id DESC
      LIMIT least(greatest(p_limit, 0), 10001);
  END
  $$;
-- +goose StatementEnd

-- A page of a provider's encounters, newest first, across charts, read in
-- chunks, accounting for itself: the charts of a chunk's rows not met
-- before are decided together, in one call of cl_part2_account (clinical
-- access per distinct site, then for the Part 2 charts the basis for a
-- treatment display and the line that says the same), never per row; then
-- the chunk's rows of the open charts are returned, the others skipped.
-- Where a Part 2 chart's line must be written (it opens the chart only
-- once committed), the rest of the page is walked, not returned, counting
-- that chart's rows as the page's, and the lines of the page's charts that
-- need one are written at the end, no others: the library, seeing that the
-- transaction wrote, reads the page again once they have committed (a
-- plain-SQL client calls again).
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_encounters_by_provider(
  p_organization_id uuid, p_peer_provider_id uuid, p_from date, p_to date, p_after_date date, p_after_id uuid, p_limit integer
) RETURNS SETOF public.cl_peer_encounters
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_left    integer := least(greatest(p_limit, 0), 10001);
    v_text    boolean := public.cl_has_permission(p_organization_id, 'cl.peer.encounter.view_text');
    v_seen    uuid[] := '{}'::uuid[];
    v_open    uuid[] := '{}'::uuid[];
    v_pending uuid[] := '{}'::uuid[];
    v_owed    uuid[] := '{}'::uuid[];
    v_met     uuid[];
    v_stopped boolean := false;
    v_order   uuid[];
    v_stop    bigint;
    v_new     uuid[];
    v_size    integer;
    v_read    integer;
    v_sent    integer;
    v_date    date := p_after_date;
    v_id      uuid := p_after_id;
    v_to_date date;
    v_to_id   uuid;
    v_dates   date[];
    v_ids     uuid[];
    a         record;
  BEGIN
    IF v_left = 0 OR NOT public.cl_has_permission(p_organization_id, 'cl.peer.encounter.view') THEN
      RETURN;
    END IF;
    LOOP
      -- The next chunk (what is still needed, at least 32 rows): its
      -- charts new and in order, and its last row.
      v_size := greatest(v_left, 32);
      -- (Every aggregate in the order the index gives: a sort finds its
      -- input sorted at once.)
      SELECT pg_catalog.count(*)::integer,
             pg_catalog.array_agg(DISTINCT c.chart_id) FILTER (WHERE NOT c.chart_id = ANY (v_seen)),
             pg_catalog.array_agg(c.chart_id ORDER BY c.service_date DESC, c.id DESC),
             pg_catalog.array_agg(c.service_date ORDER BY c.service_date DESC, c.id DESC),
             pg_catalog.array_agg(c.id ORDER BY c.service_date DESC, c.id DESC)
        INTO v_read, v_new, v_order, v_dates, v_ids
      FROM (SELECT e.chart_id, e.service_date, e.id FROM public.cl_peer_encounters e
            WHERE e.organization_id = p_organization_id
              AND e.peer_provider_id = p_peer_provider_id
              AND e.service_date BETWEEN p_from AND p_to
              AND (e.service_date, e.id) < (v_date, v_id)
            ORDER BY e.service_date DESC, e.id DESC
            LIMIT v_size) c;
      EXIT WHEN v_read = 0;
      v_to_date := v_dates[v_read];
      v_to_id := v_ids[v_read];
      -- The organization and the view permission were checked above.
      IF v_new IS NOT NULL THEN
        v_seen := v_seen || v_new;
        SELECT * INTO a FROM public.cl_part2_account(p_organization_id, v_new, 'peer_encounter', 'TREAT', 'display', false);
        v_open := v_open || a.open_charts;
        v_pending := v_pending || a.pending_charts;
      END IF;
      IF pg_catalog.cardinality(v_pending) > 0 THEN
        -- The page's rows in the chunk (of open charts and of charts that
        -- owe a line, by the chunk's order), the charts that owe one, and
        -- the place of the first such row: rows are returned before it,
        -- none from it on.
        SELECT pg_catalog.count(*)::integer, pg_catalog.array_agg(DISTINCT x.chart_id) FILTER (WHERE x.chart_id = ANY (v_pending)),
               pg_catalog.min(x.n) FILTER (WHERE x.chart_id = ANY (v_pending))
          INTO v_sent, v_met, v_stop
        FROM (SELECT k.chart_id, k.n FROM pg_catalog.unnest(v_order) WITH ORDINALITY AS k(chart_id, n)
              WHERE k.chart_id = ANY (v_open) OR k.chart_id = ANY (v_pending)
              ORDER BY k.n
              LIMIT v_left) x;
        v_owed := v_owed || coalesce(v_met, '{}'::uuid[]);
      END IF;
      IF NOT v_stopped THEN
        -- The chunk's rows of open charts (before a row of a chart that
        -- owes a line; the columns by name: on Citus a whole row of a
        -- shard is of the shard's row type).
        RETURN QUERY
          SELECT e.organization_id, e.id, e.site_id, e.chart_id, e.encounter_id, e.peer_provider_id, e.service_date,
                 e.start_time, e.end_time, e.duration_minutes, e.service_type, e.service_type_source, e.hcpcs_code,
                 CASE WHEN v_text THEN e.focus_notes ELSE ''::text END, e.status, e.created_by, e.created_at, e.updated_by,
                 e.updated_at, e.finalized_by, e.finalized_at, e.cosigned_by, e.cosigned_at
          FROM public.cl_peer_encounters e
          WHERE e.organization_id = p_organization_id
            AND e.peer_provider_id = p_peer_provider_id
            AND e.service_date BETWEEN p_from AND p_to
            AND (e.service_date, e.id) < (v_date, v_id)
            AND (e.service_date, e.id) >= (v_to_date, v_to_id)
            AND e.chart_id = ANY (v_open)
          ORDER BY e.service_date DESC, e.id DESC
          -- Before the first row of a chart that owes a line, the open
          -- rows are the page's first rows of the chunk.
          LIMIT CASE WHEN v_stop IS NULL THEN v_left
                     ELSE (SELECT pg_catalog.count(*)::integer FROM pg_catalog.unnest(v_order[1:v_stop - 1]) k
                           WHERE k = ANY (v_open)) END;
        IF pg_catalog.cardinality(v_pending) = 0 THEN
          GET DIAGNOSTICS v_sent = ROW_COUNT;
        END IF;
        v_stopped := v_stop IS NOT NULL;
      END IF;
      v_left := v_left - v_sent;
      EXIT WHEN v_left = 0 OR v_read < v_size;
      v_date := v_to_date;
      v_id := v_to_id;
    END LOOP;
    IF pg_catalog.cardinality(v_owed) > 0 THEN
      PERFORM public.cl_part2_account(p_organization_id, v_owed, 'peer_encounter', 'TREAT', 'display', true);
      -- A page cut short is one its reader must ask for again, whether or
      -- not a line was still missing when they were written (one another
      -- call committed meanwhile, a consent revoked): the transaction takes
      -- an id, which is how the library knows to read again.
      PERFORM pg_catalog.pg_current_xact_id();
    END IF;
  END
  $$;
-- +goose StatementEnd

-- The accounting of a page of a provider's encounters for plain SQL,
-- committed before the page is read: the page's walk (which writes the
-- lines of its Part 2 charts where none stands); returns how many lines it
-- wrote.
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_encounters_by_provider_disclose(
  p_organization_id uuid, p_peer_provider_id uuid, p_from date, p_to date, p_after_date date, p_after_id uuid, p_limit integer
) RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_before integer := public.cl_part2_lines_written(p_organization_id);
  BEGIN
    PERFORM pg_catalog.count(*) FROM public.cl_peer_encounters_by_provider(p_organization_id, p_peer_provider_id, p_from, p_to,
                                                                          p_after_date, p_after_id, p_limit);
    RETURN public.cl_part2_lines_written(p_organization_id) - v_before;
  END
  $$;
-- +goose StatementEnd

REVOKE ALL ON FUNCTION public.cl_peer_encounters_by_chart_disclose(uuid, uuid) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_peer_encounters_by_chart_disclose(uuid, uuid) TO authenticated;
REVOKE ALL ON FUNCTION public.cl_peer_encounters_disclose(uuid, uuid[], text) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_peer_encounters_disclose(uuid, uuid[], text) TO authenticated;
REVOKE ALL ON FUNCTION public.cl_peer_encounters_by_provider_disclose(uuid, uuid, date, date, date, uuid, integer) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_peer_encounters_by_provider_disclose(uuid, uuid, date, date, date, uuid, integer) TO authenticated;
REVOKE ALL ON FUNCTION public.cl_peer_encounters_by_chart(uuid, uuid, date, date, date, uuid, integer) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_peer_encounters_by_chart(uuid, uuid, date, date, date, uuid, integer) TO authenticated;
REVOKE ALL ON FUNCTION public.cl_peer_encounters_by_provider(uuid, uuid, date, date, date, uuid, integer) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_peer_encounters_by_provider(uuid, uuid, date, date, date, uuid, integer) TO authenticated;
REVOKE ALL ON FUNCTION public.cl_peer_chart_readable(uuid, uuid, boolean) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_peer_chart_readable(uuid, uuid, boolean) TO authenticated;
REVOKE ALL ON FUNCTION public.cl_peer_encounter_get(uuid, uuid) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_peer_encounter_get(uuid, uuid) TO authenticated;
REVOKE ALL ON FUNCTION public.cl_peer_encounter_amendments_of(uuid, uuid) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_peer_encounter_amendments_of(uuid, uuid) TO authenticated;
REVOKE ALL ON FUNCTION public.pf_billing_code_valid(uuid, text, date) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_peer_service_types_for(uuid, text) FROM PUBLIC, authenticated;
-- cl_peer_encounter_finalized_data: the data of a finalized encounter's
-- peer_encounter_finalized, every figure read from the row: the one
-- definition of where each field comes from, without the header fields
-- every event carries (event_type and organization_id, which
-- cl_pm_events_store checks; timestamp, the finalization; an optional
-- correlation_id).
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_encounter_finalized_data(pe public.cl_peer_encounters) RETURNS jsonb
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
      'peer_encounter_id', pe.id,
      'chart_id', pe.chart_id,
      'encounter_id', pe.encounter_id,
      'peer_provider_id', pe.peer_provider_id,
      'service_date', pe.service_date,
      'hcpcs_code', pe.hcpcs_code,
      'duration_minutes', pe.duration_minutes,
      'security_labels', public.cl_part2_security_labels(
        (SELECT c.is_part2 FROM public.cl_charts c WHERE c.organization_id = pe.organization_id AND c.id = pe.chart_id))));
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_peer_encounter_finalized_data(public.cl_peer_encounters) FROM PUBLIC, authenticated;

-- cl_peer_encounter_event_ok: whether an event's data is exactly the
-- peer_encounter_finalized of a finalized encounter: its timestamp the
-- finalization, the rest equal to cl_peer_encounter_finalized_data key for
-- key and type for type, with no other key (a field the contract does not
-- define, or a figure that differs, is refused). For an event built
-- elsewhere (an integration principal's, cl_pm_events_publish).
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_encounter_event_ok(pe public.cl_peer_encounters, p_data jsonb) RETURNS boolean
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF pe.status IS DISTINCT FROM 'finalized' OR pg_catalog.jsonb_typeof(p_data) IS DISTINCT FROM 'object'
       OR (p_data OPERATOR(pg_catalog.->>) 'timestamp') IS NULL
       OR (p_data OPERATOR(pg_catalog.->>) 'timestamp') !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9:]+)$' THEN
      RETURN false;
    END IF;
    RETURN (p_data OPERATOR(pg_catalog.->>) 'timestamp')::timestamptz = pe.finalized_at
       AND (p_data OPERATOR(pg_catalog.-) ARRAY['event_type', 'organization_id', 'timestamp', 'correlation_id']::text[])
           = public.cl_peer_encounter_finalized_data(pe);
  END
  $$;
-- +goose StatementEnd

-- cl_peer_encounter_cosign: a qualified supervisor's co-sign of another
-- peer's draft as it stands (cl.peer.encounter.cosign; never one's own),
-- after the accounting of a Part 2 chart's disclosure (the encounter must
-- be readable now). Audited (cl.peer_encounter.cosigned). Co-signing a
-- draft co-signed already is a no-op; an edit undoes it (the guard).
-- Returns the co-sign's time.
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_encounter_cosign(p_organization_id uuid, p_id uuid) RETURNS timestamptz
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_user uuid := auth.uid();
    pe     public.cl_peer_encounters;
  BEGIN
    SELECT * INTO pe FROM public.cl_peer_encounters x
    WHERE x.organization_id = p_organization_id AND x.id = p_id FOR UPDATE;
    IF NOT FOUND OR v_user IS NULL OR NOT public.cl_peer_chart_readable(p_organization_id, pe.chart_id, true) THEN
      RAISE EXCEPTION 'no such peer encounter' USING ERRCODE = 'no_data_found';
    END IF;
    IF NOT public.cl_has_permission(p_organization_id, 'cl.peer.encounter.cosign')
       OR v_user IN (pe.peer_provider_id, pe.created_by) THEN
      PERFORM public.pf_refuse(p_organization_id, 'peer_encounter.cosign', 'peer_encounter', p_id,
        'permission denied: co-signing needs cl.peer.encounter.cosign, and is never one''s own');
    END IF;
    IF pe.status <> 'draft' THEN
      RAISE EXCEPTION 'only a draft is co-signed' USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF pe.cosigned_by = v_user THEN
      RETURN pe.cosigned_at;
    END IF;
    UPDATE public.cl_peer_encounters x SET cosigned_by = v_user, cosigned_at = pg_catalog.now()
    WHERE x.organization_id = p_organization_id AND x.id = p_id
    RETURNING * INTO pe;
    PERFORM public.pf_audit_write(v_user, p_organization_id, pe.site_id, 'cl.peer_encounter.cosigned', 'peer_encounter', p_id,
      'TREAT', pg_catalog.jsonb_build_object('peer_provider_id', pe.peer_provider_id, 'chart_id', pe.chart_id));
    RETURN pe.cosigned_at;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_peer_encounter_cosign(uuid, uuid) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_peer_encounter_cosign(uuid, uuid) TO authenticated;

-- cl_peer_chart_writable: whether the caller may write a chart's peer
-- encounters now, the one rule of cl_peer_encounter_create and
-- cl_peer_encounter_finalize: false unless the chart is open to the
-- caller for a write for treatment (cl_part2_account: clinical access,
-- and for a Part 2 chart a consent for treatment or an emergency access,
-- not a consent for payment only); for a Part 2 chart the committed
-- accounting of a write for treatment, this call's own (p_accounted), else
-- SQLSTATE PAC01, so that each call of the library brings its accounting
-- (cl_part2_disclosed: a line unless one that says the same stands), and
-- only where there is something to account: a chart that is not Part 2
-- costs no second transaction. The refusal tells the caller no more than
-- cl_part2_decide does (the chart is Part 2, to one a consent covers).
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_chart_writable(p_organization_id uuid, p_chart_id uuid, p_accounted boolean) RETURNS boolean
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_open    boolean;
    v_pending boolean;
  BEGIN
    SELECT p_chart_id = ANY (a.open_charts), p_chart_id = ANY (a.pending_charts) INTO v_open, v_pending
    FROM public.cl_part2_account(p_organization_id, ARRAY[p_chart_id], 'peer_encounter', 'TREAT', 'save', false) a;
    IF NOT coalesce(v_open OR v_pending, false) THEN
      RETURN false;
    END IF;
    IF v_pending
       OR (NOT coalesce(p_accounted, false)
           AND (SELECT c.is_part2 FROM public.cl_charts c WHERE c.organization_id = p_organization_id AND c.id = p_chart_id)) THEN
      RAISE EXCEPTION 'the accounting of this disclosure must be committed first' USING ERRCODE = 'PAC01';
    END IF;
    RETURN true;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_peer_chart_writable(uuid, uuid, boolean) FROM PUBLIC, authenticated;

-- cl_peer_encounter_create: a draft, written and returned in one call (the
-- library's Create; a plain-SQL client may insert into the table under
-- its insert policy instead, or call this). The row is the table's insert
-- as the caller: the guard checks it as it checks any acting user's insert
-- (the create permission; then the chart, provider, times, code, PM-03
-- encounter and service type, naming the column it refuses, before the
-- insert policy's other questions), and this function asks the rest of
-- the insert policy's rule of it (cl_peer_encounters_insert: the seed's
-- rule for the chart, for treatment, documenting as oneself or on
-- behalf), once, where an insert with RETURNING asks the insert policy and
-- then the select policy; the chart writable for treatment, its
-- accounting this call's own (cl_peer_chart_writable, as
-- cl_peer_encounter_finalize asks).
-- The clinical text is returned as the caller wrote it.
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_encounter_create(
  p_organization_id uuid, p_site_id uuid, p_chart_id uuid, p_encounter_id uuid, p_peer_provider_id uuid,
  p_service_date date, p_start_time timestamptz, p_end_time timestamptz, p_duration_minutes integer,
  p_service_type text, p_hcpcs_code text, p_focus_notes text, p_accounted boolean
) RETURNS SETOF public.cl_peer_encounters
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_user uuid := auth.uid();
    pe     public.cl_peer_encounters;
  BEGIN
    -- The create permission is the guard's to ask (it refuses the insert).
    IF v_user IS NULL THEN
      RAISE EXCEPTION 'permission denied: creating a peer encounter needs an acting user'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO public.cl_peer_encounters (organization_id, site_id, chart_id, encounter_id, peer_provider_id, service_date,
      start_time, end_time, duration_minutes, service_type, hcpcs_code, focus_notes, created_by, updated_by)
    VALUES (p_organization_id, p_site_id, p_chart_id, p_encounter_id, p_peer_provider_id, p_service_date,
      p_start_time, p_end_time, p_duration_minutes, p_service_type, p_hcpcs_code, p_focus_notes, v_user, v_user)
    RETURNING * INTO pe;
    -- The insert policy's rule beyond the guard's (the PM-03 encounter,
    -- the chart's organization: the guard's): the provider is the caller
    -- or the caller documents on behalf, and the chart is writable for
    -- treatment (else PAC01 when only its accounting is missing).
    IF NOT (p_peer_provider_id = v_user OR public.cl_has_permission(p_organization_id, 'cl.peer.encounter.on_behalf'))
       OR NOT public.cl_peer_chart_writable(p_organization_id, p_chart_id, p_accounted) THEN
      RAISE EXCEPTION 'new row violates row-level security policy for table "cl_peer_encounters"'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEXT pe;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_peer_encounter_create(uuid, uuid, uuid, uuid, uuid, date, timestamptz, timestamptz, integer,
  text, text, text, boolean) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_peer_encounter_create(uuid, uuid, uuid, uuid, uuid, date, timestamptz, timestamptz, integer,
  text, text, text, boolean) TO authenticated;

-- cl_peer_encounter_finalize: finalize an encounter and publish its
-- peer_encounter_finalized, in one call that returns the encounter as
-- finalized: the only way an encounter is finalized, through the API or by
-- plain SQL (the event is demanded at commit, and no other function stores
-- it for an acting user). The caller may edit the encounter (its author, or
-- documenting on behalf, with cl.peer.encounter.edit; finalizing itself
-- needs cl.peer.encounter.finalize, which the guard checks). The database
-- builds the event from the finalized row (cl_peer_encounter_finalized_data,
-- its time the finalization's); the caller names only the envelope's id
-- (the library's are UUIDv7, in time order) and its CloudEvents source.
-- An encounter finalized already is returned as it is and publishes
-- nothing. One user does all of it: on Citus a transaction may not mix
-- the caller's writes and a definer's on one organization.
--
-- The accounting of a Part 2 chart's disclosure comes first, committed
-- (cl_peer_encounters_disclose): cl_peer_chart_writable.
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_encounter_finalize(
  p_organization_id uuid, p_id uuid, p_event_id uuid, p_source text, p_accounted boolean
) RETURNS SETOF public.cl_peer_encounters
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_user uuid := auth.uid();
    pe     public.cl_peer_encounters;
    v_at   text;
  BEGIN
    SELECT * INTO pe FROM public.cl_peer_encounters x
    WHERE x.organization_id = p_organization_id AND x.id = p_id FOR UPDATE;
    -- Readable, and writable for treatment (else PAC01 when only its
    -- accounting is missing).
    IF NOT FOUND OR v_user IS NULL OR NOT public.cl_has_permission(p_organization_id, 'cl.peer.encounter.view')
       OR NOT public.cl_peer_chart_writable(p_organization_id, pe.chart_id, p_accounted) THEN
      RAISE EXCEPTION 'no such peer encounter' USING ERRCODE = 'no_data_found';
    END IF;
    -- The update policy's rule: the author, or one documenting on behalf;
    -- and the edit permission (the guard asks it of a finalization, with
    -- finalizing's own; of an encounter finalized already, this).
    IF NOT ((pe.created_by = v_user AND pe.peer_provider_id = v_user)
            OR public.cl_has_permission(p_organization_id, 'cl.peer.encounter.on_behalf')) THEN
      PERFORM public.pf_refuse(p_organization_id, 'peer_encounter.finalize', 'peer_encounter', p_id,
        'permission denied: the encounter is another peer''s to finalize');
    END IF;
    IF pe.status <> 'draft' AND NOT public.cl_has_permission(p_organization_id, 'cl.peer.encounter.edit') THEN
      PERFORM public.pf_refuse(p_organization_id, 'peer_encounter.finalize', 'peer_encounter', p_id,
        'finalizing a peer encounter needs cl.peer.encounter.edit');
    END IF;
    IF pe.status = 'draft' THEN
      UPDATE public.cl_peer_encounters x SET status = 'finalized', finalized_by = v_user, updated_by = v_user
      WHERE x.organization_id = p_organization_id AND x.id = p_id
      RETURNING * INTO pe;
      v_at := public.pf_iso_time(pe.finalized_at);
      PERFORM public.cl_pm_events_append(p_organization_id, p_event_id, 'peer_encounter_finalized', p_id,
        'peer_encounter_finalized:aggregate:' || p_id::text,
        pg_catalog.jsonb_build_object(
          'specversion', '1.0', 'id', p_event_id, 'source', p_source, 'type', 'peer_encounter_finalized',
          'time', v_at, 'subject', p_id, 'datacontenttype', 'application/json', 'organizationid', p_organization_id,
          'data', pg_catalog.jsonb_build_object('event_type', 'peer_encounter_finalized', 'organization_id', p_organization_id,
                                                'timestamp', v_at)
                  OPERATOR(pg_catalog.||) public.cl_peer_encounter_finalized_data(pe)));
    END IF;
    -- Clinical text only with its permission, as every reader returns it.
    IF NOT public.cl_has_permission(p_organization_id, 'cl.peer.encounter.view_text') THEN
      pe.focus_notes := '';
    END IF;
    RETURN NEXT pe;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_peer_encounter_event_ok(public.cl_peer_encounters, jsonb) FROM PUBLIC, authenticated;
-- cl_peer_encounter_correction_of: the data of a correction's
-- peer_encounter_corrected, computed by the database: the encounter's
-- billed figures as they stand after the correction a (in the table or
-- about to be), the amendment, and the event it supersedes (the
-- encounter's latest finalized or corrected event other than its own).
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_encounter_correction_of(p_organization_id uuid, a public.cl_peer_encounter_amendments)
  RETURNS jsonb
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    pe public.cl_peer_encounters;
    f  record;
  BEGIN
    SELECT * INTO pe FROM public.cl_peer_encounters e WHERE e.organization_id = p_organization_id AND e.id = a.peer_encounter_id;
    f := public.cl_peer_encounter_billed(p_organization_id, a.peer_encounter_id, a);
    RETURN pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
      'peer_encounter_id', pe.id,
      'amendment_id', a.id,
      'corrects_event_id', (SELECT e.id FROM public.cl_pm_events e
                            WHERE e.organization_id = p_organization_id AND e.aggregate_id = pe.id
                              AND e.event_type IN ('peer_encounter_finalized', 'peer_encounter_corrected')
                              AND (e.envelope OPERATOR(pg_catalog.->) 'data' OPERATOR(pg_catalog.->>) 'amendment_id')
                                  IS DISTINCT FROM a.id::text
                            ORDER BY e.aggregate_seq DESC LIMIT 1),
      'chart_id', pe.chart_id,
      'encounter_id', pe.encounter_id,
      'peer_provider_id', f.peer_provider_id,
      'service_date', f.service_date,
      'hcpcs_code', f.hcpcs_code,
      'duration_minutes', f.duration_minutes,
      'security_labels', public.cl_part2_security_labels(
        (SELECT c.is_part2 FROM public.cl_charts c WHERE c.organization_id = p_organization_id AND c.id = pe.chart_id))));
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_peer_encounter_correction_of(uuid, public.cl_peer_encounter_amendments) FROM PUBLIC, authenticated;

-- cl_peer_encounter_correction: the correction p_amendment_id would be, as
-- a row not yet written, for a caller who may amend the finalized
-- encounter p_id (the amendment policy's rule); NULL otherwise.
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_encounter_correction(
  p_organization_id uuid, p_id uuid, p_amendment_id uuid, p_body text, p_reason text, p_service_date date,
  p_duration_minutes integer, p_hcpcs_code text, p_peer_provider_id uuid
) RETURNS public.cl_peer_encounter_amendments
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    pe public.cl_peer_encounters;
    a  public.cl_peer_encounter_amendments;
  BEGIN
    SELECT * INTO pe FROM public.cl_peer_encounters e
    WHERE e.organization_id = p_organization_id AND e.id = p_id AND e.status = 'finalized';
    -- The amendment policy's rule (cl_peer_access asks the permission, which
    -- only an active member holds, and a committed line for a write).
    IF NOT FOUND OR auth.uid() IS NULL
       OR NOT public.cl_check_sud_consent(pe.chart_id, 'peer_encounter', auth.uid())
       OR NOT public.cl_peer_access(p_organization_id, pe.chart_id, 'cl.peer.encounter.amend')
       OR (p_service_date, p_duration_minutes, p_hcpcs_code, p_peer_provider_id) IS NULL THEN
      RETURN NULL;
    END IF;
    a.organization_id := p_organization_id; a.id := p_amendment_id; a.peer_encounter_id := p_id; a.chart_id := pe.chart_id;
    a.kind := 'correction'; a.body := p_body; a.reason := p_reason; a.created_by := auth.uid();
    a.created_at := pg_catalog.now();
    a.corrected_service_date := p_service_date; a.corrected_duration_minutes := p_duration_minutes;
    a.corrected_hcpcs_code := p_hcpcs_code; a.corrected_peer_provider_id := p_peer_provider_id;
    RETURN a;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_peer_encounter_correction(uuid, uuid, uuid, text, text, date, integer, text, uuid) FROM PUBLIC, authenticated;

-- cl_peer_encounter_correct: correct a finalized encounter's billed
-- figures and publish peer_encounter_corrected, once per amendment, the
-- event built here from what the database computes
-- (cl_peer_encounter_correction_of; its time the amendment's): the only way
-- a correction of figures commits (the event is demanded at commit, and no
-- other function stores it for an acting user). The guard checks the
-- corrected figures as it checks a draft's. The caller names the amendment
-- (p_amendment_id), the envelope's id and its CloudEvents source; a retry
-- with an amendment id stored already returns that amendment, when it is
-- the caller's correction of this encounter with the same figures, and
-- publishes nothing twice (anything else with that id is a unique
-- violation). Returns the amendment. One user does all of it: on Citus a
-- transaction may not mix the caller's writes and a definer's on one
-- organization.
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_encounter_correct(
  p_organization_id uuid, p_id uuid, p_amendment_id uuid, p_body text, p_reason text, p_service_date date,
  p_duration_minutes integer, p_hcpcs_code text, p_peer_provider_id uuid, p_event_id uuid, p_source text
) RETURNS public.cl_peer_encounter_amendments
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    a    public.cl_peer_encounter_amendments := public.cl_peer_encounter_correction(p_organization_id, p_id, p_amendment_id,
      p_body, p_reason, p_service_date, p_duration_minutes, p_hcpcs_code, p_peer_provider_id);
    v_at text;
  BEGIN
    IF a.id IS NULL THEN
      RAISE EXCEPTION 'no such finalized peer encounter to correct' USING ERRCODE = 'no_data_found';
    END IF;
    -- One correction of an encounter at a time, each after the last: its
    -- number, and so its event, follows every correction committed before.
    PERFORM 1 FROM public.cl_peer_encounters e
    WHERE e.organization_id = p_organization_id AND e.id = p_id FOR UPDATE;
    SELECT coalesce(pg_catalog.max(x.billing_seq), 0) + 1 INTO a.billing_seq FROM public.cl_peer_encounter_amendments x
    WHERE x.organization_id = p_organization_id AND x.peer_encounter_id = p_id;
    INSERT INTO public.cl_peer_encounter_amendments (organization_id, id, peer_encounter_id, chart_id, kind, body, reason,
      created_by, corrected_service_date, corrected_duration_minutes, corrected_hcpcs_code, corrected_peer_provider_id,
      billing_seq)
    VALUES (a.organization_id, a.id, a.peer_encounter_id, a.chart_id, 'correction', a.body, a.reason, a.created_by,
      a.corrected_service_date, a.corrected_duration_minutes, a.corrected_hcpcs_code, a.corrected_peer_provider_id,
      a.billing_seq)
    ON CONFLICT (organization_id, id) DO NOTHING
    RETURNING * INTO a;
    IF NOT FOUND THEN
      -- A retry: the stored amendment, if it is this very correction.
      SELECT * INTO a FROM public.cl_peer_encounter_amendments x
      WHERE x.organization_id = p_organization_id AND x.id = p_amendment_id AND x.peer_encounter_id = p_id
        AND x.kind = 'correction' AND x.created_by = auth.uid()
        AND (x.corrected_service_date, x.corrected_duration_minutes, x.corrected_hcpcs_code, x.corrected_peer_provider_id)
            IS NOT DISTINCT FROM (p_service_date, p_duration_minutes, p_hcpcs_code, p_peer_provider_id);
      IF NOT FOUND THEN
        RAISE EXCEPTION 'the id names another amendment (amendment_id)' USING ERRCODE = 'unique_violation';
      END IF;
      RETURN a;
    END IF;
    v_at := public.pf_iso_time(a.created_at);
    PERFORM public.cl_pm_events_append(p_organization_id, p_event_id, 'peer_encounter_corrected', p_id,
      'peer_encounter_corrected:' || a.id::text,
      pg_catalog.jsonb_build_object(
        'specversion', '1.0', 'id', p_event_id, 'source', p_source, 'type', 'peer_encounter_corrected',
        'time', v_at, 'subject', p_id, 'datacontenttype', 'application/json', 'organizationid', p_organization_id,
        'data', pg_catalog.jsonb_build_object('event_type', 'peer_encounter_corrected', 'organization_id', p_organization_id,
                                              'timestamp', v_at)
                OPERATOR(pg_catalog.||) public.cl_peer_encounter_correction_of(p_organization_id, a)));
    RETURN a;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_peer_encounter_correct(uuid, uuid, uuid, text, text, date, integer, text, uuid, uuid, text) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_peer_encounter_correct(uuid, uuid, uuid, text, text, date, integer, text, uuid, uuid, text) TO authenticated;

-- A correction of billed figures commits only with its event.
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_encounter_amendments_require_event() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.cl_pm_events e
                   WHERE e.organization_id = NEW.organization_id AND e.event_type = 'peer_encounter_corrected'
                     AND e.aggregate_id = NEW.peer_encounter_id
                     AND (e.envelope OPERATOR(pg_catalog.->) 'data' OPERATOR(pg_catalog.->>) 'amendment_id') = NEW.id::text) THEN
      RAISE EXCEPTION 'a correction of billed figures needs its peer_encounter_corrected event in the same transaction'
        USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
  END
  $$;
-- +goose StatementEnd
CREATE CONSTRAINT TRIGGER cl_peer_encounter_amendments_require_event AFTER INSERT ON public.cl_peer_encounter_amendments
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (NOT ((NEW.corrected_service_date, NEW.corrected_duration_minutes, NEW.corrected_hcpcs_code,
              NEW.corrected_peer_provider_id) IS NULL))
  EXECUTE FUNCTION public.cl_peer_encounter_amendments_require_event();
REVOKE ALL ON FUNCTION public.cl_peer_encounter_amendments_require_event() FROM PUBLIC, authenticated;


-- cl_peer_encounter_verify_direct: what cl_pm_events_publish (an
-- integration principal's door) requires of a peer_encounter_finalized: a
-- finalized encounter of the organization, the encounter's own figures,
-- and no other event for it (a retry with the same key gets the stored
-- event back from cl_pm_events_store). Raises otherwise.
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_encounter_verify_direct(
  p_organization_id uuid, p_encounter_id uuid, p_idempotency_key text, p_data jsonb
) RETURNS void
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    pe public.cl_peer_encounters;
  BEGIN
    SELECT * INTO pe FROM public.cl_peer_encounters x
    WHERE x.organization_id = p_organization_id AND x.id = p_encounter_id AND x.status = 'finalized';
    IF NOT FOUND THEN
      RAISE EXCEPTION 'peer_encounter_finalized needs a finalized peer encounter of the organization'
        USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF NOT public.cl_peer_encounter_event_ok(pe, p_data)
       OR EXISTS (SELECT 1 FROM public.cl_pm_events e
                  WHERE e.organization_id = p_organization_id AND e.event_type = 'peer_encounter_finalized'
                    AND e.aggregate_id = p_encounter_id AND e.idempotency_key <> p_idempotency_key) THEN
      RAISE EXCEPTION 'the event does not describe the finalized encounter, or the encounter already has its event'
        USING ERRCODE = 'check_violation';
    END IF;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_peer_encounter_verify_direct(uuid, uuid, text, jsonb) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_peer_encounter_finalize(uuid, uuid, uuid, text, boolean) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_peer_encounter_finalize(uuid, uuid, uuid, text, boolean) TO authenticated;
REVOKE ALL ON FUNCTION public.cl_peer_encounters_guard() FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_peer_encounter_amendments_guard() FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_peer_encounters_require_event() FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.pf_billing_code_valid(uuid, text, date) TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_peer_service_types_for(uuid, text) TO authenticated;
