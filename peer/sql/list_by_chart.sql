-- One page of a chart's encounters, newest first: the seed's policy is
-- checked once for the chart inside cl_peer_encounters_by_chart (see the
-- migration), not once per row, and a Part 2 chart's disclosure is
-- accounted for.
SELECT * FROM public.cl_peer_encounters_by_chart(@organization_id, @owner_id, @from, @to, @after_date, @after_id, @limit)
