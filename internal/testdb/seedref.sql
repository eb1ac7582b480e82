-- The seed's Part 2 rule as it stood before the lists decided sets of

-- charts (schema/migrations/0004 at 0df0194): one chart at a time, each

-- step its own query. A reference for the equality tests only, in the

-- schema seedref; never installed by the migrations.

CREATE SCHEMA seedref;

CREATE FUNCTION seedref.cl_part2_consent_covers(
  p_chart_id uuid, p_organization_id uuid, p_record_type text, p_user uuid, p_at timestamptz, p_purpose text
) RETURNS boolean
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_user_named boolean;
    v_recipient  uuid;
  BEGIN
    -- The consents in force for the chart, record type and purpose (NULL,
    -- from row-level security, which has no purpose, accepts any consented
    -- purpose; the audited check names one): one naming the user covers
    -- it; one naming an organization covers its active members, looked up
    -- in that organization's rows one at a time (on Citus another
    -- organization's rows are another shard's: no join across them).
    FOR v_user_named, v_recipient IN
      SELECT k.recipient_user_id IS NOT DISTINCT FROM p_user, k.recipient_organization_id
      FROM public.cl_part2_consents k
      WHERE k.chart_id = p_chart_id
        AND k.organization_id = p_organization_id
        AND k.revoked_at IS NULL
        AND k.effective_at <= p_at
        AND (k.expires_at IS NULL OR k.expires_at > p_at)
        AND (p_record_type = ANY (k.record_types)
             OR (NOT public.cl_part2_needs_explicit_consent(p_record_type) AND '*' = ANY (k.record_types)))
        AND (p_purpose IS NULL OR p_purpose = ANY (k.purposes))
        AND (k.recipient_user_id = p_user OR k.recipient_organization_id IS NOT NULL)
    LOOP
      -- No user: a disclosure to the organization itself (its own billing,
      -- PM-07), which only a consent naming the organization covers.
      IF (p_user IS NULL AND v_recipient = p_organization_id)
         OR (p_user IS NOT NULL AND (v_user_named OR EXISTS (SELECT 1 FROM public.pf_members m
                                     WHERE m.organization_id = v_recipient AND m.user_id = p_user AND m.status = 'active'))) THEN
        RETURN true;
      END IF;
    END LOOP;
    RETURN false;
  END
  $$;

CREATE FUNCTION seedref.cl_part2_emergency_covers(
  p_organization_id uuid, p_chart_id uuid, p_record_type text, p_user uuid, p_at timestamptz
) RETURNS boolean
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN p_record_type <> 'sud_counseling_note' AND EXISTS (
      SELECT 1 FROM public.cl_part2_emergency_access e
      WHERE e.organization_id = p_organization_id
        AND e.chart_id = p_chart_id
        AND e.user_id = p_user
        AND e.started_at <= p_at
        AND e.expires_at > p_at);
  END
  $$;

CREATE FUNCTION seedref.cl_check_sud_consent(p_chart_id uuid, p_record_type text, p_requesting_user uuid)
  RETURNS boolean
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_type  text := public.cl_part2_record_type(p_record_type);
    v_org   uuid;
    v_site  uuid;
    v_part2 boolean;
    v_found bigint;
    v_now   timestamptz := pg_catalog.statement_timestamp();
  BEGIN
    IF p_chart_id IS NULL OR p_requesting_user IS NULL OR p_requesting_user IS DISTINCT FROM auth.uid() THEN
      RETURN false;
    END IF;

    -- Chart ids are UUIDs; should a host ever hold one id in two
    -- organizations, the answer is no rather than a guess. (Counted, not
    -- caught: an exception block would open a subtransaction per row.)
    SELECT c.organization_id, c.site_id, c.is_part2, pg_catalog.count(*) OVER () INTO v_org, v_site, v_part2, v_found
    FROM public.cl_charts c WHERE c.id = p_chart_id LIMIT 1;
    IF v_found IS DISTINCT FROM 1 OR NOT public.cl_has_site_permission(v_org, v_site, 'cl.chart.view') THEN
      RETURN false;
    END IF;
    IF NOT v_part2 THEN
      RETURN true;
    END IF;
    RETURN seedref.cl_part2_consent_covers(p_chart_id, v_org, v_type, p_requesting_user, v_now, NULL)
        OR seedref.cl_part2_emergency_covers(v_org, p_chart_id, v_type, p_requesting_user, v_now);
  END
  $$;

CREATE FUNCTION seedref.cl_part2_accounted(p_organization_id uuid, p_chart_id uuid, p_record_type text, p_use text,
                                          p_committed boolean)
  RETURNS boolean
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_this xid8 := pg_catalog.pg_current_xact_id_if_assigned();
  BEGIN
    IF NOT p_committed AND v_this IS NULL THEN
      RETURN false; -- a transaction that has written nothing holds no row
    END IF;
    RETURN EXISTS (
      SELECT 1 FROM public.pf_audit_logs a
      WHERE a.organization_id = p_organization_id AND a.target_type = 'chart' AND a.target_id = p_chart_id
        -- The window runs to this statement, not to the start of a
        -- transaction that may stay open for long.
        AND a.occurred_at >= CASE WHEN p_committed
                                  THEN pg_catalog.statement_timestamp() OPERATOR(pg_catalog.-) public.cl_part2_disclosure_window()
                                  ELSE pg_catalog.now() END
        AND a.actor_user_id = auth.uid() AND a.action = 'part2.record.disclosed'
        AND (a.details OPERATOR(pg_catalog.->>) 'record_type') = p_record_type
        AND (p_use IS NULL OR (a.details OPERATOR(pg_catalog.->>) 'use') = p_use)
        AND CASE WHEN p_committed THEN a.transaction_id IS DISTINCT FROM v_this
                 ELSE a.transaction_id = v_this END);
  END
  $$;

CREATE FUNCTION seedref.cl_part2_opened(p_organization_id uuid, p_chart_id uuid, p_record_type text) RETURNS boolean
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_type  text := public.cl_part2_record_type(p_record_type);
    v_site  uuid;
    v_part2 boolean;
  BEGIN
    SELECT c.site_id, c.is_part2 INTO v_site, v_part2 FROM public.cl_charts c
    WHERE c.organization_id = p_organization_id AND c.id = p_chart_id;
    -- To anyone without clinical access every chart answers alike.
    IF NOT FOUND OR NOT public.cl_has_site_permission(p_organization_id, v_site, 'cl.chart.view') THEN
      RETURN false;
    END IF;
    RETURN NOT v_part2 OR seedref.cl_part2_accounted(p_organization_id, p_chart_id, v_type, NULL, true);
  END
  $$;
