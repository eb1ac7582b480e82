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
-- +goose StatementBegin
CREATE FUNCTION public.pf_plausible_time(p_value timestamptz) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN p_value >= '1900-01-01 00:00:00+00'::timestamptz AND p_value < '2200-01-01 00:00:00+00'::timestamptz;
  END
  $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION public.pf_plausible_date(p_value date) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN p_value >= '1900-01-01'::date AND p_value < '2200-01-01'::date;
  END
  $$;
-- +goose StatementEnd

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

-- pf_iso_time: a time as events and audit details carry it: UTC, ISO 8601,
-- microseconds, 'Z' (whatever the session's TimeZone).
-- +goose StatementBegin
CREATE FUNCTION public.pf_iso_time(p_value timestamptz) RETURNS text
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN pg_catalog.to_char(p_value AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
  END
  $$;
-- +goose StatementEnd

-- pf_changed_only: whether an update changed nothing but the named columns
-- (every other column, including any added later, is protected by
-- default). For guards: the few columns an action may change are named.
-- +goose StatementBegin
CREATE FUNCTION public.pf_changed_only(p_old jsonb, p_new jsonb, p_may_change text[]) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN (p_old OPERATOR(pg_catalog.-) p_may_change) = (p_new OPERATOR(pg_catalog.-) p_may_change);
  END
  $$;
-- +goose StatementEnd

-- pf_initial_values: the columns an acting user's insert may not choose,
-- and the value each starts with (TG_ARGV[0], a JSON object of scalars,
-- for which containment is equality; null for NULL). An insert naming another value is refused (check_violation, the
-- column named), one that leaves the default, or writes it out as Citus
-- does, passes. A table-level INSERT grant with this trigger replaces a
-- column-level grant, which Citus cannot honour. Host maintenance (no
-- acting user) keeps its values.
-- +goose StatementBegin
CREATE FUNCTION public.pf_initial_values() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_row    jsonb;
    v_column text;
    v_value  jsonb;
  BEGIN
    IF auth.uid() IS NULL THEN
      RETURN NEW;
    END IF;
    v_row := pg_catalog.to_jsonb(NEW);
    -- One containment test for the usual insert; the loop only names the
    -- column of a refusal.
    IF v_row OPERATOR(pg_catalog.@>) TG_ARGV[0]::jsonb THEN
      RETURN NEW;
    END IF;
    FOR v_column, v_value IN SELECT e.key, e.value FROM pg_catalog.jsonb_each(TG_ARGV[0]::jsonb) e LOOP
      IF (v_row OPERATOR(pg_catalog.->) v_column) IS DISTINCT FROM v_value THEN
        -- The column at the message's end, as every refusal names it (on
        -- Citus a worker's error keeps only its message, and there
        -- TG_TABLE_NAME names the shard).
        RAISE EXCEPTION 'the value is set by the database, not by an insert (%)', v_column
          USING ERRCODE = 'check_violation', COLUMN = v_column;
      END IF;
    END LOOP;
    RETURN NEW;
  END
  $$;
-- +goose StatementEnd

-- pf_grant_select_except: grant SELECT on a table to a role column by
-- column, all but the hidden ones: the clinical text a role reads only
-- through functions that check its view_text permission. Column grants do
-- not extend to columns added later, so a new column stays hidden until a
-- migration grants it: hidden by default.
-- +goose StatementBegin
CREATE PROCEDURE public.pf_grant_select_except(p_table regclass, p_role name, p_hidden name[])
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_column name;
  BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.unnest(p_hidden) h(name)
               WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                                 WHERE a.attrelid = p_table AND a.attname = h.name AND a.attnum > 0 AND NOT a.attisdropped)) THEN
      RAISE EXCEPTION 'pf_grant_select_except: % has no column among %', p_table, p_hidden;
    END IF;
    FOR v_column IN SELECT a.attname FROM pg_catalog.pg_attribute a
                    WHERE a.attrelid = p_table AND a.attnum > 0 AND NOT a.attisdropped AND NOT (a.attname = ANY (p_hidden))
                    ORDER BY a.attnum LOOP
      EXECUTE pg_catalog.format('GRANT SELECT (%I) ON %s TO %I', v_column, p_table, p_role);
    END LOOP;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON PROCEDURE public.pf_grant_select_except(regclass, name, name[]) FROM PUBLIC, authenticated;
