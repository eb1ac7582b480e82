-- The accounting of a page of a chart's encounters, committed before the
-- page is read.
SELECT public.cl_peer_encounters_by_chart_disclose(@organization_id, @owner_id)
