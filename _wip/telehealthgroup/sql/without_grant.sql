-- Present attendees whose latest recording decision is not a grant.
SELECT count(*) FROM public.cl_group_attendance a
WHERE a.organization_id = @organization_id AND a.session_id = @session_id AND a.status = 'present'
  AND coalesce((SELECT r.decision FROM public.cl_group_recording_consents r
                WHERE r.organization_id = a.organization_id AND r.session_id = a.session_id AND r.attendance_id = a.id
                ORDER BY r.captured_at DESC, r.id DESC LIMIT 1), 'none') <> 'granted'
