-- One more failed attempt: retry later, or dead-letter after the last one.
UPDATE public.cl_pm_events
SET attempts = attempts + 1,
    last_error = @last_error,
    next_attempt_at = @next_attempt_at,
    status = CASE WHEN attempts + 1 >= @max_attempts THEN 'dead' ELSE 'pending' END
WHERE organization_id = @organization_id AND id = @id
RETURNING status
