-- Attendees still expected or present whose Part 2 chart has no consent to
-- virtual group participation.
SELECT count(*) FROM public.cl_group_attendance a
WHERE a.organization_id = @organization_id AND a.session_id = @session_id
  AND a.status IN ('expected', 'present')
  AND NOT public.cl_group_participation_consented(a.chart_id)
