SELECT * FROM public.cl_peer_supervision
WHERE organization_id = @organization_id AND peer_provider_id = @peer_provider_id
  AND supervision_date BETWEEN @from AND @to
ORDER BY supervision_date, id
