-- Lock the encounter so that concurrent edits queue up. FOR UPDATE passes
-- the update policy too: no row for an encounter the caller may only read.
-- (The select list is the client's writerColumns.)
FROM public.cl_peer_encounters WHERE organization_id = @organization_id AND id = @id FOR UPDATE
