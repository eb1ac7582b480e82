-- The accounting of a page of a provider's encounters (the Part 2 charts
-- among the page's), committed before the page is read.
SELECT public.cl_peer_encounters_by_provider_disclose(@organization_id, @owner_id, @from, @to, @after_date, @after_id, @limit)
