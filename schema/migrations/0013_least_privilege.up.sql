-- +goose Up
-- Least privilege for the library's own code.
--
-- Every function in schema public (SECURITY DEFINER helpers, guards and
-- rules alike) is owned by cl_definer: a NOLOGIN role that is not a
-- superuser, cannot bypass row-level security, create roles or databases,
-- read or write server files or run programs (no COPY ... PROGRAM). A flaw
-- in one definer function therefore carries only what cl_definer holds:
-- SELECT on the library's tables, INSERT and UPDATE on the few its
-- functions write, and a row-level-security policy per table that lets it
-- see every row (its functions make their own permission checks).
--
-- pf_apply_least_privilege() applies that to whatever exists when it runs.
-- Keep this migration last; a later migration that adds a table or a
-- function ends with `CALL public.pf_apply_least_privilege();` (a test
-- fails when a function is not owned by cl_definer or a table lacks its
-- policy).

-- +goose StatementBegin
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = 'cl_definer') THEN
    CREATE ROLE cl_definer NOLOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
  END IF;
END
$$;
-- +goose StatementEnd

-- The migrating role hands its functions to cl_definer: on PostgreSQL that
-- needs membership (a superuser has it; Supabase's postgres grants it to
-- itself here).
GRANT cl_definer TO CURRENT_USER;
GRANT USAGE ON SCHEMA public, auth TO cl_definer;
GRANT EXECUTE ON FUNCTION auth.uid() TO cl_definer;

-- +goose StatementBegin
CREATE PROCEDURE public.pf_apply_least_privilege()
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    t record;
    f record;
    -- The tables the library's definer functions write.
    v_writes text[] := ARRAY['pf_audit_logs', 'cl_part2_emergency_access', 'cl_pm_events', 'cl_group_sessions',
                             'cl_group_session_telehealth_metadata', 'cl_peer_encounters', 'cl_peer_encounter_amendments',
                             'hr_cell_key_seeds'];
  BEGIN
    FOR t IN
      SELECT c.relname::text AS name FROM pg_catalog.pg_class c
      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
        AND c.relrowsecurity AND c.relname NOT IN ('platform_schema_migrations', 'platform_host_schema_migrations') -- bookkeeping
    LOOP
      EXECUTE pg_catalog.format('GRANT SELECT ON public.%I TO cl_definer', t.name);
      IF t.name = ANY (v_writes) THEN
        EXECUTE pg_catalog.format('GRANT INSERT, UPDATE ON public.%I TO cl_definer', t.name);
      END IF;
      IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policies p
                     WHERE p.schemaname = 'public' AND p.tablename = t.name AND p.policyname = t.name || '_definer') THEN
        EXECUTE pg_catalog.format(
          'CREATE POLICY %I ON public.%I FOR ALL TO cl_definer USING (true) WITH CHECK (true)', t.name || '_definer', t.name);
      END IF;
    END LOOP;
    FOR f IN
      SELECT p.oid::regprocedure AS sig, p.prokind FROM pg_catalog.pg_proc p
      WHERE p.pronamespace = 'public'::regnamespace AND p.proowner <> 'cl_definer'::regrole
        AND p.proname <> 'pf_apply_least_privilege'
    LOOP
      EXECUTE pg_catalog.format('ALTER %s %s OWNER TO cl_definer',
                                CASE f.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, f.sig);
    END LOOP;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON PROCEDURE public.pf_apply_least_privilege() FROM PUBLIC;

CALL public.pf_apply_least_privilege();
