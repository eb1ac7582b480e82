-- The encounter as the caller may see it (the summary only with
-- cl.multi_party.view_text: it is not readable from the table itself).
SELECT * FROM public.cl_multi_party_encounters_shown WHERE organization_id = @organization_id AND id = @id
