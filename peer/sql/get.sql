-- One encounter, through cl_peer_encounter_get: the seed's policy checked
-- for its chart, and a Part 2 chart's disclosure accounted for (@use is
-- display for a read, save for the read before a write).
SELECT * FROM public.cl_peer_encounter_get(@organization_id, @id, @use)
