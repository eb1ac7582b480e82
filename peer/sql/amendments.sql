-- An encounter's amendments, oldest first, through
-- cl_peer_encounter_amendments_of (policy per chart, disclosure accounted).
SELECT * FROM public.cl_peer_encounter_amendments_of(@organization_id, @peer_encounter_id)
