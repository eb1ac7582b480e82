-- Claim up to {{batch_size}} due pending events, each only if it is the oldest
-- undelivered event of its aggregate (so events of one aggregate are
-- delivered in order, and a dead-lettered event holds back the later ones
-- until Relay.Retry requeues it), skipping rows other relays hold. The batch size is written into
-- the text (not a parameter) so the plan stays on the partial indexes. The
-- head-of-aggregate test is a correlated scalar subquery, an index probe per
-- row whatever the statistics say (as NOT EXISTS, a freshly filled outbox
-- with stale statistics was planned as a nested-loop anti join over the
-- whole table: 0.5 s for 2,000 rows).
SELECT e.ctid, e.organization_id, e.id, e.attempts, e.envelope, e.created_at
FROM public.cl_pm_events e
WHERE e.status = 'pending'
  AND e.next_attempt_at <= pg_catalog.statement_timestamp()
  AND e.seq = (
    SELECT pg_catalog.min(p.seq) FROM public.cl_pm_events p
    WHERE p.organization_id = e.organization_id
      AND p.aggregate_id = e.aggregate_id
      AND p.status <> 'delivered')
ORDER BY e.next_attempt_at, e.seq
LIMIT {{batch_size}}
FOR UPDATE OF e SKIP LOCKED
