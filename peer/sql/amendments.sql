SELECT * FROM public.cl_peer_encounter_amendments
WHERE organization_id = @organization_id AND peer_encounter_id = @peer_encounter_id
ORDER BY created_at, id
