UPDATE public.cl_pm_events e
SET status = 'delivered', delivered_at = pg_catalog.clock_timestamp()
FROM ROWS FROM (pg_catalog.unnest(@organization_ids::uuid[]), pg_catalog.unnest(@ids::uuid[])) AS d(organization_id, id)
WHERE e.organization_id = d.organization_id AND e.id = d.id
