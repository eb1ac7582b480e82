-- One page of a provider's encounters (through the seed's policy, row by
-- row: they span many charts), newest first, after
-- the cursor (service_date, id), within [from, to]. Every parameter is set
-- (the Go side fills open ends), so a generic plan stays on the
-- (organization_id, {{owner}}, service_date DESC, id DESC) index.
SELECT * FROM public.cl_peer_encounters e
WHERE e.organization_id = @organization_id
  AND e.{{owner}} = @owner_id
  AND e.service_date BETWEEN @from AND @to
  AND (e.service_date, e.id) < (@after_date, @after_id)
ORDER BY e.service_date DESC, e.id DESC
LIMIT @limit
