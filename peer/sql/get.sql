-- One encounter, through cl_peer_encounter_get: the seed's policy checked
-- for its chart, and a Part 2 chart's rows only after disclose.sql has
-- committed its accounting.
SELECT * FROM public.cl_peer_encounter_get(@organization_id, @id)
