-- Each login role named (@roles) exists, may log in and is a member of
-- @member_of (the application's roles of authenticated, the relay's of
-- cl_event_relay), directly or through other roles.
WITH RECURSIVE named AS (
  SELECT pg_catalog.unnest(@roles::text[]) AS name
), reach(name, via) AS (
  SELECT r.rolname::text, r.oid FROM pg_catalog.pg_roles r JOIN named ON named.name = r.rolname
  UNION
  SELECT reach.name, m.roleid FROM reach JOIN pg_catalog.pg_auth_members m ON m.member = reach.via
)
SELECT named.name AS object,
       pg_catalog.format('login role %s does not exist', named.name) AS problem,
       pg_catalog.format('CREATE ROLE %I LOGIN PASSWORD ''...'' NOINHERIT; GRANT %I TO %I;', named.name, @member_of::text, named.name) AS fix
FROM named WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = named.name)
UNION ALL
SELECT r.rolname, pg_catalog.format('role %s may not log in', r.rolname), pg_catalog.format('ALTER ROLE %I LOGIN;', r.rolname)
FROM pg_catalog.pg_roles r JOIN named ON named.name = r.rolname WHERE NOT r.rolcanlogin
UNION ALL
SELECT r.rolname, pg_catalog.format('role %s is not a member of %s', r.rolname, @member_of::text),
       pg_catalog.format('GRANT %I TO %I;', @member_of::text, r.rolname)
FROM pg_catalog.pg_roles r JOIN named ON named.name = r.rolname
WHERE NOT EXISTS (SELECT 1 FROM reach JOIN pg_catalog.pg_roles v ON v.oid = reach.via
                  WHERE reach.name = r.rolname AND v.rolname = @member_of::text)
ORDER BY 1, 2
