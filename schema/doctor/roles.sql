-- The roles the migrations create, and auth.uid(), exist; authenticated may
-- call auth.uid(), and cl_event_relay may read and mark the outbox (the
-- roles' powers are checked by privileges.sql).
SELECT f.object, f.problem, f.fix
FROM (VALUES
  ('authenticated', 'the role every acting-user transaction runs as'),
  ('cl_event_relay', 'the role the event relay runs as'),
  ('cl_definer', 'the role that owns the library''s functions')) AS r(name, purpose)
CROSS JOIN LATERAL (VALUES (
  r.name,
  pg_catalog.format('role %s (%s) does not exist', r.name, r.purpose),
  'apply the migrations: platform migrate (they create it)')) AS f(object, problem, fix)
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles x WHERE x.rolname = r.name)
UNION ALL
SELECT 'auth.uid()', 'function auth.uid() does not exist: every policy reads the acting user from it',
       'apply the migrations: platform migrate (they create it where it is missing, as on plain PostgreSQL)'
WHERE pg_catalog.to_regprocedure('auth.uid()') IS NULL
UNION ALL
SELECT 'auth.uid()', 'authenticated may not execute auth.uid(): every policy calls it',
       'GRANT USAGE ON SCHEMA auth TO authenticated; GRANT EXECUTE ON FUNCTION auth.uid() TO authenticated;'
WHERE pg_catalog.to_regprocedure('auth.uid()') IS NOT NULL
  AND EXISTS (SELECT 1 FROM pg_catalog.pg_roles x WHERE x.rolname = 'authenticated')
  AND NOT (pg_catalog.has_schema_privilege('authenticated', 'auth', 'USAGE')
           AND pg_catalog.has_function_privilege('authenticated', 'auth.uid()', 'EXECUTE'))
UNION ALL
SELECT 'public.cl_pm_events', 'cl_event_relay may not read the outbox and mark its events: the relay fails',
       'GRANT SELECT, UPDATE (status, attempts, next_attempt_at, last_error, delivered_at, envelope, compacted_at) ON public.cl_pm_events TO cl_event_relay;'
WHERE pg_catalog.to_regclass('public.cl_pm_events') IS NOT NULL
  AND EXISTS (SELECT 1 FROM pg_catalog.pg_roles x WHERE x.rolname = 'cl_event_relay')
  AND NOT (pg_catalog.has_table_privilege('cl_event_relay', 'public.cl_pm_events', 'SELECT')
           AND (SELECT pg_catalog.bool_and(pg_catalog.has_column_privilege('cl_event_relay', 'public.cl_pm_events', c, 'UPDATE'))
                FROM pg_catalog.unnest(ARRAY['status', 'attempts', 'next_attempt_at', 'last_error', 'delivered_at', 'envelope', 'compacted_at']) c))
