-- Open an emergency access; the function checks the permission, the reason
-- and the duration, and audits it.
SELECT e.organization_id, e.id, e.chart_id, e.user_id, e.started_at, e.expires_at
FROM public.cl_part2_break_glass(@chart_id, @reason, @duration) AS e
