SELECT a.id AS attendance_id, a.chart_id, a.status, m.mode, m.at_home, m.joined_at, m.left_at
FROM public.cl_group_attendance a
JOIN public.cl_group_attendance_modes m ON m.organization_id = a.organization_id AND m.attendance_id = a.id
-- Both sides filtered by the session (not only joined): each table's
-- policy then runs on the session's rows, not on the organization's.
WHERE a.organization_id = @organization_id AND a.session_id = @session_id
  AND m.organization_id = @organization_id AND m.session_id = @session_id
ORDER BY a.id
