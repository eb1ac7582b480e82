-- The access helpers every policy is built on (@signatures) exist with
-- their signatures, answer boolean, run as SECURITY DEFINER owned by
-- cl_definer, are executable by authenticated where policies call them
-- (@granted) and by nobody else. A host that replaces their bodies keeps
-- all of that (CREATE OR REPLACE keeps the owner and grants, not the SET
-- clause: definers.sql checks that). @sources names the migration that
-- creates each.
WITH helpers AS (
  SELECT h.sig, h.granted, h.source, p.oid, p.prorettype, p.prosecdef, p.proowner, p.proacl
  FROM ROWS FROM (pg_catalog.unnest(@signatures::text[]), pg_catalog.unnest(@granted::boolean[]), pg_catalog.unnest(@sources::text[])) AS h(sig, granted, source)
  LEFT JOIN pg_catalog.pg_proc p ON p.oid = pg_catalog.to_regprocedure(h.sig)
)
SELECT h.sig AS object, f.problem, f.fix
FROM helpers h
CROSS JOIN LATERAL (VALUES
  (true, h.oid IS NULL,
   pg_catalog.format('access helper %s is missing (or has another signature): every policy calls it', h.sig),
   pg_catalog.format('create it as %s does (same name and argument types, RETURNS boolean, SECURITY DEFINER, SET search_path = pg_catalog, pg_temp), over your own membership tables; then ALTER FUNCTION %s OWNER TO cl_definer; REVOKE ALL ON FUNCTION %s FROM PUBLIC;%s',
                     h.source, h.sig, h.sig, CASE WHEN h.granted THEN pg_catalog.format(' GRANT EXECUTE ON FUNCTION %s TO authenticated;', h.sig) ELSE '' END)),
  (false, h.prorettype IS DISTINCT FROM 'pg_catalog.bool'::pg_catalog.regtype,
   pg_catalog.format('access helper %s returns %s, not boolean', h.sig, h.prorettype::pg_catalog.regtype),
   pg_catalog.format('DROP FUNCTION %s; then create it as %s does', h.sig, h.source)),
  (false, NOT h.prosecdef,
   pg_catalog.format('access helper %s is not SECURITY DEFINER: it runs as the user, whom row-level security keeps from the membership tables', h.sig),
   pg_catalog.format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = pg_catalog, pg_temp;', h.sig)),
  (false, h.proowner IS DISTINCT FROM (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = 'cl_definer'),
   pg_catalog.format('access helper %s is owned by %s, not cl_definer: it runs with its owner''s powers', h.sig, h.proowner::pg_catalog.regrole),
   pg_catalog.format('ALTER FUNCTION %s OWNER TO cl_definer;', h.sig)),
  (false, h.proacl IS NULL OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(h.proacl) a WHERE a.grantee = 0),
   pg_catalog.format('PUBLIC may execute access helper %s', h.sig),
   pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC;', h.sig)),
  (false, h.granted AND NOT EXISTS (SELECT 1 FROM pg_catalog.aclexplode(h.proacl) a JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
                             WHERE r.rolname = 'authenticated' AND a.privilege_type = 'EXECUTE'),
   pg_catalog.format('authenticated may not execute access helper %s: the policies that call it fail', h.sig),
   pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO authenticated;', h.sig)),
  (false, NOT h.granted AND EXISTS (SELECT 1 FROM pg_catalog.aclexplode(h.proacl) a JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
                             WHERE r.rolname = 'authenticated' AND a.privilege_type = 'EXECUTE'),
   pg_catalog.format('authenticated may execute %s, which answers about any user''s permissions', h.sig),
   pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM authenticated;', h.sig))
) AS f(missing, bad, problem, fix)
WHERE f.bad AND f.missing = (h.oid IS NULL) -- a missing helper has that one finding
ORDER BY pg_catalog.array_position(@signatures::text[], h.sig), 2
