SELECT attendance_id, mode, at_home FROM public.cl_virtual_group_present_lines(@organization_id, @session_id)
