-- Store an event once per (organization, idempotency key) and return the
-- stored envelope: the new one, or the one a previous publish stored.
WITH inserted AS (
  INSERT INTO public.cl_pm_events (organization_id, id, event_type, aggregate_id, idempotency_key, envelope)
  VALUES (@organization_id, @id, @event_type, @aggregate_id, @idempotency_key, @envelope)
  ON CONFLICT (organization_id, idempotency_key) DO NOTHING
  RETURNING envelope
)
SELECT envelope FROM inserted
UNION ALL
SELECT e.envelope FROM public.cl_pm_events e
WHERE e.organization_id = @organization_id AND e.idempotency_key = @idempotency_key
  AND NOT EXISTS (SELECT 1 FROM inserted)
