-- For each supervisor of the peer in the period, the distinct peers that
-- supervisor supervised in it.
SELECT s.supervisor_id, count(DISTINCT s.peer_provider_id)::int AS peers
FROM public.cl_peer_supervision s
WHERE s.organization_id = @organization_id
  AND s.supervision_date BETWEEN @from AND @to
  AND s.supervisor_id IN (SELECT x.supervisor_id FROM public.cl_peer_supervision x
                          WHERE x.organization_id = @organization_id AND x.peer_provider_id = @peer_provider_id
                            AND x.supervision_date BETWEEN @from AND @to)
GROUP BY s.supervisor_id
