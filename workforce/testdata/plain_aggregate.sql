-- The benchmark's lower bound: the same aggregate as
-- get_provider_productivity, as one plain query with no permission check,
-- no suppression, no audit and no row-level security (run as the owner).
WITH notes AS (
  SELECT n.author_id AS provider, n.chart_id, EXTRACT(EPOCH FROM (n.finalized_at - n.session_end)) / 3600.0 AS lag_hours
  FROM public.cl_progress_notes n
  WHERE n.organization_id = $1 AND n.status = 'signed' AND n.finalized_at >= $2 AND n.finalized_at < $3
), appts AS (
  SELECT a.provider_id AS provider, a.chart_id, a.group_session_id,
         (a.status = 'no_show' OR a.attendance_flag = 'no_show') AS no_show,
         (a.status = 'completed' AND a.attendance_flag IS DISTINCT FROM 'no_show') AS completed,
         coalesce(oc.category, gc.category, 'Other') AS category
  FROM public.pm_appointments a
  LEFT JOIN public.hr_org_service_categories oc ON oc.organization_id = a.organization_id AND oc.service_type = a.service_type
  LEFT JOIN public.hr_service_categories gc ON gc.service_type = a.service_type
  WHERE a.organization_id = $1 AND a.starts_at >= $2 AND a.starts_at < $3
), note_agg AS (
  SELECT provider, count(*) AS notes, avg(lag_hours) AS avg_lag,
         count(*) FILTER (WHERE lag_hours < 24) AS b1, count(*) FILTER (WHERE lag_hours >= 24 AND lag_hours <= 48) AS b2,
         count(*) FILTER (WHERE lag_hours > 48) AS b3
  FROM notes GROUP BY provider
), appt_agg AS (
  SELECT provider, count(*) FILTER (WHERE no_show) AS no_shows, count(*) FILTER (WHERE no_show OR completed) AS due
  FROM appts GROUP BY provider
), cat_agg AS (
  SELECT provider, jsonb_object_agg(category, sessions) AS cats
  FROM (SELECT provider, category, (count(*) FILTER (WHERE completed AND group_session_id IS NULL))
               + count(DISTINCT group_session_id) FILTER (WHERE completed) AS sessions
        FROM appts GROUP BY provider, category) x
  WHERE sessions > 0 GROUP BY provider
), caseload AS (
  SELECT provider, count(DISTINCT chart_id) AS patients
  FROM (SELECT provider, chart_id FROM notes UNION ALL SELECT provider, chart_id FROM appts WHERE completed OR no_show) x
  GROUP BY provider
)
SELECT cl.provider, cl.patients, na.notes, na.avg_lag, na.b1, na.b2, na.b3, aa.no_shows, aa.due, ca.cats
FROM caseload cl
LEFT JOIN note_agg na ON na.provider = cl.provider
LEFT JOIN appt_agg aa ON aa.provider = cl.provider
LEFT JOIN cat_agg ca ON ca.provider = cl.provider
