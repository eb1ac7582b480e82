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

-- The tables the library creates or rules (the host stand-ins' names
-- included, whoever created them): the only tables pf_apply_least_privilege
-- touches. A test compares it with the migrations' CREATE TABLEs.
CREATE FUNCTION public.pf_library_tables() RETURNS text[]
  LANGUAGE sql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT ARRAY[
      -- the host's (schema/host)
      'pf_organizations', 'pf_sites', 'pf_members', 'pf_permissions', 'pf_roles', 'pf_role_permissions', 'pf_member_roles',
      'cl_charts', 'pm_telehealth_sessions', 'cl_group_sessions', 'cl_group_attendance', 'pm_appointments', 'pm_encounters',
      'cl_progress_notes',
      -- the library's
      'pf_audit_logs', 'cl_part2_consents', 'cl_part2_emergency_access', 'cl_pm_events', 'pf_billing_codes',
      'pf_org_billing_codes', 'pf_lookup_values', 'cl_peer_service_types', 'cl_peer_settings', 'cl_peer_encounters',
      'cl_peer_encounter_amendments', 'cl_peer_supervision', 'cl_peer_certifications', 'cl_peer_supervision_rules',
      'cl_multi_party_encounters', 'cl_multi_party_participants', 'hr_service_categories', 'hr_org_service_categories',
      'hr_productivity_settings', 'hr_cell_key_seeds', 'pf_jurisdiction_profiles', 'pf_jurisdiction_daily_caps',
      'pf_jurisdiction_rules', 'cl_group_session_telehealth_metadata', 'cl_group_attendance_modes',
      'cl_group_recording_consents', 'cl_group_technology_failures', 'cl_group_mode_switches']::text[]
  $$;
REVOKE ALL ON FUNCTION public.pf_library_tables() FROM PUBLIC, authenticated;

-- Whether an access list grants anything to anon itself (not through PUBLIC).
CREATE FUNCTION public.pf_granted_to_anon(p_acl aclitem[]) RETURNS boolean
  LANGUAGE sql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT EXISTS (SELECT 1 FROM pg_catalog.aclexplode(p_acl) a JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
                   WHERE r.rolname = 'anon')
  $$;
REVOKE ALL ON FUNCTION public.pf_granted_to_anon(aclitem[]) FROM PUBLIC, authenticated;

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
    -- Supabase's client role for requests without a login: the library
    -- gives it nothing, whatever default privileges granted it.
    v_anon boolean := EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = 'anon');
  BEGIN
    FOR t IN
      SELECT c.relname::text AS name FROM pg_catalog.pg_class c
      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
        AND c.relname = ANY (public.pf_library_tables())
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
      -- Row-level security does not govern these: no client holds them.
      EXECUTE pg_catalog.format('REVOKE TRUNCATE, REFERENCES, TRIGGER ON public.%I FROM PUBLIC, authenticated', t.name);
      IF v_anon AND public.pf_granted_to_anon((SELECT c.relacl FROM pg_catalog.pg_class c
                                               WHERE c.oid = pg_catalog.format('public.%I', t.name)::regclass)) THEN
        EXECUTE pg_catalog.format('REVOKE ALL ON public.%I FROM anon', t.name);
      END IF;
    END LOOP;
    -- The library's functions: the migrating role's own in schema public,
    -- never an extension's nor another role's (a host keeps its functions
    -- elsewhere, or owned by a role of its own).
    FOR f IN
      SELECT p.oid::regprocedure AS sig, p.prokind FROM pg_catalog.pg_proc p
      WHERE p.pronamespace = 'public'::regnamespace AND p.proowner = (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER)
        AND p.proname <> 'pf_apply_least_privilege'
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                        WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
    LOOP
      EXECUTE pg_catalog.format('ALTER %s %s OWNER TO cl_definer',
                                CASE f.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, f.sig);
    END LOOP;
    IF v_anon THEN
      REVOKE ALL ON public.cl_peer_supervision_shown, public.cl_multi_party_encounters_shown FROM anon;
      FOR f IN
        SELECT p.oid::regprocedure AS sig, p.prokind FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = 'public'::regnamespace AND p.proowner = 'cl_definer'::regrole
          AND public.pf_granted_to_anon(p.proacl)
      LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON %s %s FROM anon',
                                  CASE f.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, f.sig);
      END LOOP;
    END IF;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON PROCEDURE public.pf_apply_least_privilege() FROM PUBLIC, authenticated;

CALL public.pf_apply_least_privilege();
