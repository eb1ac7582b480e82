SELECT rules FROM public.cl_peer_supervision_rules WHERE organization_id = @organization_id
