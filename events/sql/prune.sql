-- Delete up to 10,000 delivered events older than the retention ($1).
DELETE FROM public.cl_pm_events
WHERE (organization_id, id) IN (
  SELECT e.organization_id, e.id FROM public.cl_pm_events e
  WHERE e.status = 'delivered' AND e.delivered_at < pg_catalog.clock_timestamp() - $1::interval
  LIMIT 10000)
