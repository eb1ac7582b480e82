-- Accounting of disclosures for one chart (42 CFR 2.24 / HIPAA 164.528):
-- every consent granted or revoked, every medical-emergency access, and every
-- access decision about the chart since @since, oldest first. Readable by
-- users with pf.audit.view in the organization (RLS on pf_audit_logs). The
-- reason for an emergency access is in cl_part2_emergency_access, linked by
-- emergency_access_id.
SELECT a.id,
       a.occurred_at,
       a.action,
       a.actor_user_id,
       a.organization_id,
       a.site_id,
       a.purpose,
       a.details OPERATOR(pg_catalog.->>) 'record_type' AS record_type,
       a.details OPERATOR(pg_catalog.->>) 'use' AS use,
       a.details OPERATOR(pg_catalog.->>) 'basis' AS basis,
       (a.details OPERATOR(pg_catalog.->>) 'consent_id')::uuid AS consent_id,
       (a.details OPERATOR(pg_catalog.->>) 'emergency_access_id')::uuid AS emergency_access_id
FROM public.pf_audit_logs a
WHERE a.organization_id = @organization_id
  AND a.target_type = 'chart'
  AND a.target_id = @chart_id
  AND a.action LIKE 'part2.%'
  AND a.occurred_at >= @since
ORDER BY a.occurred_at, a.id
