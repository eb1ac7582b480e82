-- Claim up to @limit due pending events of one organization, each only if
-- it is the first undelivered event of its aggregate (so events of one
-- aggregate are delivered in their order, aggregate_seq, and a
-- dead-lettered event holds back the later ones until Relay.Retry requeues
-- it), skipping rows other relays hold. The head-of-aggregate test is a
-- correlated scalar subquery, an index probe per row whatever the
-- statistics say (as NOT EXISTS, a freshly filled outbox with stale
-- statistics was planned as a nested-loop anti join over the whole table:
-- 0.5 s for 2,000 rows); it names the organization itself, as Citus
-- needs for FOR UPDATE. @now is the database's clock, read once per
-- batch (no volatile function in the relay's statements: Citus refuses
-- them in writes). An aggregate's first event (aggregate_seq 1, the only
-- one of most aggregates) is its head without the probe: CASE evaluates
-- the sub-query only for the others (measured: the probe is 4 to 8 us a
-- row, half of a claim of 1,000).
SELECT e.organization_id, e.id, e.attempts, e.envelope, e.created_at
FROM public.cl_pm_events e
WHERE e.organization_id = @organization_id
  AND e.status = 'pending'
  AND e.next_attempt_at <= @now
  AND CASE WHEN e.aggregate_seq = 1 THEN true
           ELSE e.aggregate_seq = (
             SELECT pg_catalog.min(p.aggregate_seq) FROM public.cl_pm_events p
             WHERE p.organization_id = @organization_id
               AND p.aggregate_id = e.aggregate_id
               AND p.status <> 'delivered') END
ORDER BY e.organization_id, e.next_attempt_at, e.created_at
LIMIT @limit
FOR UPDATE OF e SKIP LOCKED
