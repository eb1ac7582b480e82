-- Requeue a dead-lettered event: its aggregate's later events follow it.
UPDATE public.cl_pm_events
SET status = 'pending', attempts = 0, next_attempt_at = @now, last_error = NULL
WHERE organization_id = @organization_id AND id = @id AND status = 'dead'
