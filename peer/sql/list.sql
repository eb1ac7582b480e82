-- One page of a provider's encounters, newest first, after the cursor
-- (service_date, id), within [from, to]: the seed's rule is decided once
-- per chart met inside cl_peer_encounters_by_provider (see the migration),
-- not once per row, and the page accounts for its Part 2 charts itself
-- (where a line had to be written, the library reads again once it has
-- committed).
SELECT * FROM public.cl_peer_encounters_by_provider(@organization_id, @owner_id, @from, @to, @after_date, @after_id, @limit)
