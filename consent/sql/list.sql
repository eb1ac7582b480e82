-- A chart's consents, newest first. RLS shows them only to users with
-- cl.consent.view or cl.consent.manage.
SELECT * FROM public.cl_part2_consents
WHERE organization_id = @organization_id AND chart_id = @chart_id
ORDER BY recorded_at DESC, id
