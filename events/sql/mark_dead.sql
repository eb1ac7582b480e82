-- An envelope that cannot be decoded can never be delivered.
UPDATE public.cl_pm_events
SET status = 'dead', attempts = attempts + 1, last_error = @last_error
WHERE organization_id = @organization_id AND id = @id
