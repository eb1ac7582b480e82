INSERT INTO public.cl_peer_certifications (organization_id, peer_provider_id, certified_on)
VALUES (@organization_id, @peer_provider_id, @certified_on)
ON CONFLICT (organization_id, peer_provider_id) DO UPDATE SET certified_on = EXCLUDED.certified_on
