-- The Citus profile: distribute the library's schema by organization.
--
-- Run once, on the coordinator, as the superuser that applied the
-- migrations, after all of them (schema.Migrate, goose, golang-migrate,
-- tern or psql), with the citus extension created and the workers added.
-- README, "Scale-out on Citus", says what has been verified and what a
-- host must also do (roles on the workers, the relay's PollOnly).
--
-- Layout: global catalogues, the organizations and the charts are
-- reference tables (a copy on every node); every other table is
-- distributed by organization_id and colocated, so that everything one
-- organization has lives on one node and every policy and helper, which
-- all take the organization, stays on it. cl_charts is a reference table
-- because the seed's cl_check_sud_consent(chart, record type, user) finds a
-- chart by its id alone.

-- 1. Settings, for every session of this database.
DO $$
BEGIN
  -- The library sets the acting user's claims with SET LOCAL; this carries
  -- them to every worker that evaluates a policy.
  EXECUTE pg_catalog.format('ALTER DATABASE %I SET citus.propagate_set_commands = %L', pg_catalog.current_database(), 'local');
  -- Policies call helpers that read the caller's own organization (the
  -- same node, by colocation): a query from within a shard query.
  EXECUTE pg_catalog.format('ALTER DATABASE %I SET citus.allow_nested_distributed_execution = %L', pg_catalog.current_database(), 'on');
END
$$;
-- The guards are row triggers that decide by the row and its own
-- organization's rows (the catalogue test TestCitusRules holds them to it).
SET citus.enable_unsafe_triggers = on;
SET citus.allow_nested_distributed_execution = on;

-- 2. NOTIFY is heard only on the worker holding the row's shard: relays
-- poll instead (events.RelayConfig.PollOnly).
DROP TRIGGER IF EXISTS cl_pm_events_notify ON public.cl_pm_events;

-- 3. Foreign keys step aside while the tables move, and come back after.
-- Their definitions wait in an ordinary table, so that a failure on the way
-- loses none of them (run the profile again, or put them back from it).
BEGIN;
CREATE TABLE public.citus_profile_keys AS
  SELECT c.conrelid::regclass AS on_table, c.conname AS name, pg_catalog.pg_get_constraintdef(c.oid) AS definition,
         c.confrelid::regclass AS references_table
  FROM pg_catalog.pg_constraint c
  WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace;
DO $$
DECLARE
  k record;
BEGIN
  FOR k IN SELECT * FROM public.citus_profile_keys LOOP
    EXECUTE pg_catalog.format('ALTER TABLE %s DROP CONSTRAINT %I', k.on_table, k.name);
  END LOOP;
END
$$;
COMMIT;

-- The check of a jurisdiction profile's rules runs at commit; while the
-- reference tables are copied to the workers the functions it calls are
-- not there yet (step 7): it sleeps until then.
ALTER TABLE public.pf_jurisdiction_rules DISABLE TRIGGER pf_jurisdiction_rules_checked;

-- 4. Reference tables.
SELECT pg_catalog.create_reference_table(t)
FROM pg_catalog.unnest(ARRAY['public.pf_organizations', 'public.pf_permissions', 'public.pf_roles',
  'public.pf_role_permissions', 'public.pf_billing_codes', 'public.pf_lookup_values',
  'public.hr_service_categories', 'public.cl_charts', 'public.pf_jurisdiction_profiles',
  'public.pf_jurisdiction_daily_caps', 'public.pf_jurisdiction_rules']::regclass[]) t;

-- 5. Every other table, by organization, colocated.
SELECT pg_catalog.create_distributed_table(c.oid::regclass, 'organization_id')
FROM pg_catalog.pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
  AND c.relname NOT IN ('platform_schema_migrations', 'platform_host_schema_migrations')
  AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'organization_id')
  AND c.oid NOT IN (SELECT p.logicalrelid FROM pg_dist_partition p)
ORDER BY c.relname;

-- 6. The foreign keys back, except those Citus cannot hold: from a
-- reference table to a distributed one (cl_charts' site; the host's CL-01
-- owns that integrity on Citus).
DO $$
DECLARE
  k record;
BEGIN
  FOR k IN SELECT * FROM public.citus_profile_keys LOOP
    CONTINUE WHEN EXISTS (SELECT 1 FROM pg_dist_partition p WHERE p.logicalrelid = k.on_table AND p.partmethod = 'n')
              AND EXISTS (SELECT 1 FROM pg_dist_partition p WHERE p.logicalrelid = k.references_table AND p.partmethod = 'h');
    EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I %s', k.on_table, k.name, k.definition);
  END LOOP;
END
$$;
DROP TABLE public.citus_profile_keys;

-- 7. Every function on every node: Citus sends a function to the workers
-- only when it depends on nothing local; the policies and guards running
-- on the workers need them all.
SELECT pg_catalog.create_distributed_function(p.oid::regprocedure)
FROM pg_catalog.pg_proc p
WHERE p.pronamespace IN ('public'::regnamespace, 'auth'::regnamespace)
  AND NOT EXISTS (SELECT 1 FROM pg_dist_object d WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid);

ALTER TABLE public.pf_jurisdiction_rules ENABLE TRIGGER pf_jurisdiction_rules_checked;

-- 8. Citus reaches the workers as whoever runs a statement: the caller's
-- role for its own statements, cl_definer inside the library's definer
-- functions, cl_event_relay for the relay. Those roles must log in to the
-- workers. Let them in from the cluster's own addresses only (pg_hba on
-- every node, scram, their credentials in pg_dist_authinfo or .pgpass):
-- cl_definer reads every row.
ALTER ROLE authenticated LOGIN;
ALTER ROLE cl_definer LOGIN;
ALTER ROLE cl_event_relay LOGIN;
