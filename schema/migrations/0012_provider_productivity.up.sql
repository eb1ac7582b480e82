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
CREATE TABLE public.hr_productivity_settings (
  organization_id uuid PRIMARY KEY REFERENCES public.pf_organizations (id),
  min_cell_size   integer NOT NULL DEFAULT 5 CHECK (min_cell_size BETWEEN 5 AND 50)
);

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
REVOKE ALL ON public.hr_service_categories, public.hr_org_service_categories, public.hr_productivity_settings FROM PUBLIC;
GRANT SELECT ON public.hr_service_categories, public.hr_org_service_categories, public.hr_productivity_settings TO authenticated;
CREATE POLICY hr_service_categories_select ON public.hr_service_categories FOR SELECT TO authenticated USING (true);
CREATE POLICY hr_org_service_categories_select ON public.hr_org_service_categories FOR SELECT TO authenticated
  USING (public.cl_has_org_access(organization_id));
CREATE POLICY hr_productivity_settings_select ON public.hr_productivity_settings FOR SELECT TO authenticated
  USING (public.cl_has_org_access(organization_id));

-- The disclosure rules, one small function each, so that a change of rule
-- is a change of one function, and the report reads as their composition.

-- hr_cell: a count as published: zero and counts of at least k as they
-- are, anything between (1 .. k-1) hidden.
CREATE FUNCTION public.hr_cell(p_count integer, p_k integer) RETURNS integer
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$ SELECT CASE WHEN p_count = 0 OR p_count >= p_k THEN p_count END $$;

-- hr_lag_hours: the average documentation lag as published: whole hours,
-- over at least k notes.
CREATE FUNCTION public.hr_lag_hours(p_average_hours numeric, p_notes integer, p_k integer) RETURNS numeric
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$ SELECT CASE WHEN p_notes >= p_k THEN pg_catalog.round(p_average_hours, 0) END $$;

-- hr_no_show_rate: no-shows over appointments due, two decimals; none
-- without appointments due.
CREATE FUNCTION public.hr_no_show_rate(p_no_shows integer, p_due integer) RETURNS numeric
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$ SELECT CASE WHEN p_due > 0 THEN pg_catalog.round(p_no_shows::numeric / p_due, 2) END $$;

-- hr_categories: sessions by category as published: categories of at least
-- k as they are, the others folded into 'Other' when the fold reaches k,
-- else hidden (hidden = true: then totals that would reveal them are
-- withheld too).
-- +goose StatementBegin
CREATE FUNCTION public.hr_categories(p_sessions jsonb, p_k integer, OUT shown jsonb, OUT hidden boolean)
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_category text;
    v_count    integer;
    v_other    integer := 0;
  BEGIN
    shown := '{}'::jsonb;
    FOR v_category, v_count IN SELECT e.key, e.value::integer FROM pg_catalog.jsonb_each_text(p_sessions) e LOOP
      IF v_count >= p_k AND v_category <> 'Other' THEN
        shown := shown || pg_catalog.jsonb_build_object(v_category, v_count);
      ELSE
        v_other := v_other + v_count;
      END IF;
    END LOOP;
    IF v_other >= p_k THEN
      shown := shown || pg_catalog.jsonb_build_object('Other', v_other);
    END IF;
    hidden := v_other > 0 AND v_other < p_k;
  END
  $$;
-- +goose StatementEnd

-- hr_bins_shown: the timeliness bins are published together or not at all
-- (one hidden bin could be derived from the note total).
CREATE FUNCTION public.hr_bins_shown(p_under_24h integer, p_24_to_48h integer, p_over_48h integer, p_k integer) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$ SELECT public.hr_cell(p_under_24h, p_k) IS NOT NULL AND public.hr_cell(p_24_to_48h, p_k) IS NOT NULL
               AND public.hr_cell(p_over_48h, p_k) IS NOT NULL $$;

-- hr_provider_figures: one provider's raw figures for a period, before
-- any rule applies (the row type the report's query reads into).
CREATE TYPE public.hr_provider_figures AS (
  provider   uuid,
  patients   integer,
  notes      integer,
  avg_lag    numeric,
  under_24h  integer,
  h24_to_48h integer,
  over_48h   integer,
  no_shows   integer,
  due        integer,
  sessions   jsonb
);

-- get_provider_productivity: per provider, for one organization (and
-- optionally one site and one provider) over [p_period_start, p_period_end),
-- aggregate non-PHI figures with small-cell suppression (k = the
-- organization's min_cell_size, default 5):
--   * a provider with fewer than k distinct patients in the period is
--     returned with suppressed = true and every figure NULL;
--   * a published count is never between 1 and k-1 (zero is shown);
--   * timeliness bins are all hidden if any one of them would be small
--     (one hidden bin could be derived from the note total);
--   * categories under k are folded into 'Other' when the fold reaches k,
--     otherwise hidden; no session total is published;
--   * the no-show rate is shown only with its count and only when no
--     category is hidden (count / rate would reveal the appointment total);
--   * the average lag is rounded to whole hours and shown only over at
--     least k notes.
-- A group session counts once for its facilitator; each attendee counts
-- once in the caseload; each signed note counts as one note.
-- Needs hr.productivity.view in the organization (at the site, when a site
-- is given). Every call writes one audit row: hr.productivity.viewed with
-- the filters, period and number of rows, or hr.productivity.denied (and
-- returns nothing, so that the denial's audit row commits with the call).
-- +goose StatementBegin
CREATE FUNCTION public.get_provider_productivity(
  p_organization_id uuid, p_period_start timestamptz, p_period_end timestamptz,
  p_site_id uuid DEFAULT NULL, p_provider_id uuid DEFAULT NULL
) RETURNS TABLE (
  provider_id uuid, site_id uuid, organization_id uuid, period_start timestamptz, period_end timestamptz,
  suppressed boolean, notes_completed_count integer, avg_documentation_lag_hours numeric,
  timeliness_under_24h integer, timeliness_24_to_48h integer, timeliness_over_48h integer,
  active_caseload_count integer, no_show_count integer, no_show_rate numeric, session_count_by_category jsonb
)
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  SET plan_cache_mode = force_custom_plan
  AS $$
  #variable_conflict use_column
  DECLARE
    v_user    uuid := auth.uid();
    v_k       integer;
    v_rows    integer := 0;
    v_details jsonb;
    r         public.hr_provider_figures;
    v_notes_shown boolean;
    v_bins_shown  boolean;
    v_categories  record;
  BEGIN
    IF p_organization_id IS NULL OR p_period_start IS NULL OR p_period_end IS NULL THEN
      RAISE EXCEPTION 'organization and period are required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_period_end <= p_period_start THEN
      RAISE EXCEPTION 'the period must end after it starts' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_period_end - p_period_start > interval '366 days' THEN
      RAISE EXCEPTION 'the period may last at most 366 days' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_details := pg_catalog.jsonb_build_object(
      'provider_filter', p_provider_id,
      'period_start', public.pf_iso_time(p_period_start),
      'period_end', public.pf_iso_time(p_period_end));
    -- A stranger to the organization writes nothing into its log (and
    -- learns nothing); a member is refused with an audit row, also for a
    -- site that is not the organization's (named in the details, never as
    -- the row's site).
    IF v_user IS NULL OR NOT public.cl_has_org_access(p_organization_id) THEN
      RETURN;
    END IF;
    IF p_site_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.pf_sites s
                                             WHERE s.organization_id = p_organization_id AND s.id = p_site_id) THEN
      PERFORM public.pf_audit_write(v_user, p_organization_id, NULL, 'hr.productivity.denied', 'organization',
                                    p_organization_id, 'HOPERAT', v_details || pg_catalog.jsonb_build_object('site_filter', p_site_id));
      RETURN;
    END IF;
    IF NOT (CASE WHEN p_site_id IS NULL
                 THEN public.cl_has_permission(p_organization_id, 'hr.productivity.view')
                 ELSE public.cl_has_site_permission(p_organization_id, p_site_id, 'hr.productivity.view') END) THEN
      PERFORM public.pf_audit_write(v_user, p_organization_id, p_site_id, 'hr.productivity.denied', 'organization',
                                    p_organization_id, 'HOPERAT', v_details);
      RETURN;
    END IF;
    v_k := coalesce((SELECT s.min_cell_size FROM public.hr_productivity_settings s WHERE s.organization_id = p_organization_id), 5);

    -- Static SQL, so that plpgsql_check verifies it, planned for these
    -- values on every call (plan_cache_mode, set on the function): the
    -- "(p IS NULL OR col = p)" filters fold away as constants, where a
    -- generic plan would read every row of the organization.
    FOR r IN
      WITH notes AS (
        SELECT n.author_id AS provider, n.chart_id,
               EXTRACT(EPOCH FROM (n.finalized_at - n.session_end)) / 3600.0 AS lag_hours
        FROM public.cl_progress_notes n
        WHERE n.organization_id = p_organization_id AND n.status = 'signed'
          AND n.finalized_at >= p_period_start AND n.finalized_at < p_period_end
          AND (p_site_id IS NULL OR n.site_id = p_site_id) AND (p_provider_id IS NULL OR n.author_id = p_provider_id)
      ), appts AS (
        SELECT a.provider_id AS provider, a.chart_id, a.group_session_id,
               (a.status = 'no_show' OR a.attendance_flag = 'no_show') AS no_show,
               (a.status = 'completed' AND a.attendance_flag IS DISTINCT FROM 'no_show') AS completed,
               coalesce(oc.category, gc.category, 'Other') AS category
        FROM public.pm_appointments a
        LEFT JOIN public.hr_org_service_categories oc
          ON oc.organization_id = a.organization_id AND oc.service_type = a.service_type
        LEFT JOIN public.hr_service_categories gc ON gc.service_type = a.service_type
        WHERE a.organization_id = p_organization_id
          AND a.starts_at >= p_period_start AND a.starts_at < p_period_end
          AND (p_site_id IS NULL OR a.site_id = p_site_id) AND (p_provider_id IS NULL OR a.provider_id = p_provider_id)
      ), note_agg AS (
        SELECT provider, count(*)::int AS notes, avg(lag_hours) AS avg_lag,
               (count(*) FILTER (WHERE lag_hours < 24))::int AS b1,
               (count(*) FILTER (WHERE lag_hours >= 24 AND lag_hours <= 48))::int AS b2,
               (count(*) FILTER (WHERE lag_hours > 48))::int AS b3
        FROM notes GROUP BY provider
      ), appt_agg AS (
        SELECT provider, (count(*) FILTER (WHERE no_show))::int AS no_shows,
               (count(*) FILTER (WHERE no_show OR completed))::int AS due
        FROM appts GROUP BY provider
      ), cat_agg AS (
        SELECT provider, pg_catalog.jsonb_object_agg(category, sessions) AS cats
        FROM (SELECT provider, category,
                     ((count(*) FILTER (WHERE completed AND group_session_id IS NULL))
                      + count(DISTINCT group_session_id) FILTER (WHERE completed))::int AS sessions
              FROM appts GROUP BY provider, category) x
        WHERE sessions > 0
        GROUP BY provider
      ), caseload AS (
        SELECT provider, count(DISTINCT chart_id)::int AS patients
        FROM (SELECT provider, chart_id FROM notes
              UNION ALL SELECT provider, chart_id FROM appts WHERE completed OR no_show) x
        GROUP BY provider
      )
      SELECT cl.provider, cl.patients, coalesce(na.notes, 0), na.avg_lag::numeric,
             coalesce(na.b1, 0), coalesce(na.b2, 0), coalesce(na.b3, 0),
             coalesce(aa.no_shows, 0), coalesce(aa.due, 0), coalesce(ca.cats, '{}'::jsonb)
      FROM caseload cl
      LEFT JOIN note_agg na ON na.provider = cl.provider
      LEFT JOIN appt_agg aa ON aa.provider = cl.provider
      LEFT JOIN cat_agg ca ON ca.provider = cl.provider
      ORDER BY cl.provider
    LOOP
      provider_id := r.provider; site_id := p_site_id; organization_id := p_organization_id;
      period_start := p_period_start; period_end := p_period_end;
      -- A provider with fewer than k patients: every figure hidden.
      suppressed := r.patients < v_k;
      active_caseload_count := CASE WHEN NOT suppressed THEN r.patients END;
      -- Notes: the count, the average over at least k notes, the bins
      -- together or not at all; nothing about notes when their count is
      -- hidden.
      v_notes_shown := NOT suppressed AND public.hr_cell(r.notes, v_k) IS NOT NULL;
      notes_completed_count := CASE WHEN v_notes_shown THEN r.notes END;
      avg_documentation_lag_hours := CASE WHEN v_notes_shown THEN public.hr_lag_hours(r.avg_lag, r.notes, v_k) END;
      v_bins_shown := v_notes_shown AND public.hr_bins_shown(r.under_24h, r.h24_to_48h, r.over_48h, v_k);
      timeliness_under_24h := CASE WHEN v_bins_shown THEN r.under_24h END;
      timeliness_24_to_48h := CASE WHEN v_bins_shown THEN r.h24_to_48h END;
      timeliness_over_48h := CASE WHEN v_bins_shown THEN r.over_48h END;
      -- Sessions by category, small ones folded or hidden.
      v_categories := public.hr_categories(r.sessions, v_k);
      session_count_by_category := CASE WHEN NOT suppressed THEN v_categories.shown END;
      -- No-shows: the count unless small; the rate only with the count and
      -- only when no category is hidden (count / rate would reveal the
      -- appointment total).
      no_show_count := CASE WHEN NOT suppressed THEN public.hr_cell(r.no_shows, v_k) END;
      no_show_rate := CASE WHEN no_show_count IS NOT NULL AND NOT v_categories.hidden
                           THEN public.hr_no_show_rate(r.no_shows, r.due) END;
      RETURN NEXT;
      v_rows := v_rows + 1;
    END LOOP;

    PERFORM public.pf_audit_write(v_user, p_organization_id, p_site_id, 'hr.productivity.viewed', 'organization',
                                  p_organization_id, 'HOPERAT', v_details || pg_catalog.jsonb_build_object('rows', v_rows, 'min_cell_size', v_k));
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.get_provider_productivity(uuid, timestamptz, timestamptz, uuid, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.hr_cell(integer, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.hr_lag_hours(numeric, integer, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.hr_no_show_rate(integer, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.hr_categories(jsonb, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.hr_bins_shown(integer, integer, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.get_provider_productivity(uuid, timestamptz, timestamptz, uuid, uuid) TO authenticated;
