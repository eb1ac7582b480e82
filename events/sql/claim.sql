-- Claim up to {{batch_size}} due pending events, each only if it is the oldest pending
-- event of its aggregate (so events of one aggregate are delivered in
-- order), skipping rows other relays hold. The batch size is written into
-- the text (not a parameter) so the plan stays on the partial indexes.
SELECT e.organization_id, e.id, e.attempts, e.envelope, e.created_at
FROM public.cl_pm_events e
WHERE e.status = 'pending'
  AND e.next_attempt_at <= pg_catalog.clock_timestamp()
  AND NOT EXISTS (
    SELECT 1 FROM public.cl_pm_events p
    WHERE p.organization_id = e.organization_id
      AND p.aggregate_id = e.aggregate_id
      AND p.status = 'pending'
      AND p.seq < e.seq)
ORDER BY e.next_attempt_at, e.seq
LIMIT {{batch_size}}
FOR UPDATE OF e SKIP LOCKED
