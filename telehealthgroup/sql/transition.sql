SELECT * FROM public.cl_virtual_group_transition(@organization_id, @session_id, @to, @correlation_id, @concluded_at, @schedule_id)
