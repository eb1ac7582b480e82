SELECT public.cl_has_permission(@organization_id, @permission)
