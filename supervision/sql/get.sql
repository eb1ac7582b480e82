SELECT * FROM public.cl_peer_supervision_shown WHERE organization_id = @organization_id AND id = @id
