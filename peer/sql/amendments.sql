-- An encounter's amendments, oldest first, through
-- cl_peer_encounter_amendments_of (policy per chart; a Part 2 chart only after disclose.sql committed).
SELECT * FROM public.cl_peer_encounter_amendments_of(@organization_id, @peer_encounter_id)
