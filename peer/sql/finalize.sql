UPDATE public.cl_peer_encounters
SET status = 'finalized', finalized_by = (SELECT auth.uid()), finalized_at = pg_catalog.now(),
    updated_by = (SELECT auth.uid()), updated_at = pg_catalog.now()
WHERE organization_id = @organization_id AND id = @id AND status = 'draft'
RETURNING id
