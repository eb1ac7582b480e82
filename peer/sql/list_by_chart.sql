-- One page of a chart's encounters, newest first: the seed's policy is
-- checked once for the chart inside cl_peer_encounters_by_chart (see the
-- migration), not once per row; a Part 2 chart only after
-- list_by_chart_disclose.sql committed its accounting.
SELECT * FROM public.cl_peer_encounters_by_chart(@organization_id, @owner_id, @from, @to, @after_date, @after_id, @limit)
