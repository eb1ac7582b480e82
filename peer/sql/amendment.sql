-- One amendment, as the caller may see it.
SELECT * FROM public.cl_peer_encounter_amendments_of(@organization_id, @peer_encounter_id) WHERE id = @id
