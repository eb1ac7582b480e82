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
  AS $$
  DECLARE
    v_user    uuid := auth.uid();
    v_k       integer;
    v_rows    integer := 0;
    v_details jsonb;
    r         record;
    v_cats    jsonb;
    v_other   integer;
    v_hidden  boolean;
    v_small   integer;
    c         record;
    v_note_filter text;
    v_appt_filter text;
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
      'period_start', pg_catalog.to_char(p_period_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
      'period_end', pg_catalog.to_char(p_period_end AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));
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

    -- Dynamic SQL with only the filters asked for, planned for these
    -- values on every call: an "(p IS NULL OR col = p)" generic plan would
    -- read every row of the organization. Only fixed fragments are
    -- concatenated; every value is a parameter.
    v_note_filter := CASE WHEN p_site_id IS NOT NULL THEN ' AND n.site_id = $4' ELSE '' END
                  || CASE WHEN p_provider_id IS NOT NULL THEN ' AND n.author_id = $5' ELSE '' END;
    v_appt_filter := CASE WHEN p_site_id IS NOT NULL THEN ' AND a.site_id = $4' ELSE '' END
                  || CASE WHEN p_provider_id IS NOT NULL THEN ' AND a.provider_id = $5' ELSE '' END;
    FOR r IN EXECUTE pg_catalog.format($q$
      WITH notes AS (
        SELECT n.author_id AS provider, n.chart_id,
               EXTRACT(EPOCH FROM (n.finalized_at - n.session_end)) / 3600.0 AS lag_hours
        FROM public.cl_progress_notes n
        WHERE n.organization_id = $1 AND n.status = 'signed'
          AND n.finalized_at >= $2 AND n.finalized_at < $3
          %s
      ), appts AS (
        SELECT a.provider_id AS provider, a.chart_id, a.group_session_id,
               (a.status = 'no_show' OR a.attendance_flag = 'no_show') AS no_show,
               (a.status = 'completed' AND a.attendance_flag IS DISTINCT FROM 'no_show') AS completed,
               coalesce(oc.category, gc.category, 'Other') AS category
        FROM public.pm_appointments a
        LEFT JOIN public.hr_org_service_categories oc
          ON oc.organization_id = a.organization_id AND oc.service_type = a.service_type
        LEFT JOIN public.hr_service_categories gc ON gc.service_type = a.service_type
        WHERE a.organization_id = $1
          AND a.starts_at >= $2 AND a.starts_at < $3
          %s
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
      SELECT cl.provider, cl.patients, coalesce(na.notes, 0) AS notes, na.avg_lag,
             coalesce(na.b1, 0) AS b1, coalesce(na.b2, 0) AS b2, coalesce(na.b3, 0) AS b3,
             coalesce(aa.no_shows, 0) AS no_shows, coalesce(aa.due, 0) AS due,
             coalesce(ca.cats, '{}'::jsonb) AS cats
      FROM caseload cl
      LEFT JOIN note_agg na ON na.provider = cl.provider
      LEFT JOIN appt_agg aa ON aa.provider = cl.provider
      LEFT JOIN cat_agg ca ON ca.provider = cl.provider
      ORDER BY cl.provider
    $q$, v_note_filter, v_appt_filter)
      USING p_organization_id, p_period_start, p_period_end, p_site_id, p_provider_id
    LOOP
      provider_id := r.provider; site_id := p_site_id; organization_id := p_organization_id;
      period_start := p_period_start; period_end := p_period_end;
      IF r.patients < v_k THEN
        suppressed := true;
        notes_completed_count := NULL; avg_documentation_lag_hours := NULL;
        timeliness_under_24h := NULL; timeliness_24_to_48h := NULL; timeliness_over_48h := NULL;
        active_caseload_count := NULL; no_show_count := NULL; no_show_rate := NULL; session_count_by_category := NULL;
        RETURN NEXT; v_rows := v_rows + 1;
        CONTINUE;
      END IF;
      suppressed := false;
      active_caseload_count := r.patients;
      -- Notes: the count, the rounded average over at least k notes, and the
      -- bins only if none of them is small.
      IF r.notes > 0 AND r.notes < v_k THEN
        notes_completed_count := NULL; avg_documentation_lag_hours := NULL;
        timeliness_under_24h := NULL; timeliness_24_to_48h := NULL; timeliness_over_48h := NULL;
      ELSE
        notes_completed_count := r.notes;
        avg_documentation_lag_hours := CASE WHEN r.notes >= v_k THEN pg_catalog.round(r.avg_lag::numeric, 0) END;
        IF (r.b1 > 0 AND r.b1 < v_k) OR (r.b2 > 0 AND r.b2 < v_k) OR (r.b3 > 0 AND r.b3 < v_k) THEN
          timeliness_under_24h := NULL; timeliness_24_to_48h := NULL; timeliness_over_48h := NULL;
        ELSE
          timeliness_under_24h := r.b1; timeliness_24_to_48h := r.b2; timeliness_over_48h := r.b3;
        END IF;
      END IF;
      -- Categories: small ones folded into Other when the fold reaches k.
      v_cats := '{}'::jsonb; v_other := 0; v_hidden := false; v_small := 0;
      FOR c IN SELECT key, value::int AS n FROM pg_catalog.jsonb_each_text(r.cats) LOOP
        IF c.n >= v_k AND c.key <> 'Other' THEN
          v_cats := v_cats || pg_catalog.jsonb_build_object(c.key, c.n);
        ELSE
          v_other := v_other + c.n;
          v_small := v_small + 1;
        END IF;
      END LOOP;
      IF v_other >= v_k THEN
        v_cats := v_cats || pg_catalog.jsonb_build_object('Other', v_other);
      ELSIF v_other > 0 THEN
        v_hidden := true;
      END IF;
      session_count_by_category := v_cats;
      -- No-shows: the count unless small; the rate only with the count and
      -- only when no category is hidden.
      IF r.no_shows > 0 AND r.no_shows < v_k THEN
        no_show_count := NULL; no_show_rate := NULL;
      ELSE
        no_show_count := r.no_shows;
        no_show_rate := CASE WHEN r.due > 0 AND NOT v_hidden THEN pg_catalog.round(r.no_shows::numeric / r.due, 2) END;
      END IF;
      RETURN NEXT; v_rows := v_rows + 1;
    END LOOP;

    PERFORM public.pf_audit_write(v_user, p_organization_id, p_site_id, 'hr.productivity.viewed', 'organization',
                                  p_organization_id, 'HOPERAT', v_details || pg_catalog.jsonb_build_object('rows', v_rows, 'min_cell_size', v_k));
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.get_provider_productivity(uuid, timestamptz, timestamptz, uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.get_provider_productivity(uuid, timestamptz, timestamptz, uuid, uuid) TO authenticated;
