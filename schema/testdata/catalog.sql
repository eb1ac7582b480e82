-- A description of everything the migrations create, one line per object,
-- for comparing databases migrated by different tools. The tools' own
-- bookkeeping tables are left out.
WITH ours AS (
  SELECT c.oid, c.relname FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')
    AND c.relname NOT IN ('platform_schema_migrations', 'platform_host_schema_migrations', 'goose_db_version', 'goose_host_db_version',
                          'schema_migrations', 'host_schema_migrations', 'schema_version', 'host_schema_version')
)
SELECT line FROM (
  SELECT 'column ' || o.relname || '.' || a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod)
         || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
         || coalesce(' default ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid), '') AS line
  FROM ours o JOIN pg_catalog.pg_attribute a ON a.attrelid = o.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = o.oid AND d.adnum = a.attnum
  UNION ALL
  SELECT 'table ' || o.relname || ' rls=' || c.relrowsecurity || ' force=' || c.relforcerowsecurity
         || ' acl=' || coalesce(c.relacl::text, '')
  FROM ours o JOIN pg_catalog.pg_class c ON c.oid = o.oid
  UNION ALL
  SELECT 'constraint ' || o.relname || ' ' || k.conname || ' ' || pg_catalog.pg_get_constraintdef(k.oid)
  FROM ours o JOIN pg_catalog.pg_constraint k ON k.conrelid = o.oid
  UNION ALL
  SELECT 'index ' || pg_catalog.pg_get_indexdef(i.indexrelid)
  FROM ours o JOIN pg_catalog.pg_index i ON i.indrelid = o.oid
  UNION ALL
  SELECT 'policy ' || p.tablename || ' ' || p.policyname || ' ' || p.cmd || ' ' || p.roles::text
         || ' using=' || coalesce(p.qual, '') || ' check=' || coalesce(p.with_check, '')
  FROM pg_catalog.pg_policies p WHERE p.schemaname = 'public'
  UNION ALL
  SELECT 'trigger ' || pg_catalog.pg_get_triggerdef(tg.oid)
  FROM ours o JOIN pg_catalog.pg_trigger tg ON tg.tgrelid = o.oid AND NOT tg.tgisinternal
  UNION ALL
  SELECT 'function ' || n.nspname || '.' || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')'
         || ' definer=' || p.prosecdef || ' config=' || coalesce(p.proconfig::text, '')
         || ' acl=' || coalesce(p.proacl::text, '') || ' body=' || pg_catalog.md5(p.prosrc)
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname IN ('public', 'auth')
  UNION ALL
  SELECT 'row ' || r.tbl || ' ' || r.cnt
  FROM (SELECT 'pf_permissions' AS tbl, count(*) AS cnt FROM public.pf_permissions
        UNION ALL SELECT 'pf_roles', count(*) FROM public.pf_roles
        UNION ALL SELECT 'pf_role_permissions', count(*) FROM public.pf_role_permissions) r
) lines
ORDER BY line
