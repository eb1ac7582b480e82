-- The organizations of the oldest due events (at most {{batch_size}}
-- events looked at, on the due index). Each is then claimed on its own
-- (claim.sql): a claim names one organization, which Citus routes to one
-- shard and which keeps FOR UPDATE SKIP LOCKED on one node.
SELECT DISTINCT d.organization_id
FROM (SELECT e.organization_id FROM public.cl_pm_events e
      WHERE e.status = 'pending' AND e.next_attempt_at <= @now
      ORDER BY e.next_attempt_at
      LIMIT {{batch_size}}) d
