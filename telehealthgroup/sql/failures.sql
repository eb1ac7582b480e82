SELECT * FROM public.cl_group_technology_failures
WHERE organization_id = @organization_id AND session_id = @session_id
ORDER BY started_at, id
