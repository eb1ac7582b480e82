SELECT attendance_id, mode, at_home, modifiers, place_of_service
FROM public.cl_virtual_group_present_lines(@organization_id, @session_id)
