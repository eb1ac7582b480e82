WITH meta AS (
  UPDATE public.cl_group_session_telehealth_metadata
  SET state = 'concluded', concluded_at = @concluded_at, conclude_correlation_id = @correlation_id,
      updated_by = auth.uid(), updated_at = pg_catalog.now()
  WHERE organization_id = @organization_id AND session_id = @session_id AND state = 'started'
  RETURNING concluded_at
)
UPDATE public.cl_group_sessions s
SET status = 'completed', ended_at = meta.concluded_at
FROM meta
WHERE s.organization_id = @organization_id AND s.id = @session_id
RETURNING s.ended_at
