-- Mark claimed rows delivered. They are locked by this transaction since
-- the claim, so their ctids are stable: a TID scan, instead of a join on the
-- primary key (whose planner estimate for an unnested array chose a hash
-- join over a sequential scan of the whole outbox).
UPDATE public.cl_pm_events
SET status = 'delivered', delivered_at = pg_catalog.clock_timestamp()
WHERE ctid = ANY (@ctids::tid[])
