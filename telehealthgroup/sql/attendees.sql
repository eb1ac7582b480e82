-- A session's attendees with their modes, by attendance id: the attendance
-- and mode policies' answer, decided once per query inside
-- cl_group_attendees (see migration 0012), not once per row, which
-- accounts for the session's Part 2 charts itself.
SELECT * FROM public.cl_group_attendees(@organization_id, @session_id)
