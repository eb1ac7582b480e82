-- Mark one organization's claimed events delivered, by their keys.
UPDATE public.cl_pm_events
SET status = 'delivered', delivered_at = @delivered_at
WHERE organization_id = @organization_id AND id = ANY (@ids::uuid[])
