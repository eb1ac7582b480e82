-- +goose Up
-- Prerequisites: the role every library call acts as, and auth.uid().
--
-- Both are created only where they are missing, so these files run unchanged
-- on plain PostgreSQL and on Supabase (which already has both).
--
-- The migrating role must be a superuser or have BYPASSRLS: every table is
-- created with FORCE ROW LEVEL SECURITY, and the SECURITY DEFINER helpers run
-- as the migrating role and must read those tables.

-- +goose StatementBegin
DO $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM pg_catalog.pg_roles r
    WHERE r.rolname = current_user AND (r.rolsuper OR r.rolbypassrls)
  ) THEN
    RAISE EXCEPTION 'platform-go migrations must run as a superuser or a role with BYPASSRLS; % has neither', current_user
      USING HINT = 'SECURITY DEFINER helpers run as the migrating role and read tables with FORCE ROW LEVEL SECURITY.';
  END IF;

  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = 'authenticated') THEN
    CREATE ROLE authenticated NOLOGIN NOINHERIT;
  END IF;
END
$$;
-- +goose StatementEnd

CREATE SCHEMA IF NOT EXISTS auth;

-- auth.uid(): the acting user, from the JWT claims that the library sets with
-- set_config(..., true) at the start of every transaction. Plain SQL, STABLE
-- and without SET options, so the planner can inline it.
-- +goose StatementBegin
DO $$
BEGIN
  IF pg_catalog.to_regprocedure('auth.uid()') IS NULL THEN
    CREATE FUNCTION auth.uid() RETURNS uuid
      LANGUAGE sql STABLE
      AS $fn$
        SELECT coalesce(
          nullif(pg_catalog.current_setting('request.jwt.claim.sub', true), ''),
          (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb OPERATOR(pg_catalog.->>) 'sub')
        )::uuid
      $fn$;
    GRANT USAGE ON SCHEMA auth TO authenticated;
    GRANT EXECUTE ON FUNCTION auth.uid() TO authenticated;
  END IF;
END
$$;
-- +goose StatementEnd

-- Plausible times: the one rule for "a date a clinical record can carry"
-- (no year 0001 or 9999, no timestamp the Go time type cannot round-trip).
-- Used by CHECK constraints on every clinical date and time; whether a time
-- may lie in the future is each record's own rule.
CREATE FUNCTION public.pf_plausible_time(p_value timestamptz) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$ SELECT p_value >= '1900-01-01 00:00:00+00'::timestamptz AND p_value < '2200-01-01 00:00:00+00'::timestamptz $$;

CREATE FUNCTION public.pf_plausible_date(p_value date) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$ SELECT p_value >= '1900-01-01'::date AND p_value < '2200-01-01'::date $$;

-- pf_stamp: the database's clock on a row's bookkeeping times. For every
-- acting-user write (auth.uid() set) created_at is the transaction's time
-- on insert and kept on update, and updated_at is the transaction's time;
-- whatever the caller sent is ignored. A table without one of the columns
-- is left alone there. The host's own maintenance (no acting user, e.g. a
-- backfill of history) keeps its values.
-- +goose StatementBegin
CREATE FUNCTION public.pf_stamp() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF auth.uid() IS NULL THEN
      RETURN NEW;
    END IF;
    NEW := pg_catalog.jsonb_populate_record(NEW, pg_catalog.jsonb_build_object(
      'created_at', CASE WHEN TG_OP = 'INSERT' THEN pg_catalog.to_jsonb(pg_catalog.now())
                         ELSE pg_catalog.to_jsonb(OLD) OPERATOR(pg_catalog.->) 'created_at' END,
      'updated_at', pg_catalog.now()));
    RETURN NEW;
  END
  $$;
-- +goose StatementEnd
