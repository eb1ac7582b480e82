SELECT certified_on FROM public.cl_peer_certifications
WHERE organization_id = @organization_id AND peer_provider_id = @peer_provider_id
