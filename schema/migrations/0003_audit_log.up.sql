-- +goose Up
-- pf_audit_logs: append-only for everyone, UUIDs and codes only.
--
-- who:   actor_user_id (auth.uid() of the caller; NULL for the system)
-- where: organization_id, site_id
-- what:  action, target_type, target_id
-- when:  occurred_at, and transaction_id, the writing transaction (which
--        tells a disclosure committed by an earlier transaction from one
--        written by the transaction that is reading: cl_part2_opened)
-- why:   purpose (HL7 PurposeOfUse code: TREAT, ETREAT, HPAYMT, HOPERAT, ...)
-- plus details: a flat JSON object whose values are numbers, booleans, nulls
-- or short code-like strings (UUIDs, codes, ISO timestamps). No spaces are
-- possible in a string value, so free text cannot be stored by accident.
--
-- Rows are written only by SECURITY DEFINER functions; `authenticated` can
-- read its organization's rows with pf.audit.view and nobody can change or
-- delete a row (no grant, no policy, and a trigger that refuses even the
-- owner).

-- +goose StatementBegin
-- pf_is_code_value: a JSON number, boolean or null, or a string of at most 64
-- code-like characters (no spaces, so never free text). The one definition
-- of "safe scalar" shared by the audit details and the event data checks.
-- (PL/pgSQL, like pf_audit_details_ok: an SQL function with a SET clause
-- is never inlined and is planned again at every call, which made the
-- check of an audit row cost more than its insert.)
CREATE FUNCTION public.pf_is_code_value(p_value jsonb) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN pg_catalog.jsonb_typeof(p_value) IN ('number', 'boolean', 'null')
        OR (pg_catalog.jsonb_typeof(p_value) = 'string'
            AND ((p_value OPERATOR(pg_catalog.#>>) '{}'::text[]) ~ '^[A-Za-z0-9_.:+-]*$' AND pg_catalog.length((p_value OPERATOR(pg_catalog.#>>) '{}'::text[])) <= 64));
  END
  $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION public.pf_audit_details_ok(p_details jsonb) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN pg_catalog.jsonb_typeof(p_details) = 'object'
       AND NOT EXISTS (
         SELECT 1 FROM pg_catalog.jsonb_each(p_details) AS e(key, value)
         WHERE NOT (e.key ~ '^[a-z][a-z0-9_]*$' AND pg_catalog.length(e.key) <= 63)
            OR NOT public.pf_is_code_value(e.value)
       );
  END
  $$;
-- +goose StatementEnd

CREATE TABLE public.pf_audit_logs (
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  occurred_at     timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  actor_user_id   uuid,
  organization_id uuid NOT NULL,
  site_id         uuid,
  action          text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$' AND pg_catalog.length(action) <= 64),
  target_type     text NOT NULL CHECK ((target_type ~ '^[a-z][a-z0-9_]+$' AND pg_catalog.length(target_type) <= 63)),
  target_id       uuid,
  purpose         text CHECK ((purpose ~ '^[A-Z][A-Z0-9]+$' AND pg_catalog.length(purpose) <= 16)),
  details         jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (public.pf_audit_details_ok(details)),
  transaction_id  xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
  PRIMARY KEY (organization_id, id),
  -- A row's site is a site of its organization (none may name a made-up
  -- site or another organization's).
  FOREIGN KEY (organization_id, site_id) REFERENCES public.pf_sites (organization_id, id)
);
CREATE INDEX pf_audit_logs_org_time_idx ON public.pf_audit_logs (organization_id, occurred_at);
CREATE INDEX pf_audit_logs_target_idx ON public.pf_audit_logs (organization_id, target_type, target_id, occurred_at);
-- The probes of a Part 2 read: a user's accounting lines for a chart
-- (cl_part2_accounted_charts, cl_part2_account) and the chart's last
-- change of consent or emergency access (cl_part2_decision_stands), each
-- past any number of other rows about the chart (a red team filled a
-- chart's rows with 200,000 of a host's own and slowed everyone's reads
-- of it 60 times through the target index alone).
CREATE INDEX pf_audit_logs_disclosed_idx ON public.pf_audit_logs (organization_id, target_id, actor_user_id, occurred_at)
  WHERE action = 'part2.record.disclosed';
CREATE INDEX pf_audit_logs_part2_decisions_idx ON public.pf_audit_logs (organization_id, target_id, occurred_at)
  WHERE action IN ('part2.consent.granted', 'part2.consent.revoked', 'part2.emergency_access.opened');

-- +goose StatementBegin
CREATE FUNCTION public.pf_audit_logs_refuse_change() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RAISE EXCEPTION 'pf_audit_logs is append-only: % is not allowed', TG_OP
      USING ERRCODE = 'insufficient_privilege';
  END
  $$;
-- +goose StatementEnd

CREATE TRIGGER pf_audit_logs_no_update_delete BEFORE UPDATE OR DELETE ON public.pf_audit_logs
  FOR EACH ROW EXECUTE FUNCTION public.pf_audit_logs_refuse_change();
CREATE TRIGGER pf_audit_logs_no_truncate BEFORE TRUNCATE ON public.pf_audit_logs
  FOR EACH STATEMENT EXECUTE FUNCTION public.pf_audit_logs_refuse_change();

ALTER TABLE public.pf_audit_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.pf_audit_logs FORCE ROW LEVEL SECURITY;
REVOKE ALL ON public.pf_audit_logs FROM PUBLIC, authenticated;
GRANT SELECT ON public.pf_audit_logs TO authenticated;
CREATE POLICY pf_audit_logs_select ON public.pf_audit_logs FOR SELECT TO authenticated
  USING (public.cl_has_permission(organization_id, 'pf.audit.view'));

-- pf_audit_write: the one writer, for other SECURITY DEFINER functions and
-- triggers. Not executable by `authenticated`: the actor is whatever the
-- calling definer function says it is.
-- +goose StatementBegin
CREATE FUNCTION public.pf_audit_write(
  p_actor_user_id uuid, p_organization_id uuid, p_site_id uuid,
  p_action text, p_target_type text, p_target_id uuid, p_purpose text, p_details jsonb
) RETURNS uuid
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_id uuid;
  BEGIN
    INSERT INTO public.pf_audit_logs
      (actor_user_id, organization_id, site_id, action, target_type, target_id, purpose, details)
    VALUES
      (p_actor_user_id, p_organization_id, p_site_id, p_action, p_target_type, p_target_id, p_purpose,
       coalesce(p_details, '{}'::jsonb))
    RETURNING id INTO v_id;
    RETURN v_id;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.pf_audit_write(uuid, uuid, uuid, text, text, uuid, text, jsonb) FROM PUBLIC, authenticated;

-- pf_refuse: the one way the library refuses a caller for lack of
-- permission. The refusal rolls back the caller's transaction, and with it
-- any audit row, so it is recorded where no rollback reaches: a structured
-- line in the server log (level LOG, which a default log_min_messages
-- keeps and a client does not see), naming the acting user, the
-- organization, the action and the target by UUIDs and codes only, then
-- the error (insufficient_privilege) with p_message, which carries no
-- stored value either. Refusals that answer instead of raising (the
-- productivity report, cl_part2_decide) are rows in pf_audit_logs.
-- +goose StatementBegin
CREATE FUNCTION public.pf_refuse(p_organization_id uuid, p_action text, p_target_type text, p_target_id uuid, p_message text)
  RETURNS void
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    -- Codes only, so that no caller can write anything else into the log.
    RAISE LOG 'pf.refused actor=% organization=% action=% target=%/%',
      coalesce(auth.uid()::text, '-'), coalesce(p_organization_id::text, '-'),
      CASE WHEN p_action ~ '^[a-z][a-z0-9_.]{0,63}$' THEN p_action ELSE 'invalid' END,
      CASE WHEN p_target_type ~ '^[a-z][a-z0-9_]{0,63}$' THEN p_target_type ELSE '-' END, coalesce(p_target_id::text, '-');
    RAISE EXCEPTION '%', p_message USING ERRCODE = 'insufficient_privilege';
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.pf_refuse(uuid, text, text, uuid, text) FROM PUBLIC, authenticated;
-- Guards that run as the caller refuse through it too.
GRANT EXECUTE ON FUNCTION public.pf_refuse(uuid, text, text, uuid, text) TO authenticated;

-- pf_audit_record: for hosts (exports, AI use, ...). The actor is always
-- auth.uid(), the caller must belong to the organization (and the site, when
-- one is given), and the action must be in the host's namespace ("host."):
-- nobody can write into another organization's log, in another user's
-- name, or in the library's own namespaces (part2.*, hr.*, ...) that the
-- accounting of disclosures and other reports read.
-- +goose StatementBegin
CREATE FUNCTION public.pf_audit_record(
  p_organization_id uuid, p_site_id uuid,
  p_action text, p_target_type text, p_target_id uuid, p_purpose text, p_details jsonb
) RETURNS uuid
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF auth.uid() IS NULL OR NOT public.cl_has_org_access(p_organization_id)
       OR (p_site_id IS NOT NULL AND NOT public.cl_has_site_access(p_organization_id, p_site_id)) THEN
      PERFORM public.pf_refuse(p_organization_id, 'host.audit.record', p_target_type, p_target_id,
        'permission denied: not a member of the organization or site');
    END IF;
    IF p_action IS NULL OR p_action NOT LIKE 'host.%' THEN
      RAISE EXCEPTION 'hosts record actions in the host.* namespace'
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Purposes of use are a closed vocabulary (cl_part2_purpose,
    -- migration 0004): a made-up code never reaches an accounting.
    IF p_purpose IS NOT NULL THEN
      PERFORM public.cl_part2_purpose(p_purpose);
    END IF;
    RETURN public.pf_audit_write(auth.uid(), p_organization_id, p_site_id, p_action, p_target_type,
                                 p_target_id, p_purpose, p_details);
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.pf_audit_record(uuid, uuid, text, text, uuid, text, jsonb) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.pf_audit_record(uuid, uuid, text, text, uuid, text, jsonb) TO authenticated;
REVOKE ALL ON FUNCTION public.pf_audit_details_ok(jsonb) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.pf_is_code_value(jsonb) FROM PUBLIC, authenticated;
-- Pure; data checks that run as the inserting role call it.
GRANT EXECUTE ON FUNCTION public.pf_is_code_value(jsonb) TO authenticated;
REVOKE ALL ON FUNCTION public.pf_audit_logs_refuse_change() FROM PUBLIC, authenticated;
