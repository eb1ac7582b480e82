INSERT INTO public.cl_group_recording_consents (organization_id, session_id, attendance_id, decision, method, captured_by)
SELECT a.organization_id, a.session_id, a.id, @decision, @method, auth.uid()
FROM public.cl_group_attendance a
WHERE a.organization_id = @organization_id AND a.id = @attendance_id
RETURNING id
