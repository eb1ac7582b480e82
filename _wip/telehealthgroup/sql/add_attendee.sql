WITH attendance AS (
  INSERT INTO public.cl_group_attendance (organization_id, session_id, chart_id)
  VALUES (@organization_id, @session_id, @chart_id)
  RETURNING organization_id, id, session_id
)
INSERT INTO public.cl_group_attendance_modes (organization_id, attendance_id, session_id, mode, at_home, updated_by)
SELECT a.organization_id, a.id, a.session_id, @mode, @at_home, auth.uid() FROM attendance a
RETURNING attendance_id
