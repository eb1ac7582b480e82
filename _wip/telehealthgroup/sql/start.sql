WITH meta AS (
  UPDATE public.cl_group_session_telehealth_metadata
  SET state = 'started', started_at = pg_catalog.now(), start_correlation_id = @correlation_id,
      updated_by = auth.uid(), updated_at = pg_catalog.now()
  WHERE organization_id = @organization_id AND session_id = @session_id AND state = 'scheduled'
  RETURNING started_at
)
UPDATE public.cl_group_sessions s
SET status = 'in_progress', started_at = meta.started_at
FROM meta
WHERE s.organization_id = @organization_id AND s.id = @session_id
RETURNING s.started_at
