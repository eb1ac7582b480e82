-- Compact up to 10,000 events delivered before @before: the envelope goes,
-- a tombstone with the event's keys stays (cl_pm_events.compacted_at), so
-- that an event is never stored, nor charged, twice.
UPDATE public.cl_pm_events
SET envelope = '{}'::jsonb, compacted_at = @compacted_at
WHERE (organization_id, id) IN (
  SELECT e.organization_id, e.id FROM public.cl_pm_events e
  WHERE e.status = 'delivered' AND e.delivered_at < @before AND e.compacted_at IS NULL
  LIMIT 10000)
