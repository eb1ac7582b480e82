-- Notes only where the caller may read them (cl_peer_supervision_shown):
-- they are not readable from the table itself.
SELECT * FROM public.cl_peer_supervision_shown
WHERE organization_id = @organization_id AND peer_provider_id = @peer_provider_id
  AND supervision_date BETWEEN @from AND @to
ORDER BY supervision_date, id
