WITH status AS (
  UPDATE public.cl_group_attendance SET status = @status
  WHERE organization_id = @organization_id AND id = @attendance_id
  RETURNING organization_id, id
)
UPDATE public.cl_group_attendance_modes m
SET joined_at = coalesce(@joined_at, m.joined_at), left_at = coalesce(@left_at, m.left_at), updated_by = (SELECT auth.uid())
FROM status
WHERE m.organization_id = status.organization_id AND m.attendance_id = status.id
RETURNING m.attendance_id, m.session_id
