-- Store an event once per (organization, idempotency key) and return the
-- stored envelope; the function validates the envelope (see migration 0006).
SELECT public.cl_pm_events_publish(@organization_id, @id, @event_type, @aggregate_id, @idempotency_key, @envelope)
