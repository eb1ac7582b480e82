-- Every table in schema public that a role other than its owner may use
-- has row-level security enabled and forced (FORCE: the policies apply to
-- the owner too, so no one but a superuser or BYPASSRLS role reads around
-- them). A table no other role holds a privilege on (a migration tool's
-- bookkeeping) is no door.
SELECT pg_catalog.format('public.%I', c.relname) AS object,
       CASE WHEN NOT c.relrowsecurity THEN pg_catalog.format('row-level security is not enabled on public.%I', c.relname)
            ELSE pg_catalog.format('row-level security is not forced on public.%I: its owner reads around the policies', c.relname) END AS problem,
       pg_catalog.format('ALTER TABLE public.%I %s;', c.relname,
         CASE WHEN NOT c.relrowsecurity AND NOT c.relforcerowsecurity THEN 'ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY'
              WHEN NOT c.relrowsecurity THEN 'ENABLE ROW LEVEL SECURITY'
              ELSE 'FORCE ROW LEVEL SECURITY' END) AS fix
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
  AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
  AND (EXISTS (SELECT 1 FROM pg_catalog.aclexplode(c.relacl) a WHERE a.grantee <> c.relowner)
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_attribute att, pg_catalog.aclexplode(att.attacl) a
                  WHERE att.attrelid = c.oid AND a.grantee <> c.relowner))
ORDER BY 1
