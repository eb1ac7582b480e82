-- Every SECURITY DEFINER function in schemas public and auth fixes its
-- search_path to schemas no user can create objects in, with pg_temp last
-- (unlisted, pg_temp is searched first for tables), and is not
-- executable by PUBLIC.
WITH definers AS (
  SELECT p.oid::pg_catalog.regprocedure::text AS sig, p.proacl,
         (SELECT pg_catalog.string_to_array(pg_catalog.substr(c, 13), ',') FROM pg_catalog.unnest(p.proconfig) c
          WHERE c LIKE 'search_path=%') AS path
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
  WHERE p.prosecdef AND n.nspname IN ('public', 'auth')
), paths AS (
  SELECT d.sig, d.proacl, d.path,
         (SELECT pg_catalog.array_agg(pg_catalog.btrim(e, ' "') ORDER BY i) FROM pg_catalog.unnest(d.path) WITH ORDINALITY AS x(e, i)) AS schemas
  FROM definers d
)
SELECT p.sig AS object, f.problem, x.fix
FROM paths p
CROSS JOIN LATERAL (VALUES
  (p.path IS NULL,
   pg_catalog.format('SECURITY DEFINER function %s has no fixed search_path: a caller''s objects could be found first', p.sig)),
  (p.path IS NOT NULL AND pg_catalog.array_position(p.schemas, 'pg_temp') IS DISTINCT FROM pg_catalog.cardinality(p.schemas),
   pg_catalog.format('SECURITY DEFINER function %s does not list pg_temp last in its search_path: a caller''s temporary tables could be found first', p.sig)),
  (EXISTS (SELECT 1 FROM pg_catalog.unnest(p.schemas) s
           WHERE s <> 'pg_temp' AND pg_catalog.to_regnamespace(s) IS NOT NULL
             AND EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = 'authenticated')
             AND pg_catalog.has_schema_privilege('authenticated', pg_catalog.to_regnamespace(s), 'CREATE')),
   pg_catalog.format('SECURITY DEFINER function %s searches a schema authenticated may create objects in', p.sig))
) AS f(bad, problem)
CROSS JOIN LATERAL (VALUES (pg_catalog.format('ALTER ROUTINE %s SET search_path = pg_catalog, pg_temp;', p.sig))) AS x(fix)
WHERE f.bad
UNION ALL
SELECT p.sig, pg_catalog.format('PUBLIC may execute SECURITY DEFINER function %s', p.sig),
       pg_catalog.format('REVOKE ALL ON ROUTINE %s FROM PUBLIC;', p.sig)
FROM paths p
WHERE p.proacl IS NULL OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(p.proacl) a WHERE a.grantee = 0)
ORDER BY 1, 2
