-- One page of a chart's encounters, newest first: the seed's rule is
-- decided once for the chart inside cl_peer_encounters_by_chart (see the
-- migration), not once per row, and accounts for itself (a Part 2 chart's
-- rows only under a committed accounting line; where none stands it writes
-- one and the library reads again once it has committed).
SELECT * FROM public.cl_peer_encounters_by_chart(@organization_id, @owner_id, @from, @to, @after_date, @after_id, @limit)
