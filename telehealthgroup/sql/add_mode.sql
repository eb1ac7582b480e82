INSERT INTO public.cl_group_attendance_modes (organization_id, attendance_id, session_id, mode, at_home, updated_by)
VALUES (@organization_id, @attendance_id, @session_id, @mode, @at_home, auth.uid())
RETURNING mode, at_home, joined_at, left_at
