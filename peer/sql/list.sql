-- One page of a provider's encounters, newest first, after the cursor
-- (service_date, id), within [from, to]: the seed's policy is checked once
-- per chart met inside cl_peer_encounters_by_provider (see the migration),
-- not once per row; Part 2 charts only after list_disclose.sql committed.
SELECT * FROM public.cl_peer_encounters_by_provider(@organization_id, @owner_id, @from, @to, @after_date, @after_id, @limit)
