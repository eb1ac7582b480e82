-- Delete up to 10,000 delivered events delivered before @before.
DELETE FROM public.cl_pm_events
WHERE (organization_id, id) IN (
  SELECT e.organization_id, e.id FROM public.cl_pm_events e
  WHERE e.status = 'delivered' AND e.delivered_at < @before
  LIMIT 10000)
