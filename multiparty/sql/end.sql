UPDATE public.cl_multi_party_encounters
SET ended_at = @ended_at, summary = @summary, updated_by = (SELECT auth.uid()), updated_at = pg_catalog.now()
WHERE organization_id = @organization_id AND id = @id AND ended_at IS NULL
RETURNING id
