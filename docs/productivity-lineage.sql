-- Data lineage for get_provider_productivity: the CL-04 notes and PM-03
-- appointments behind one provider's figures for one period. For an
-- authorized auditor only (it reads patient-level rows); run as the owner
-- or a role with access to the tables. Parameters:
--   :org    organization id        :provider  provider (staff) id
--   :start  period start (incl.)   :end       period end (excl.)
--   :site   site id, or empty for the whole organization
--
-- notes_completed_count, avg_documentation_lag_hours and the timeliness
-- bins come from these notes:
SELECT 'note' AS source, n.id, n.chart_id, n.session_end, n.finalized_at,
       round((EXTRACT(EPOCH FROM (n.finalized_at - n.session_end)) / 3600.0)::numeric, 2) AS lag_hours,
       CASE WHEN n.finalized_at - n.session_end < interval '24 hours' THEN '<24h'
            WHEN n.finalized_at - n.session_end <= interval '48 hours' THEN '24-48h' ELSE '>48h' END AS bin
FROM public.cl_progress_notes n
WHERE n.organization_id = :'org' AND n.author_id = :'provider' AND n.status = 'signed'
  AND n.finalized_at >= :'start' AND n.finalized_at < :'end'
  AND (nullif(:'site', '')::uuid IS NULL OR n.site_id = nullif(:'site', '')::uuid)
ORDER BY n.finalized_at;

-- no_show_count, no_show_rate (no-shows / (completed + no-shows)),
-- session_count_by_category (completed; a group session once) and, with the
-- notes above, active_caseload_count (distinct chart_id) come from these:
SELECT 'appointment' AS source, a.id, a.chart_id, a.starts_at, a.status, a.attendance_flag, a.group_session_id,
       coalesce(oc.category, gc.category, 'Other') AS category
FROM public.pm_appointments a
LEFT JOIN public.hr_org_service_categories oc ON oc.organization_id = a.organization_id AND oc.service_type = a.service_type
LEFT JOIN public.hr_service_categories gc ON gc.service_type = a.service_type
WHERE a.organization_id = :'org' AND a.provider_id = :'provider'
  AND a.starts_at >= :'start' AND a.starts_at < :'end'
  AND (nullif(:'site', '')::uuid IS NULL OR a.site_id = nullif(:'site', '')::uuid)
ORDER BY a.starts_at;
