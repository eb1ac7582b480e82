SELECT * FROM public.cl_multi_party_encounters WHERE organization_id = @organization_id AND id = @id
