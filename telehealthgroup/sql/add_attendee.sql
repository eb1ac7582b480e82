-- Two statements (attendance, then its mode): the mode's policy looks the
-- attendance up, which a single statement's snapshot would not show.
INSERT INTO public.cl_group_attendance (organization_id, session_id, chart_id)
VALUES (@organization_id, @session_id, @chart_id)
RETURNING id, chart_id, status
