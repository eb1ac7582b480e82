-- The encounter as the caller may see it, with its participants (a JSON
-- array), for a read: through cl_multi_party_encounter_read (see migration
-- 0009), which decides its patients' charts once and accounts for them
-- itself.
SELECT * FROM public.cl_multi_party_encounter_read(@organization_id, @id)
