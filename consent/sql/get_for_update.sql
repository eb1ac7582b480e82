-- Lock the consent so that concurrent revocations queue up.
SELECT * FROM public.cl_part2_consents WHERE organization_id = @organization_id AND id = @id FOR UPDATE
