-- An encounter's amendments, oldest first, through
-- cl_peer_encounter_amendments_of (the rule decided once for the chart,
-- which accounts for itself, as get.sql).
SELECT * FROM public.cl_peer_encounter_amendments_of(@organization_id, @peer_encounter_id)
