-- Lock the encounter so that concurrent finalizes and edits queue up. FOR
-- UPDATE passes the update policy too: no row for an encounter the caller
-- may only read. The row itself is read through get.sql (clinical text is
-- not readable by plain SQL).
SELECT id FROM public.cl_peer_encounters WHERE organization_id = @organization_id AND id = @id FOR UPDATE
