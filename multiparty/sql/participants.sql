SELECT * FROM public.cl_multi_party_participants WHERE organization_id = @organization_id AND encounter_id = @id
ORDER BY created_at, id
