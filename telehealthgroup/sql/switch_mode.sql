-- The session is the attendance's own (its mode row, which only a caller
-- who may see the attendance sees): nothing is written otherwise.
INSERT INTO public.cl_group_mode_switches (organization_id, session_id, attendance_id, switched_at, mode, at_home, recorded_by)
SELECT x.organization_id, x.session_id, x.attendance_id, @switched_at, @mode, @at_home, auth.uid()
FROM public.cl_group_attendance_modes x
WHERE x.organization_id = @organization_id AND x.attendance_id = @attendance_id
RETURNING id
