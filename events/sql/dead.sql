-- Dead-lettered events, oldest first: of one organization when
-- @organization_id is not null, one event when @id is not null. Each with
-- how many later undelivered events of its aggregate it holds back, and its
-- envelope (PHI-free by construction: cl_pm_events_publish admits only
-- code-like values in an event's data).
SELECT e.organization_id, e.id, e.event_type, e.aggregate_id, e.aggregate_seq, e.attempts,
       coalesce(e.last_error, '') AS last_error, e.created_at,
       (SELECT pg_catalog.count(*) FROM public.cl_pm_events h
        WHERE h.organization_id = e.organization_id AND h.aggregate_id = e.aggregate_id
          AND h.aggregate_seq > e.aggregate_seq AND h.status <> 'delivered')::integer AS held_back,
       e.envelope
FROM public.cl_pm_events e
WHERE e.status = 'dead'
  AND (@organization_id::uuid IS NULL OR e.organization_id = @organization_id::uuid)
  AND (@id::uuid IS NULL OR e.id = @id::uuid)
ORDER BY e.created_at, e.organization_id, e.id
LIMIT @limit
