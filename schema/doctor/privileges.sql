-- The roles in @roles (the application's and the relay's login roles, and
-- the roles they act as) are subject to row-level security: none is, or
-- can act as (SET ROLE through memberships), a role with SUPERUSER,
-- BYPASSRLS or CREATEROLE (which may grant itself cl_definer), nor the
-- owner of the database, of schema public or auth, or of a table, view,
-- sequence or function in them (an owner can disable or bypass the
-- policies, or replace a helper). @may_own names roles that own functions
-- by design (cl_definer); acting as one is still a finding. A fix names the grant to
-- revoke: the one nearest to the privileged role.
WITH RECURSIVE reach(checked, via, grantee) AS (
  SELECT r.rolname::text, r.oid, NULL::oid FROM pg_catalog.pg_roles r WHERE r.rolname = ANY (@roles::text[])
  UNION
  SELECT reach.checked, m.roleid, m.member FROM reach JOIN pg_catalog.pg_auth_members m ON m.member = reach.via
), paths AS (
  SELECT reach.checked, v.rolname::text AS via, g.rolname::text AS grantee, reach.grantee IS NULL AS itself
  FROM reach JOIN pg_catalog.pg_roles v ON v.oid = reach.via
  LEFT JOIN pg_catalog.pg_roles g ON g.oid = reach.grantee
), powers AS (
  SELECT paths.*, p.power, p.why
  FROM paths JOIN pg_catalog.pg_roles v ON v.rolname = paths.via
  CROSS JOIN LATERAL (VALUES
    ('SUPERUSER', v.rolsuper, 'row-level security never applies to it'),
    ('BYPASSRLS', v.rolbypassrls, 'row-level security does not apply to it'),
    ('CREATEROLE', v.rolcreaterole, 'it can grant itself cl_definer, which owns the library''s functions')) AS p(power, has, why)
  WHERE p.has
), owned(owner, kind, name, new_owner) AS (
  SELECT d.datdba, 'DATABASE', pg_catalog.quote_ident(d.datname::text), current_user::text
  FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()
  UNION ALL
  SELECT n.nspowner, 'SCHEMA', pg_catalog.quote_ident(n.nspname::text), current_user::text
  FROM pg_catalog.pg_namespace n WHERE n.nspname IN ('public', 'auth')
  UNION ALL
  SELECT c.relowner,
         CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                        WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
         pg_catalog.format('%I.%I', n.nspname, c.relname), current_user::text
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname IN ('public', 'auth') AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  UNION ALL
  SELECT p.proowner, CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
         p.oid::pg_catalog.regprocedure::text, 'cl_definer'
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname IN ('public', 'auth')
), owners AS (
  SELECT paths.*, o.kind, o.name, o.new_owner
  FROM paths JOIN pg_catalog.pg_roles v ON v.rolname = paths.via
  JOIN owned o ON o.owner = v.oid
  WHERE NOT (paths.itself AND paths.via = ANY (@may_own::text[]) AND o.kind IN ('FUNCTION', 'PROCEDURE'))
)
SELECT checked AS object,
       CASE WHEN itself THEN pg_catalog.format('%s has %s: %s', checked, power, why)
            ELSE pg_catalog.format('%s can act as %s, which has %s: %s', checked, via, power, why) END AS problem,
       CASE WHEN itself THEN pg_catalog.format('ALTER ROLE %I NO%s;', checked, power)
            ELSE pg_catalog.format('REVOKE %I FROM %I;', via, grantee) END AS fix
FROM powers
UNION ALL
SELECT checked,
       pg_catalog.format('%s owns %s %s: an owner can disable or bypass row-level security%s', checked, kind, name,
                         CASE WHEN kind = 'DATABASE' AND EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n
                                                                 WHERE n.nspname = 'public' AND n.nspowner = 'pg_database_owner'::pg_catalog.regrole)
                                   THEN ' (it owns schema public through pg_database_owner)'
                              WHEN kind = 'DATABASE' THEN ''
                              WHEN kind = 'SCHEMA' THEN ' (it can drop and re-create any object in it)'
                              WHEN kind = 'FUNCTION' THEN ' (it can replace the function''s body)' ELSE '' END),
       pg_catalog.format('ALTER %s %s OWNER TO %I;', kind, name, new_owner)
FROM owners WHERE itself
UNION ALL
SELECT checked,
       pg_catalog.format('%s can act as %s, which owns %s objects in this database (%s): an owner can disable or bypass row-level security',
                         checked, via, pg_catalog.count(*), pg_catalog.min(kind || ' ' || name)),
       pg_catalog.format('REVOKE %I FROM %I;', via, grantee)
FROM owners WHERE NOT itself
GROUP BY checked, via, grantee
ORDER BY 1, 2
