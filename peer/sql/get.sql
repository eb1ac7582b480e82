-- One encounter, through cl_peer_encounter_get: the seed's rule decided
-- once for its chart, which accounts for itself (a Part 2 chart's rows
-- only under a committed accounting line; where none stands it writes one
-- and the library reads again once it has committed).
SELECT * FROM public.cl_peer_encounter_get(@organization_id, @id)
