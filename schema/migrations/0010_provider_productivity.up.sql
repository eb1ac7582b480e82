-- +goose Up
-- Provider productivity for HR (003): an aggregate, non-PHI read layer over
-- CL-04 notes and PM-03 appointments, with small-cell suppression and an
-- audit row for every call. See docs/privacy-impact-assessment.md.

-- Non-clinical buckets for raw service types: a raw service type never
-- leaves the function. Global defaults; an organization may override.
CREATE TABLE public.hr_service_categories (
  service_type text PRIMARY KEY CHECK (service_type ~ '^[a-z][a-z0-9_]*$'),
  category     text NOT NULL CHECK (category IN ('Individual Therapy', 'Group Services', 'Case Management',
                                                 'Peer Support', 'Assessment', 'Medication Management', 'Other'))
);
INSERT INTO public.hr_service_categories (service_type, category) VALUES
  ('individual_therapy', 'Individual Therapy'), ('psychotherapy_45', 'Individual Therapy'), ('psychotherapy_60', 'Individual Therapy'),
  ('family_therapy', 'Individual Therapy'), ('group_therapy', 'Group Services'), ('sud_group', 'Group Services'),
  ('iop_group', 'Group Services'), ('case_management', 'Case Management'), ('care_coordination', 'Case Management'),
  ('peer_support', 'Peer Support'), ('recovery_coaching', 'Peer Support'), ('intake_assessment', 'Assessment'),
  ('diagnostic_evaluation', 'Assessment'), ('medication_management', 'Medication Management');

CREATE TABLE public.hr_org_service_categories (
  organization_id uuid NOT NULL REFERENCES public.pf_organizations (id),
  service_type    text NOT NULL CHECK (service_type ~ '^[a-z][a-z0-9_]*$'),
  category        text NOT NULL CHECK (category IN ('Individual Therapy', 'Group Services', 'Case Management',
                                                    'Peer Support', 'Assessment', 'Medication Management', 'Other')),
  PRIMARY KEY (organization_id, service_type)
);

-- The minimum cell size per organization: 5 (the specification) unless set;
-- 11 is CMS's cell-size policy.
-- The time zone is the organization's: periods are its calendar months,
-- quarters and years there.
CREATE TABLE public.hr_productivity_settings (
  organization_id uuid PRIMARY KEY REFERENCES public.pf_organizations (id),
  min_cell_size   integer NOT NULL DEFAULT 5 CHECK (min_cell_size BETWEEN 5 AND 50),
  -- timezone() raises for a zone PostgreSQL does not know.
  time_zone       text NOT NULL DEFAULT 'UTC' CHECK (pg_catalog.timezone(time_zone, '2000-01-01 00:00:00+00'::timestamptz) IS NOT NULL)
);

-- The cell-key method's secret per organization: the seed of every
-- record's key (hr_record_key). Nobody but the report reads it (no grant):
-- knowing it would let a caller undo the noise. Drawn once, by the first
-- committed request (hr_productivity_request), never by a reading
-- transaction: a reader who rolled back could otherwise draw fresh noise
-- for every answer and average it away.
-- The time zone the organization's grid is drawn in is kept with the
-- seed, from the first report on (hr_period reads it from here).
CREATE TABLE public.hr_cell_key_seeds (
  organization_id uuid PRIMARY KEY REFERENCES public.pf_organizations (id),
  seed            bigint NOT NULL,
  time_zone       text NOT NULL
);

-- An organization's time zone draws its grid: once it has asked for a
-- report (its seed exists), moving the zone would move every past period
-- by hours, and comparing the old answers with the new would isolate the
-- records of those hours. So it is set before the first report, or never:
-- the first report keeps it with the seed, which the grid reads from then
-- on (deleting the setting changes nothing), and a change is refused here
-- so that nobody believes it took effect.
-- +goose StatementBegin
CREATE FUNCTION public.hr_productivity_settings_guard() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF NEW.time_zone IS DISTINCT FROM (CASE WHEN TG_OP = 'UPDATE' THEN OLD.time_zone ELSE 'UTC' END)
       AND EXISTS (SELECT 1 FROM public.hr_cell_key_seeds c WHERE c.organization_id = NEW.organization_id) THEN
      RAISE EXCEPTION 'the time zone of an organization that has had productivity reports cannot change (time_zone)'
        USING ERRCODE = 'check_violation', COLUMN = 'time_zone';
    END IF;
    RETURN NEW;
  END
  $$;
-- +goose StatementEnd
CREATE TRIGGER hr_productivity_settings_guard BEFORE INSERT OR UPDATE ON public.hr_productivity_settings
  FOR EACH ROW EXECUTE FUNCTION public.hr_productivity_settings_guard();
REVOKE ALL ON FUNCTION public.hr_productivity_settings_guard() FROM PUBLIC, authenticated;

-- The aggregation reads by provider and period.
CREATE INDEX cl_progress_notes_productivity_idx ON public.cl_progress_notes (organization_id, author_id, finalized_at)
  WHERE status = 'signed';
CREATE INDEX pm_appointments_productivity_idx ON public.pm_appointments (organization_id, provider_id, starts_at);

ALTER TABLE public.hr_service_categories ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.hr_service_categories FORCE ROW LEVEL SECURITY;
ALTER TABLE public.hr_org_service_categories ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.hr_org_service_categories FORCE ROW LEVEL SECURITY;
ALTER TABLE public.hr_productivity_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.hr_productivity_settings FORCE ROW LEVEL SECURITY;
ALTER TABLE public.hr_cell_key_seeds ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.hr_cell_key_seeds FORCE ROW LEVEL SECURITY;
REVOKE ALL ON public.hr_cell_key_seeds FROM PUBLIC, authenticated;
REVOKE ALL ON public.hr_service_categories, public.hr_org_service_categories, public.hr_productivity_settings FROM PUBLIC, authenticated;
GRANT SELECT ON public.hr_service_categories, public.hr_org_service_categories, public.hr_productivity_settings TO authenticated;
CREATE POLICY hr_service_categories_select ON public.hr_service_categories FOR SELECT TO authenticated USING (true);
CREATE POLICY hr_org_service_categories_select ON public.hr_org_service_categories FOR SELECT TO authenticated
  USING (public.cl_has_org_access(organization_id));
CREATE POLICY hr_productivity_settings_select ON public.hr_productivity_settings FOR SELECT TO authenticated
  USING (public.cl_has_org_access(organization_id));

-- Statistical disclosure control, in small named rules so that a change of
-- rule is a change of one function and the report reads as their
-- composition (docs/privacy-impact-assessment.md states the method, its
-- parameters and its residual risk):
--   * the cell-key method (the Australian Bureau of Statistics'
--     TableBuilder): every record (note, appointment, group session,
--     patient) has a random key, fixed for the question and the figure
--     (hr_salts); a published count gets a small perturbation chosen by
--     the sum of its records' keys, so the same question always gets the
--     same answer (asking again teaches nothing), two overlapping questions
--     differ by noise, not by a person, and equal figures say nothing of
--     equal records;
--   * the minimum cell size k on the perturbed count: a cell is published
--     when its count plus its noise reaches k, else hidden, zero included
--     (hiding on the true count would tell 0 from 1 .. k-1); every cell is
--     decided alone, so no rule links one cell's visibility to another's;
--   * derived figures (rate, per week) only from published ones;
--   * periods on a fixed grid (hr_period): a calendar month, quarter or
--     year in the organization's time zone. The questions about one year
--     are thus 17 per site filter, whoever asks and however often, which
--     bounds what differencing and averaging can learn (the assessment
--     states the bound);
--   * a roster: every active clinician of the organization (or site) is a
--     row, with or without work in the period, so that a row's presence
--     says nothing.

-- hr_record_key: a record's key, uniform in [0, 1): a hash of its id under
-- a seed drawn from the organization's secret (hr_cell_key_seeds,
-- hr_salts), fixed for the record, the question and the figure, and
-- unknowable to the caller. (These small rules set no search_path, so
-- that the planner inlines them: a function call per record cost 3x.)
CREATE FUNCTION public.hr_record_key(p_seed bigint, p_id uuid) RETURNS double precision
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT (pg_catalog.uuid_hash_extended(p_id, p_seed) & 4294967295)::double precision / 4294967296.0 $$;

-- hr_noise: a cell's perturbation from the sum of its records' keys (the
-- cell key is its fractional part): a two-sided geometric (discrete
-- Laplace) draw with ratio 0.3: 0 with probability 0.54, each of -1 and +1
-- 0.16, -2 and +2 0.048, and so on without bound (mean 0, standard
-- deviation 1.1). Unbounded, so that no combination of answers rules a
-- hypothesis out: a review showed that with noise within -2..+2 some
-- readings proved a record present or absent.
CREATE FUNCTION public.hr_noise(p_key_sum double precision) RETURNS integer
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT CASE WHEN f < 0.7 / 1.3 THEN 0
                ELSE (CASE WHEN u < 0.5 THEN -1 ELSE 1 END)
                     * (1 + pg_catalog.floor(pg_catalog.ln(1 - (2 * u - pg_catalog.floor(2 * u)))
                                             / pg_catalog.ln(0.3::double precision)))::integer END
    FROM (SELECT f, (f - 0.7 / 1.3) / (1 - 0.7 / 1.3) AS u
          FROM (SELECT coalesce(p_key_sum - pg_catalog.floor(p_key_sum), 0) AS f) x) y
  $$;

-- hr_cell: a count as published: perturbed by its cell key, and hidden
-- (NULL) when the perturbed count is under k. Zero and 1 .. k-1 look alike
-- (hidden), and a count near k is shown or hidden by its noise, so neither
-- the figure nor its absence tells the true count.
CREATE FUNCTION public.hr_cell(p_count integer, p_key_sum double precision, p_k integer) RETURNS integer
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT CASE WHEN coalesce(p_count, 0) + public.hr_noise(p_key_sum) >= p_k
                THEN p_count + public.hr_noise(p_key_sum) END
  $$;

-- hr_lag_hours: the average documentation lag as published, over notes
-- whose count is published: each note's lag capped at 72 hours before the
-- average (hr_lag_cap), so that one note moves it by at most 72 / n hours;
-- perturbed by whole steps (the sum of two noise draws from the notes'
-- lag key, a key of its own, and from its digits a million places down,
-- which small multipliers would tie to the first: standard deviation 1.55
-- steps, odd and even alike), a step being 48 / n hours rounded up (n the published count), so
-- that the noise's deviation is at least what one note can do; rounded to
-- whole hours, never negative.
CREATE FUNCTION public.hr_lag_hours(p_average_capped_hours numeric, p_notes_published integer, p_key_sum double precision)
  RETURNS numeric
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT CASE WHEN p_notes_published > 0
                THEN GREATEST(0, pg_catalog.round(p_average_capped_hours, 0)
                                 + (public.hr_noise(p_key_sum) + public.hr_noise(p_key_sum * 1000003.0))
                                   * pg_catalog.ceil(48.0 / p_notes_published)) END
  $$;

-- hr_lag_cap: the most one note's documentation lag counts for, in hours.
CREATE FUNCTION public.hr_lag_cap() RETURNS numeric
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT 72::numeric $$;

-- hr_no_show_rate: published no-shows over published appointments due,
-- two decimals; none without appointments due.
CREATE FUNCTION public.hr_no_show_rate(p_no_shows integer, p_due integer) RETURNS numeric
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT CASE WHEN p_due > 0 THEN pg_catalog.round(p_no_shows::numeric / p_due, 2) END $$;

-- hr_categories: sessions by category as published, from {category:
-- [sessions, key sum]}: each category a cell of its own (hr_cell), the
-- hidden ones left out. No total of sessions is published. (PL/pgSQL: as
-- an SQL function it was planned again on every call, 0.6 ms each, 40% of
-- the report.)
-- +goose StatementBegin
CREATE FUNCTION public.hr_categories(p_sessions jsonb, p_k integer) RETURNS jsonb
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_category text;
    v_cell     jsonb;
    v_shown    integer;
    v_out      jsonb := '{}'::jsonb;
  BEGIN
    FOR v_category, v_cell IN SELECT e.key, e.value FROM pg_catalog.jsonb_each(p_sessions) e LOOP
      v_shown := public.hr_cell((v_cell OPERATOR(pg_catalog.->>) 0)::integer,
                                (v_cell OPERATOR(pg_catalog.->>) 1)::double precision, p_k);
      IF v_shown IS NOT NULL THEN
        v_out := v_out || pg_catalog.jsonb_build_object(v_category, v_shown);
      END IF;
    END LOOP;
    RETURN v_out;
  END
  $$;
-- +goose StatementEnd

-- hr_period: the period a report covers, on the grid: the smallest
-- calendar month, quarter or year of the organization's time zone that
-- holds the period asked for ([p_start, p_end)), and its grain; refused
-- (reason set, bounds NULL) when missing, reversed, outside 1900 .. 2200,
-- or not within one calendar year ('period_too_long').
-- +goose StatementBegin
CREATE FUNCTION public.hr_period(p_organization_id uuid, p_start timestamptz, p_end timestamptz,
                                 OUT period_start timestamptz, OUT period_end timestamptz, OUT grain text, OUT reason text)
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    -- The zone of the first report (kept with the seed), else the setting.
    v_zone  text := coalesce((SELECT c.time_zone FROM public.hr_cell_key_seeds c WHERE c.organization_id = p_organization_id),
                             (SELECT s.time_zone FROM public.hr_productivity_settings s
                              WHERE s.organization_id = p_organization_id), 'UTC');
    v_first timestamp;
    v_last  timestamp;
  BEGIN
    IF p_start IS NULL OR p_end IS NULL THEN
      reason := 'period_missing';
    ELSIF NOT (public.pf_plausible_time(p_start) AND public.pf_plausible_time(p_end)) THEN
      reason := 'period_implausible';
    ELSIF p_end <= p_start THEN
      reason := 'period_order';
    ELSE
      -- The first and the last microsecond asked about, on the local clock.
      v_first := p_start AT TIME ZONE v_zone;
      v_last := (p_end - interval '1 microsecond') AT TIME ZONE v_zone;
      grain := CASE WHEN pg_catalog.date_trunc('month', v_first) = pg_catalog.date_trunc('month', v_last) THEN 'month'
                    WHEN pg_catalog.date_trunc('quarter', v_first) = pg_catalog.date_trunc('quarter', v_last) THEN 'quarter'
                    WHEN pg_catalog.date_trunc('year', v_first) = pg_catalog.date_trunc('year', v_last) THEN 'year' END;
      IF grain IS NULL THEN
        reason := 'period_too_long';
      ELSE
        period_start := pg_catalog.date_trunc(grain, v_first) AT TIME ZONE v_zone;
        period_end := (pg_catalog.date_trunc(grain, v_first)
                       + CASE grain WHEN 'month' THEN interval '1 month' WHEN 'quarter' THEN interval '3 months'
                                    ELSE interval '1 year' END) AT TIME ZONE v_zone;
      END IF;
    END IF;
    IF reason IS NOT NULL THEN
      period_start := NULL;
      period_end := NULL;
      grain := NULL;
    END IF;
  END
  $$;
-- +goose StatementEnd

-- hr_productivity_refusal: why the caller may not have this report, or NULL:
-- 'site_unknown', 'no_permission', or a period's reason (hr_period). The
-- one rule for the report, which audits the refusal, and for the library,
-- which turns the reason into a typed error. Only for a member of the
-- organization.
-- +goose StatementBegin
CREATE FUNCTION public.hr_productivity_refusal(
  p_organization_id uuid, p_period_start timestamptz, p_period_end timestamptz, p_site_id uuid
) RETURNS text
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF auth.uid() IS NULL OR p_organization_id IS NULL OR NOT public.cl_has_org_access(p_organization_id) THEN
      RETURN 'no_permission';
    END IF;
    IF p_site_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.pf_sites s
                                             WHERE s.organization_id = p_organization_id AND s.id = p_site_id) THEN
      RETURN 'site_unknown';
    END IF;
    IF NOT (CASE WHEN p_site_id IS NULL
                 THEN public.cl_has_permission(p_organization_id, 'hr.productivity.view')
                 ELSE public.cl_has_site_permission(p_organization_id, p_site_id, 'hr.productivity.view') END) THEN
      RETURN 'no_permission';
    END IF;
    RETURN (public.hr_period(p_organization_id, p_period_start, p_period_end)).reason;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.hr_productivity_refusal(uuid, timestamptz, timestamptz, uuid) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.hr_productivity_refusal(uuid, timestamptz, timestamptz, uuid) TO authenticated;

-- hr_productivity_details: what the audit row of a report says: the
-- filters and the period asked for, and the period covered and its grain.
-- +goose StatementBegin
CREATE FUNCTION public.hr_productivity_details(
  p_organization_id uuid, p_period_start timestamptz, p_period_end timestamptz, p_site_id uuid, p_provider_id uuid
) RETURNS jsonb
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_period record := public.hr_period(p_organization_id, p_period_start, p_period_end);
  BEGIN
    RETURN pg_catalog.jsonb_build_object('provider_filter', p_provider_id, 'site_filter', p_site_id,
      'period_start_asked', public.pf_iso_time(p_period_start), 'period_end_asked', public.pf_iso_time(p_period_end),
      'period_start', public.pf_iso_time(v_period.period_start), 'period_end', public.pf_iso_time(v_period.period_end),
      'grain', v_period.grain);
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.hr_productivity_details(uuid, timestamptz, timestamptz, uuid, uuid) FROM PUBLIC, authenticated;

-- hr_productivity_request: the first of a report's two steps, and its
-- audit: hr.productivity.viewed (the filters, the period asked for and
-- covered, k), or hr.productivity.denied with the reason
-- (hr_productivity_refusal), which it returns (NULL: granted). A report's
-- figures leave the database only once this row has committed, in an
-- earlier transaction, within 5 minutes (get_provider_productivity): a
-- caller who rolls back after reading cannot take the audit row back, nor
-- the question's place in the log the privacy officer reads
-- (hr_productivity_overlaps). The first granted request of an
-- organization draws its cell-key seed (hr_cell_key_seeds), so that the
-- seed, like the audit row, is committed before any figure leaves. A
-- stranger to the organization writes nothing into its log.
-- +goose StatementBegin
CREATE FUNCTION public.hr_productivity_request(
  p_organization_id uuid, p_period_start timestamptz, p_period_end timestamptz,
  p_site_id uuid DEFAULT NULL, p_provider_id uuid DEFAULT NULL
) RETURNS text
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_user    uuid := auth.uid();
    v_reason  text;
    v_details jsonb;
    v_zone    text;
  BEGIN
    IF v_user IS NULL OR p_organization_id IS NULL OR NOT public.cl_has_org_access(p_organization_id) THEN
      RETURN 'no_permission';
    END IF;
    v_details := public.hr_productivity_details(p_organization_id, p_period_start, p_period_end, p_site_id, p_provider_id);
    v_reason := public.hr_productivity_refusal(p_organization_id, p_period_start, p_period_end, p_site_id);
    IF v_reason IS NOT NULL THEN
      PERFORM public.pf_audit_write(v_user, p_organization_id, NULL, 'hr.productivity.denied', 'organization',
                                    p_organization_id, 'HOPERAT', v_details || pg_catalog.jsonb_build_object('reason', v_reason));
      RETURN v_reason;
    END IF;
    PERFORM public.pf_audit_write(v_user, p_organization_id, p_site_id, 'hr.productivity.viewed', 'organization',
      p_organization_id, 'HOPERAT', v_details || pg_catalog.jsonb_build_object('min_cell_size',
        coalesce((SELECT s.min_cell_size FROM public.hr_productivity_settings s WHERE s.organization_id = p_organization_id), 5)));
    -- (Read first: Citus takes no sub-query inside an INSERT.)
    v_zone := coalesce((SELECT s.time_zone FROM public.hr_productivity_settings s WHERE s.organization_id = p_organization_id),
                       'UTC');
    INSERT INTO public.hr_cell_key_seeds (organization_id, seed, time_zone)
    VALUES (p_organization_id, ('x' || pg_catalog.substr(pg_catalog.md5(pg_catalog.gen_random_uuid()::text), 1, 16))::bit(64)::bigint,
            v_zone)
    ON CONFLICT (organization_id) DO NOTHING;
    RETURN NULL;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.hr_productivity_request(uuid, timestamptz, timestamptz, uuid, uuid) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.hr_productivity_request(uuid, timestamptz, timestamptz, uuid, uuid) TO authenticated;

-- hr_salts: the seeds of one question's record keys, one per kind of
-- record: the organization's secret seed salted with the kind, the period
-- and the site filter (not the provider filter, which selects rows, not
-- figures). The figures one kind of record feeds draw further keys from
-- the record's (hr_rekey). The same question always gets the same answer;
-- two questions, or two figures, over the same records get unrelated
-- noise, so equal figures tell nothing about equal records (a review
-- showed that a shared key let "the organization's figure equals the
-- site's" prove that the provider had nothing at the other sites).
CREATE TYPE public.hr_salts AS (patients bigint, notes bigint, appointments bigint, group_sessions bigint);
CREATE FUNCTION public.hr_salts(p_seed bigint, p_period_start timestamptz, p_period_end timestamptz, p_site_id uuid)
  RETURNS public.hr_salts
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT ROW(pg_catalog.hashtextextended('patients' || q, p_seed), pg_catalog.hashtextextended('notes' || q, p_seed),
               pg_catalog.hashtextextended('appointments' || q, p_seed),
               pg_catalog.hashtextextended('group_sessions' || q, p_seed))::public.hr_salts
    FROM (SELECT '|' || pg_catalog.to_char(p_period_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') || '|'
                 || pg_catalog.to_char(p_period_end AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') || '|'
                 || coalesce(p_site_id::text, '') AS q) x
  $$;

-- hr_rekey: a further key of a record, for another figure it feeds: the
-- key's 32 bits times an odd multiplier, modulo 2^32 (a permutation, so
-- again uniform; exact in double precision below 2^52), its high bits
-- drawn from the key's low ones. One hash per record, not one per figure:
-- a hash per figure cost a fifth of the report.
CREATE FUNCTION public.hr_rekey(p_key double precision, p_multiplier integer) RETURNS double precision
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT p_key * p_multiplier - pg_catalog.floor(p_key * p_multiplier) $$;

-- hr_provider_figures: one provider's raw figures for a period, with the
-- key sums of their cells, before any rule applies (the row type the
-- report's query reads into).
CREATE TYPE public.hr_provider_figures AS (
  provider      uuid,
  on_roster     boolean,
  site          uuid,
  patients      integer,
  patients_key  double precision,
  notes         integer,
  notes_key     double precision,
  avg_lag       numeric,
  lag_key       double precision,
  under_24h     integer,
  under_24h_key double precision,
  h24_to_48h    integer,
  h24_to_48h_key double precision,
  over_48h      integer,
  over_48h_key  double precision,
  no_shows      integer,
  no_shows_key  double precision,
  due           integer,
  due_key       double precision,
  sessions      jsonb
);

-- get_provider_productivity: per provider, for one organization (and
-- optionally one site and one provider) over a period on the grid (see
-- hr_period; the rows carry the period covered), aggregate non-PHI figures
-- under the rules above, with k = the organization's min_cell_size
-- (default 5):
--   * the rows: every active clinician (cl.progress_note.write) of the
--     organization, or of the site, and anyone else whose caseload is
--     published; a provider asked for by id gets exactly one row;
--   * a provider whose caseload is hidden (hr_cell) is suppressed: every
--     figure NULL, the site too. So are an unknown provider, an inactive
--     member or another organization's asked for by id: every such
--     question gets the same answer;
--   * counts: each its own cell (hr_cell); the rate and the average lag
--     from published figures; notes per week from the published note
--     count;
--   * site_id is the provider's own: the site of their site-scoped
--     clinical role (the lower id of several); none for staff who work
--     organization-wide (never derived from the records, never the filter
--     echoed).
-- A group session counts once for its facilitator; each attendee counts
-- once in the caseload; each signed note counts as one note.
-- Needs hr.productivity.view in the organization (at the site, when a site
-- is given), and a committed request for exactly this report by the
-- caller within 5 minutes (hr_productivity_request, which audits it and
-- draws the organization's seed); without one it returns nothing.
-- +goose StatementBegin
CREATE FUNCTION public.get_provider_productivity(
  p_organization_id uuid, p_period_start timestamptz, p_period_end timestamptz,
  p_site_id uuid DEFAULT NULL, p_provider_id uuid DEFAULT NULL
) RETURNS TABLE (
  provider_id uuid, site_id uuid, organization_id uuid, period_start timestamptz, period_end timestamptz,
  suppressed boolean, notes_completed_count integer, notes_completed_per_week numeric, avg_documentation_lag_hours numeric,
  timeliness_under_24h integer, timeliness_24_to_48h integer, timeliness_over_48h integer,
  active_caseload_count integer, no_show_count integer, no_show_rate numeric, session_count_by_category jsonb
)
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  SET plan_cache_mode = force_custom_plan
  AS $$
  #variable_conflict use_column
  DECLARE
    v_user    uuid := auth.uid();
    v_k       integer;
    v_seed    bigint;
    v_rows    integer := 0;
    v_details jsonb;
    v_period  record;
    v_weeks   numeric;
    v_salt    public.hr_salts;
    r         public.hr_provider_figures;
    v_due     integer;
    v_this    xid8;
  BEGIN
    -- A stranger to the organization writes nothing into its log (and
    -- learns nothing).
    IF v_user IS NULL OR p_organization_id IS NULL OR NOT public.cl_has_org_access(p_organization_id) THEN
      RETURN;
    END IF;
    -- The refusal rules hold now too (a permission revoked since the
    -- request), and the figures leave only under a committed request for
    -- exactly this report, by this caller, within 5 minutes
    -- (hr_productivity_request), which drew the seed.
    IF public.hr_productivity_refusal(p_organization_id, p_period_start, p_period_end, p_site_id) IS NOT NULL THEN
      RETURN;
    END IF;
    v_details := public.hr_productivity_details(p_organization_id, p_period_start, p_period_end, p_site_id, p_provider_id);
    -- This transaction's id, read here on the coordinator (on Citus the
    -- query below runs on a worker, whose transaction has another).
    v_this := pg_catalog.pg_current_xact_id_if_assigned();
    IF NOT EXISTS (
      SELECT 1 FROM public.pf_audit_logs a
      WHERE a.organization_id = p_organization_id AND a.actor_user_id = v_user AND a.action = 'hr.productivity.viewed'
        AND a.occurred_at >= pg_catalog.statement_timestamp() - interval '5 minutes'
        AND a.transaction_id IS DISTINCT FROM v_this
        AND (a.details OPERATOR(pg_catalog.-) 'min_cell_size') = v_details) THEN
      RETURN;
    END IF;
    v_seed := (SELECT c.seed FROM public.hr_cell_key_seeds c WHERE c.organization_id = p_organization_id);
    IF v_seed IS NULL THEN
      RETURN;
    END IF;
    v_period := public.hr_period(p_organization_id, p_period_start, p_period_end);
    v_k := coalesce((SELECT s.min_cell_size FROM public.hr_productivity_settings s WHERE s.organization_id = p_organization_id), 5);
    v_weeks := EXTRACT(EPOCH FROM (v_period.period_end - v_period.period_start)) / 604800.0;
    v_salt := public.hr_salts(v_seed, v_period.period_start, v_period.period_end, p_site_id);

    -- Static SQL, so that plpgsql_check verifies it, planned for these
    -- values on every call (plan_cache_mode, set on the function): the
    -- "(p IS NULL OR col = p)" filters fold away as constants.
    FOR r IN
      WITH notes AS (
        SELECT n.author_id AS provider, n.chart_id,
               EXTRACT(EPOCH FROM (n.finalized_at - n.session_end)) / 3600.0 AS lag_hours,
               public.hr_record_key(v_salt.notes, n.id) AS rk
        FROM public.cl_progress_notes n
        WHERE n.organization_id = p_organization_id AND n.status = 'signed'
          AND n.finalized_at >= v_period.period_start AND n.finalized_at < v_period.period_end
          AND (p_site_id IS NULL OR n.site_id = p_site_id) AND (p_provider_id IS NULL OR n.author_id = p_provider_id)
      ), appts AS (
        SELECT a.provider_id AS provider, a.chart_id, a.site_id, a.group_session_id,
               (a.status = 'no_show' OR a.attendance_flag = 'no_show') AS no_show,
               (a.status = 'completed' AND a.attendance_flag IS DISTINCT FROM 'no_show') AS completed,
               coalesce(oc.category, gc.category, 'Other') AS category,
               public.hr_record_key(v_salt.appointments, a.id) AS ak,
               public.hr_record_key(v_salt.group_sessions, a.group_session_id) AS gk
        FROM public.pm_appointments a
        LEFT JOIN public.hr_org_service_categories oc
          ON oc.organization_id = a.organization_id AND oc.service_type = a.service_type
        LEFT JOIN public.hr_service_categories gc ON gc.service_type = a.service_type
        WHERE a.organization_id = p_organization_id
          AND a.starts_at >= v_period.period_start AND a.starts_at < v_period.period_end
          AND (p_site_id IS NULL OR a.site_id = p_site_id) AND (p_provider_id IS NULL OR a.provider_id = p_provider_id)
      ), roster AS (
        -- Active clinicians of the organization (of the site: by a role
        -- there or organization-wide), with the site of their site-scoped
        -- role.
        SELECT m.user_id AS provider,
               (pg_catalog.array_agg(r.site_id ORDER BY r.site_id) FILTER (WHERE r.site_id IS NOT NULL))[1] AS role_site
        FROM public.pf_members m
        JOIN public.pf_member_roles r ON r.organization_id = m.organization_id AND r.user_id = m.user_id
        JOIN public.pf_role_permissions rp ON rp.role = r.role AND rp.permission = 'cl.progress_note.write'
        WHERE m.organization_id = p_organization_id AND m.status = 'active'
          AND (p_site_id IS NULL OR r.site_id IS NULL OR r.site_id = p_site_id)
          AND (p_provider_id IS NULL OR m.user_id = p_provider_id)
        GROUP BY m.user_id
      ), note_agg AS (
        -- A note feeds the count (its key), a bin and the lag (keys of
        -- its key).
        SELECT provider, count(*)::int AS notes, sum(rk) AS notes_key, sum(public.hr_rekey(rk, 999983)) AS lag_key,
               avg(LEAST(lag_hours, public.hr_lag_cap())) AS avg_lag,
               (count(*) FILTER (WHERE lag_hours < 24))::int AS b1,
               coalesce(sum(public.hr_rekey(rk, 1000003)) FILTER (WHERE lag_hours < 24), 0) AS b1k,
               (count(*) FILTER (WHERE lag_hours >= 24 AND lag_hours <= 48))::int AS b2,
               coalesce(sum(public.hr_rekey(rk, 1000003)) FILTER (WHERE lag_hours >= 24 AND lag_hours <= 48), 0) AS b2k,
               (count(*) FILTER (WHERE lag_hours > 48))::int AS b3,
               coalesce(sum(public.hr_rekey(rk, 1000003)) FILTER (WHERE lag_hours > 48), 0) AS b3k
        FROM notes GROUP BY provider
      ), appt_agg AS (
        SELECT provider,
               -- An appointment feeds the no-shows (its key), the
               -- appointments due and a session (keys of its key).
               (count(*) FILTER (WHERE no_show))::int AS no_shows, coalesce(sum(ak) FILTER (WHERE no_show), 0) AS no_shows_key,
               (count(*) FILTER (WHERE no_show OR completed))::int AS due,
               coalesce(sum(public.hr_rekey(ak, 1000003)) FILTER (WHERE no_show OR completed), 0) AS due_key
        FROM appts GROUP BY provider
      ), sessions AS (
        SELECT provider, category, public.hr_rekey(ak, 999983) AS rk FROM appts WHERE completed AND group_session_id IS NULL
        UNION ALL
        SELECT DISTINCT provider, category, gk FROM appts WHERE completed AND group_session_id IS NOT NULL
      ), cat_agg AS (
        SELECT provider, pg_catalog.jsonb_object_agg(category, pg_catalog.jsonb_build_array(n, k)) AS cats
        FROM (SELECT provider, category, count(*)::int AS n, sum(rk) AS k FROM sessions GROUP BY provider, category) x
        GROUP BY provider
      ), caseload AS (
        SELECT provider, count(*)::int AS patients, sum(public.hr_record_key(v_salt.patients, chart_id)) AS patients_key
        FROM (SELECT provider, chart_id FROM notes
              UNION SELECT provider, chart_id FROM appts WHERE completed OR no_show) x
        GROUP BY provider
      )
      SELECT coalesce(ro.provider, cl.provider), ro.provider IS NOT NULL, ro.role_site,
             coalesce(cl.patients, 0), coalesce(cl.patients_key, 0),
             coalesce(na.notes, 0), coalesce(na.notes_key, 0), na.avg_lag::numeric, coalesce(na.lag_key, 0),
             coalesce(na.b1, 0), coalesce(na.b1k, 0), coalesce(na.b2, 0), coalesce(na.b2k, 0),
             coalesce(na.b3, 0), coalesce(na.b3k, 0),
             coalesce(aa.no_shows, 0), coalesce(aa.no_shows_key, 0), coalesce(aa.due, 0), coalesce(aa.due_key, 0),
             coalesce(ca.cats, '{}'::jsonb)
      FROM roster ro
      FULL JOIN caseload cl ON cl.provider = ro.provider
      LEFT JOIN note_agg na ON na.provider = cl.provider
      LEFT JOIN appt_agg aa ON aa.provider = cl.provider
      LEFT JOIN cat_agg ca ON ca.provider = cl.provider
      ORDER BY 1
    LOOP
      -- The caseload decides: hidden, and the provider is suppressed (and
      -- is a row only when on the roster or asked for).
      active_caseload_count := public.hr_cell(r.patients, r.patients_key, v_k);
      suppressed := active_caseload_count IS NULL;
      CONTINUE WHEN suppressed AND NOT r.on_roster AND p_provider_id IS NULL;
      provider_id := r.provider; organization_id := p_organization_id;
      period_start := v_period.period_start; period_end := v_period.period_end;
      site_id := CASE WHEN NOT suppressed THEN r.site END;
      notes_completed_count := CASE WHEN NOT suppressed THEN public.hr_cell(r.notes, r.notes_key, v_k) END;
      notes_completed_per_week := pg_catalog.round(notes_completed_count / v_weeks, 1);
      avg_documentation_lag_hours := public.hr_lag_hours(r.avg_lag, notes_completed_count, r.lag_key);
      timeliness_under_24h := CASE WHEN NOT suppressed THEN public.hr_cell(r.under_24h, r.under_24h_key, v_k) END;
      timeliness_24_to_48h := CASE WHEN NOT suppressed THEN public.hr_cell(r.h24_to_48h, r.h24_to_48h_key, v_k) END;
      timeliness_over_48h := CASE WHEN NOT suppressed THEN public.hr_cell(r.over_48h, r.over_48h_key, v_k) END;
      session_count_by_category := CASE WHEN NOT suppressed THEN public.hr_categories(r.sessions, v_k) END;
      no_show_count := CASE WHEN NOT suppressed THEN public.hr_cell(r.no_shows, r.no_shows_key, v_k) END;
      v_due := CASE WHEN NOT suppressed THEN public.hr_cell(r.due, r.due_key, v_k) END;
      no_show_rate := public.hr_no_show_rate(no_show_count, v_due);
      RETURN NEXT;
      v_rows := v_rows + 1;
    END LOOP;
    -- A provider asked for by id gets one row whatever they are: the
    -- suppressed row of anyone without figures to publish.
    IF p_provider_id IS NOT NULL AND v_rows = 0 THEN
      provider_id := p_provider_id; organization_id := p_organization_id; site_id := NULL;
      period_start := v_period.period_start; period_end := v_period.period_end;
      suppressed := true;
      notes_completed_count := NULL; notes_completed_per_week := NULL; avg_documentation_lag_hours := NULL;
      timeliness_under_24h := NULL; timeliness_24_to_48h := NULL; timeliness_over_48h := NULL;
      active_caseload_count := NULL; no_show_count := NULL; no_show_rate := NULL; session_count_by_category := NULL;
      RETURN NEXT;
    END IF;
  END
  $$;
-- +goose StatementEnd

-- hr_productivity_overlaps: for the privacy officer (pf.audit.view), per
-- caller, the reports asked since p_since, how many distinct questions
-- they were (a question is a period and a site filter: the provider filter
-- selects rows, not figures), and how many pairs of distinct questions
-- overlap in time whatever their filters (a quarter and its month, a site
-- and the organization over one month): the material of differencing and
-- averaging. On the grid no two questions are merely shifted.
-- +goose StatementBegin
CREATE FUNCTION public.hr_productivity_overlaps(p_organization_id uuid, p_since timestamptz)
  RETURNS TABLE (actor_user_id uuid, reports integer, questions integer, overlapping_pairs integer)
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  #variable_conflict use_column
  BEGIN
    IF NOT public.cl_has_permission(p_organization_id, 'pf.audit.view') THEN
      RETURN;
    END IF;
    RETURN QUERY
      WITH asked AS (
        SELECT a.actor_user_id AS actor,
               coalesce(a.details OPERATOR(pg_catalog.->>) 'site_filter', '') AS site,
               (a.details OPERATOR(pg_catalog.->>) 'period_start')::timestamptz AS s,
               (a.details OPERATOR(pg_catalog.->>) 'period_end')::timestamptz AS e
        FROM public.pf_audit_logs a
        WHERE a.organization_id = p_organization_id AND a.action = 'hr.productivity.viewed' AND a.occurred_at >= p_since
      ), q AS (
        SELECT DISTINCT actor, site, s, e FROM asked
      )
      SELECT q1.actor, (SELECT count(*)::int FROM asked WHERE asked.actor = q1.actor), count(DISTINCT q1.*)::int,
             count(q2.actor)::int
      FROM q q1
      LEFT JOIN q q2 ON q2.actor = q1.actor AND q2.s < q1.e AND q1.s < q2.e
                    AND (q2.site, q2.s, q2.e) < (q1.site, q1.s, q1.e)
      GROUP BY q1.actor
      ORDER BY 4 DESC, 1;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.hr_productivity_overlaps(uuid, timestamptz) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.hr_productivity_overlaps(uuid, timestamptz) TO authenticated;
REVOKE ALL ON FUNCTION public.get_provider_productivity(uuid, timestamptz, timestamptz, uuid, uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.hr_record_key(bigint, uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.hr_noise(double precision) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.hr_cell(integer, double precision, integer) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.hr_lag_hours(numeric, integer, double precision) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.hr_lag_cap() FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.hr_salts(bigint, timestamptz, timestamptz, uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.hr_rekey(double precision, integer) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.hr_no_show_rate(integer, integer) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.hr_categories(jsonb, integer) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.hr_period(uuid, timestamptz, timestamptz) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.get_provider_productivity(uuid, timestamptz, timestamptz, uuid, uuid) TO authenticated;
