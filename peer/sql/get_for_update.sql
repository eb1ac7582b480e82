-- Lock the encounter so that concurrent finalizes and edits queue up.
SELECT * FROM public.cl_peer_encounters WHERE organization_id = @organization_id AND id = @id FOR UPDATE
