SELECT * FROM public.cl_peer_encounters WHERE organization_id = @organization_id AND id = @id
