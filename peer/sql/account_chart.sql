-- The accounting of a write on a chart (a new draft), committed in a
-- transaction of its own before it: a line only for a Part 2 chart.
SELECT public.cl_part2_disclosed(@organization_id, ARRAY[@chart_id::uuid], 'peer_encounter', 'TREAT', @use)
