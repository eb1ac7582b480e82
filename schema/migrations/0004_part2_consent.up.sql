-- +goose Up
-- CL-11: 42 CFR Part 2 consent, the consent check used by every policy over
-- Part 2 records, medical-emergency ("break glass") access, and the audit
-- trail from which an accounting of disclosures is produced.

-- The record types a consent can name. '*' means every record type except
-- those that need a consent naming them (cl_part2_needs_explicit_consent).
-- Later migrations that add a record type replace this function; the Go
-- constants in package consent mirror it (a test compares them).
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_record_types() RETURNS text[]
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN ARRAY['*', 'peer_encounter', 'progress_note', 'group_session', 'virtual_group_participation',
                 'multi_party_encounter', 'appointment', 'sud_counseling_note']::text[];
  END
  $$;
-- +goose StatementEnd

-- (These small helpers are PL/pgSQL, not SQL: an SQL function with a SET
-- clause is never inlined and is planned again at every call, and the
-- consent and accounting checks call them per chart. The functions over a
-- set of charts below do not force generic plans, though a custom plan for
-- each call's array of charts costs more than the query it runs: on Citus
-- a generic plan of a query over distributed tables cannot be routed to
-- its shard and fails, for them and every function they call.)

-- cl_part2_security_labels: the HL7 DS4P security labels of data about a
-- chart, as events carry them: R (restricted), 42CFRPart2 and NORDSCLCD
-- (no redisclosure without consent) for a Part 2 chart, none otherwise.
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_security_labels(p_is_part2 boolean) RETURNS jsonb
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN CASE WHEN p_is_part2 THEN '["R", "42CFRPart2", "NORDSCLCD"]'::jsonb ELSE '[]'::jsonb END;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_part2_security_labels(boolean) FROM PUBLIC, authenticated;

-- Record types a general ('*') consent never covers: SUD counseling notes
-- (42 CFR 2.31(b)) and participation in a virtual group, where other
-- patients see and hear the patient.
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_needs_explicit_consent(p_record_type text) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN p_record_type IN ('sud_counseling_note', 'virtual_group_participation');
  END
  $$;
-- +goose StatementEnd

-- cl_part2_record_type: a record type asked about, checked. One canonical
-- spelling per type; anything else (another case, a look-alike letter, '',
-- '*', NULL) is an error, never a quiet match.
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_record_type(p_record_type text) RETURNS text
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF p_record_type IS NULL OR p_record_type = '*' OR NOT (p_record_type = ANY (public.cl_part2_record_types())) THEN
      RAISE EXCEPTION 'unknown Part 2 record type' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN p_record_type;
  END
  $$;
-- +goose StatementEnd

-- Purposes a consent can name, as HL7 PurposeOfUse codes: treatment,
-- payment, health care operations, research, at the patient's request.
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_purposes() RETURNS text[]
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN ARRAY['TREAT', 'HPAYMT', 'HOPERAT', 'HRESCH', 'PATRQT']::text[];
  END
  $$;
-- +goose StatementEnd

-- The closed vocabularies of an access decision: the consentable purposes
-- plus emergency treatment (ETREAT, 42 CFR 2.51), and what the records are
-- for (the Go consent.Use constants).
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_decision_purposes() RETURNS text[]
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN public.cl_part2_purposes() || ARRAY['ETREAT']::text[];
  END
  $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_uses() RETURNS text[]
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN ARRAY['display', 'save', 'export', 'ai']::text[];
  END
  $$;
-- +goose StatementEnd

-- cl_part2_purpose and cl_part2_use: a purpose of use and a use, checked
-- against those vocabularies (as cl_part2_record_type checks a record type):
-- anything else is an error.
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_purpose(p_purpose text) RETURNS text
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF p_purpose IS NULL OR NOT (p_purpose = ANY (public.cl_part2_decision_purposes())) THEN
      RAISE EXCEPTION 'unknown purpose of use' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN p_purpose;
  END
  $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_use(p_use text) RETURNS text
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF p_use IS NULL OR NOT (p_use = ANY (public.cl_part2_uses())) THEN
      RAISE EXCEPTION 'unknown use' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN p_use;
  END
  $$;
-- +goose StatementEnd

-- A written consent (42 CFR 2.31): who may disclose, to whom (a person or an
-- organization), what (record types), why (purposes), until when (a date or
-- an event), signed when and by whom, and its revocation.
CREATE TABLE public.cl_part2_consents (
  organization_id            uuid NOT NULL,
  id                         uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  chart_id                   uuid NOT NULL,
  disclosing_organization_id uuid NOT NULL,
  recipient_user_id          uuid,
  recipient_organization_id  uuid,
  record_types               text[] NOT NULL,
  purposes                   text[] NOT NULL,
  effective_at               timestamptz NOT NULL DEFAULT pg_catalog.now(),
  expires_at                 timestamptz,
  expiration_event           text CHECK ((expiration_event ~ '^[a-z][a-z0-9_]+$' AND pg_catalog.length(expiration_event) <= 63)),
  signed_at                  timestamptz NOT NULL,
  signer                     text NOT NULL CHECK (signer IN ('patient', 'personal_representative')),
  recorded_by                uuid NOT NULL,
  recorded_at                timestamptz NOT NULL DEFAULT pg_catalog.now(),
  revoked_at                 timestamptz,
  revoked_by                 uuid,
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, chart_id) REFERENCES public.cl_charts (organization_id, id),
  FOREIGN KEY (disclosing_organization_id) REFERENCES public.pf_organizations (id),
  FOREIGN KEY (recipient_organization_id) REFERENCES public.pf_organizations (id),
  CONSTRAINT cl_part2_consents_one_recipient
    CHECK ((recipient_user_id IS NULL) <> (recipient_organization_id IS NULL)),
  CONSTRAINT cl_part2_consents_record_types
    CHECK (pg_catalog.cardinality(record_types) > 0 AND record_types <@ public.cl_part2_record_types()),
  -- SUD counseling notes never fall under a general consent.
  CONSTRAINT cl_part2_consents_counseling_notes_alone
    CHECK (NOT ('sud_counseling_note' = ANY (record_types)) OR record_types = ARRAY['sud_counseling_note']::text[]),
  CONSTRAINT cl_part2_consents_purposes
    CHECK (pg_catalog.cardinality(purposes) > 0 AND purposes <@ public.cl_part2_purposes()),
  CONSTRAINT cl_part2_consents_expiry
    CHECK (expires_at IS NOT NULL OR expiration_event IS NOT NULL),
  CONSTRAINT cl_part2_consents_expiry_after_start
    CHECK (expires_at IS NULL OR expires_at > effective_at),
  CONSTRAINT cl_part2_consents_revocation
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL)),
  -- 42 CFR 2.31: a consent is in force only once it is signed.
  -- The Part 2 program that discloses is the organization holding the chart.
  CONSTRAINT cl_part2_consents_disclosing_organization
    CHECK (disclosing_organization_id = organization_id),
  CONSTRAINT cl_part2_consents_signed_before_effective
    CHECK (signed_at <= effective_at),
  CONSTRAINT cl_part2_consents_plausible_times
    CHECK (public.pf_plausible_time(signed_at) AND public.pf_plausible_time(effective_at)
           AND (expires_at IS NULL OR public.pf_plausible_time(expires_at)))
);
CREATE INDEX cl_part2_consents_chart_idx ON public.cl_part2_consents (chart_id) WHERE revoked_at IS NULL;

-- Medical-emergency access (42 CFR 2.51): who, to which chart, why (the
-- nature of the emergency), from when to when. Opened only through
-- cl_part2_break_glass(), which audits it.
CREATE TABLE public.cl_part2_emergency_access (
  organization_id uuid NOT NULL,
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  chart_id        uuid NOT NULL,
  user_id         uuid NOT NULL,
  reason          text NOT NULL CHECK (pg_catalog.length(pg_catalog.btrim(reason)) BETWEEN 10 AND 2000),
  started_at      timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
  expires_at      timestamptz NOT NULL,
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, chart_id) REFERENCES public.cl_charts (organization_id, id),
  FOREIGN KEY (organization_id, user_id) REFERENCES public.pf_members (organization_id, user_id),
  CONSTRAINT cl_part2_emergency_access_window
    CHECK (expires_at > started_at AND expires_at <= started_at + interval '24 hours')
);
CREATE INDEX cl_part2_emergency_access_chart_user_idx ON public.cl_part2_emergency_access (chart_id, user_id, expires_at);

-- The two ways a Part 2 record is opened to a user, each written once as
-- a function over a set of charts of one organization (the lists decide
-- all the charts they meet in one call), with a one-chart form over it for
-- cl_part2_basis. Not callable by `authenticated`. A consent covers a
-- purpose only if it names it. (PL/pgSQL, like every function a policy
-- reaches: an SQL function would be inlined into the policy, which Citus
-- cannot plan with parameters.)
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_consents_cover(
  p_organization_id uuid, p_chart_ids uuid[], p_record_type text, p_user uuid, p_at timestamptz, p_purpose text
) RETURNS uuid[]
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_chart      uuid;
    v_user_named boolean;
    v_recipient  uuid;
    v_covered    uuid;
    v_out        uuid[] := '{}'::uuid[];
    -- Decided before the query, not in it: a function call in the WHERE
    -- priced every row of the plan PostgreSQL keeps for all calls, so it
    -- planned the query again at every call (60 µs of the 100).
    v_explicit   boolean := public.cl_part2_needs_explicit_consent(p_record_type);
  BEGIN
    -- The consents in force for the charts, record type and purpose (NULL,
    -- from row-level security, which has no purpose, accepts any consented
    -- purpose; the audited check names one): one naming the user covers
    -- its chart; one naming an organization covers its active members,
    -- looked up in that organization's rows one at a time (on Citus another
    -- organization's rows are another shard's: no join across them).
    FOR v_chart, v_user_named, v_recipient IN
      SELECT k.chart_id, k.recipient_user_id IS NOT DISTINCT FROM p_user, k.recipient_organization_id
      FROM public.cl_part2_consents k
      WHERE k.chart_id = ANY (p_chart_ids)
        AND k.organization_id = p_organization_id
        AND k.revoked_at IS NULL
        AND k.effective_at <= p_at
        AND (k.expires_at IS NULL OR k.expires_at > p_at)
        AND (p_record_type = ANY (k.record_types) OR (NOT v_explicit AND '*' = ANY (k.record_types)))
        AND (p_purpose IS NULL OR p_purpose = ANY (k.purposes))
        AND (k.recipient_user_id = p_user OR k.recipient_organization_id IS NOT NULL)
      ORDER BY k.chart_id, k.recipient_user_id IS NOT DISTINCT FROM p_user DESC
    LOOP
      CONTINUE WHEN v_chart = v_covered;
      -- No user: a disclosure to the organization itself (its own billing,
      -- PM-07), which only a consent naming the organization covers. (The
      -- branches apart, and the membership a statement of its own: in one
      -- expression they were planned again for every consent.)
      IF p_user IS NULL THEN
        CONTINUE WHEN v_recipient IS DISTINCT FROM p_organization_id;
      ELSIF NOT v_user_named THEN
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM public.pf_members m
                                  WHERE m.organization_id = v_recipient AND m.user_id = p_user AND m.status = 'active');
      END IF;
      v_covered := v_chart;
      v_out := v_out || v_chart;
    END LOOP;
    RETURN v_out;
  END
  $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_consent_covers(
  p_chart_id uuid, p_organization_id uuid, p_record_type text, p_user uuid, p_at timestamptz, p_purpose text
) RETURNS boolean
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN p_chart_id = ANY (public.cl_part2_consents_cover(p_organization_id, ARRAY[p_chart_id], p_record_type,
                                                            p_user, p_at, p_purpose));
  END
  $$;
-- +goose StatementEnd

-- Emergency access never opens SUD counseling notes.
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_emergencies_cover(
  p_organization_id uuid, p_chart_ids uuid[], p_record_type text, p_user uuid, p_at timestamptz
) RETURNS uuid[]
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF p_record_type = 'sud_counseling_note' THEN
      RETURN '{}'::uuid[];
    END IF;
    RETURN ARRAY(
      SELECT DISTINCT e.chart_id FROM public.cl_part2_emergency_access e
      WHERE e.organization_id = p_organization_id
        AND e.chart_id = ANY (p_chart_ids)
        AND e.user_id = p_user
        AND e.started_at <= p_at
        AND e.expires_at > p_at);
  END
  $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_emergency_covers(
  p_organization_id uuid, p_chart_id uuid, p_record_type text, p_user uuid, p_at timestamptz
) RETURNS boolean
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN p_chart_id = ANY (public.cl_part2_emergencies_cover(p_organization_id, ARRAY[p_chart_id], p_record_type,
                                                               p_user, p_at));
  END
  $$;
-- +goose StatementEnd

-- cl_part2_bases: on what basis a user may use Part 2 charts' records of a
-- type, for a purpose and a use: 'consent' (one covering the purpose),
-- 'emergency' (treatment, for display or save only); charts with neither
-- are not returned (denied). The one rule for the audited decision and for
-- the accounting (cl_part2_chart_standing, below, is its one-chart form).
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_bases(p_organization_id uuid, p_chart_ids uuid[], p_record_type text, p_user uuid,
                                      p_at timestamptz, p_purpose text, p_use text)
  RETURNS TABLE (chart_id uuid, basis text)
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_consent uuid[] := public.cl_part2_consents_cover(p_organization_id, p_chart_ids, p_record_type, p_user, p_at,
                                                       p_purpose);
    v_rest    uuid[];
  BEGIN
    RETURN QUERY SELECT k, 'consent'::text FROM pg_catalog.unnest(v_consent) k;
    IF p_purpose IN ('TREAT', 'ETREAT') AND p_use IN ('display', 'save') THEN
      v_rest := ARRAY(SELECT k FROM pg_catalog.unnest(p_chart_ids) k WHERE NOT k = ANY (v_consent));
      IF pg_catalog.cardinality(v_rest) > 0 THEN
        RETURN QUERY SELECT k, 'emergency'::text
          FROM pg_catalog.unnest(public.cl_part2_emergencies_cover(p_organization_id, v_rest, p_record_type, p_user, p_at)) k;
      END IF;
    END IF;
  END
  $$;
-- +goose StatementEnd

-- cl_part2_chart_standing: the same about one chart, its one-chart form
-- (for one chart, a set function's call, the query that reads it and a
-- statement per rule cost more than the rule's lookups;
-- TestManyChartsAccountAsEachAlone compares them on randomized data): the
-- basis ('consent', else 'emergency', else 'denied') and whether an
-- accounting line that says the same stands (what cl_part2_account asks of
-- each chart): true when one written by an earlier transaction does, false
-- when only this transaction's (p_this) does, NULL when none; a line
-- counts from p_since, for p_use (any transaction's for a display or a
-- save, else only this one's), under decisions that still stand
-- (cl_part2_decision_stands). The consents and the lines in one statement
-- (STABLE: one snapshot); a partner organization's membership and an
-- emergency access each in a statement of its own, only where no consent
-- covers. A consent naming an organization covers its active members,
-- looked up one organization at a time (on Citus another organization's
-- rows are another shard's); without a user (a disclosure to the
-- organization itself), only a consent naming the organization covers.
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_chart_standing(
  p_organization_id uuid, p_chart_id uuid, p_record_type text, p_user uuid, p_at timestamptz, p_purpose text, p_use text,
  p_since timestamptz, p_this xid8, OUT basis text, OUT committed boolean
)
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_explicit  boolean := public.cl_part2_needs_explicit_consent(p_record_type);
    v_named     boolean;
    v_orgs      uuid[];
    v_emergency boolean;
    v_consented boolean;  -- a line for the consent basis stands (NULL: none)
    v_rescued   boolean;  -- one for the emergency basis
    v_org       uuid;
  BEGIN
    SELECT k.named, k.orgs, l.consented, l.rescued
      INTO v_named, v_orgs, v_consented, v_rescued
    FROM (SELECT coalesce(pg_catalog.bool_or(c.recipient_user_id = p_user), false) AS named,
                 pg_catalog.array_agg(c.recipient_organization_id) FILTER (WHERE c.recipient_organization_id IS NOT NULL) AS orgs
          FROM public.cl_part2_consents c
          WHERE c.chart_id = p_chart_id AND c.organization_id = p_organization_id
            AND c.revoked_at IS NULL
            AND c.effective_at <= p_at
            AND (c.expires_at IS NULL OR c.expires_at > p_at)
            AND (p_record_type = ANY (c.record_types) OR (NOT v_explicit AND '*' = ANY (c.record_types)))
            AND (p_purpose IS NULL OR p_purpose = ANY (c.purposes))
            AND (c.recipient_user_id = p_user OR c.recipient_organization_id IS NOT NULL)) k,
         (SELECT pg_catalog.bool_or(a.transaction_id IS DISTINCT FROM p_this)
                   FILTER (WHERE a.purpose = p_purpose AND (a.details OPERATOR(pg_catalog.->>) 'basis') = 'consent') AS consented,
                 pg_catalog.bool_or(a.transaction_id IS DISTINCT FROM p_this)
                   FILTER (WHERE a.purpose = 'ETREAT' AND (a.details OPERATOR(pg_catalog.->>) 'basis') = 'emergency') AS rescued
          FROM public.pf_audit_logs a
          WHERE a.organization_id = p_organization_id AND a.target_type = 'chart' AND a.target_id = p_chart_id
            AND a.occurred_at >= p_since AND a.actor_user_id = p_user AND a.action = 'part2.record.disclosed'
            AND a.details = pg_catalog.jsonb_build_object('record_type', p_record_type, 'use', p_use,
                                                          'basis', a.details OPERATOR(pg_catalog.->>) 'basis')
            AND (p_use IN ('display', 'save') OR a.transaction_id = p_this)
            AND public.cl_part2_decision_stands(p_organization_id, p_chart_id, a.occurred_at)) l;
    IF p_user IS NULL THEN
      v_named := p_organization_id = ANY (v_orgs);
    ELSIF NOT v_named AND v_orgs IS NOT NULL THEN
      FOREACH v_org IN ARRAY v_orgs LOOP
        IF EXISTS (SELECT 1 FROM public.pf_members m
                   WHERE m.organization_id = v_org AND m.user_id = p_user AND m.status = 'active') THEN
          v_named := true;
          EXIT;
        END IF;
      END LOOP;
    END IF;
    IF v_named THEN
      basis := 'consent';
      committed := v_consented;
      RETURN;
    END IF;
    -- An emergency access, looked up only where no consent covers.
    v_emergency := p_purpose IN ('TREAT', 'ETREAT') AND p_use IN ('display', 'save')
                   AND p_record_type IS DISTINCT FROM 'sud_counseling_note'
                   AND EXISTS (SELECT 1 FROM public.cl_part2_emergency_access e
                               WHERE e.organization_id = p_organization_id AND e.chart_id = p_chart_id AND e.user_id = p_user
                                 AND e.started_at <= p_at AND e.expires_at > p_at);
    IF v_emergency THEN
      basis := 'emergency';
      committed := v_rescued;
    ELSE
      basis := 'denied';
    END IF;
  END
  $$;
-- +goose StatementEnd

-- cl_part2_basis: the basis alone (cl_part2_decide's question).
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_basis(p_organization_id uuid, p_chart_id uuid, p_record_type text, p_user uuid,
                                      p_at timestamptz, p_purpose text, p_use text) RETURNS text
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN (public.cl_part2_chart_standing(p_organization_id, p_chart_id, p_record_type, p_user, p_at, p_purpose, p_use,
                                           NULL, NULL)).basis;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_part2_basis(uuid, uuid, text, uuid, timestamptz, text, text) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_part2_chart_standing(uuid, uuid, text, uuid, timestamptz, text, text, timestamptz, xid8) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_part2_bases(uuid, uuid[], text, uuid, timestamptz, text, text) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_part2_consents_cover(uuid, uuid[], text, uuid, timestamptz, text) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_part2_emergencies_cover(uuid, uuid[], text, uuid, timestamptz) FROM PUBLIC, authenticated;

-- cl_charts_clinical: the charts among p_chart_ids that are the
-- organization's (and no other's: should a host ever hold one id in two
-- organizations, the answer is no rather than a guess) and that the caller
-- is clinical staff of (cl.chart.view, organization-wide or at the chart's
-- site), with their site and Part 2 status. The permission is asked once
-- per distinct site, not per chart, and nothing is decided by a chart's
-- Part 2 status before it: to anyone without clinical access every chart
-- answers alike. The one definition of clinical access to a chart, for
-- cl_sud_consent_charts, cl_part2_opened and cl_part2_disclosed (with its
-- one-chart form, cl_chart_clinical, below).
-- +goose StatementBegin
CREATE FUNCTION public.cl_charts_clinical(p_organization_id uuid, p_chart_ids uuid[])
  RETURNS TABLE (chart_id uuid, site_id uuid, is_part2 boolean)
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_ids     uuid[];
    v_site_of uuid[];
    v_part2   boolean[];
    v_site    uuid;
    v_allowed uuid[] := '{}'::uuid[];
    v_no_site boolean := false;
  BEGIN
    -- The charts by id (counted, as one id in two organizations is none).
    SELECT pg_catalog.array_agg(x.id), pg_catalog.array_agg(x.site_id), pg_catalog.array_agg(x.is_part2)
      INTO v_ids, v_site_of, v_part2
    FROM (SELECT ch.id, ch.site_id, ch.is_part2, ch.organization_id, pg_catalog.count(*) OVER (PARTITION BY ch.id) AS n
          FROM public.cl_charts ch WHERE ch.id = ANY (p_chart_ids)) x
    WHERE x.n = 1 AND x.organization_id = p_organization_id;
    IF v_ids IS NULL THEN
      RETURN;
    END IF;
    -- The permission once per distinct site (NULL: charts without one).
    FOR v_site IN SELECT DISTINCT k FROM pg_catalog.unnest(v_site_of) k LOOP
      IF public.cl_has_site_permission(p_organization_id, v_site, 'cl.chart.view') THEN
        IF v_site IS NULL THEN
          v_no_site := true;
        ELSE
          v_allowed := v_allowed || v_site;
        END IF;
      END IF;
    END LOOP;
    RETURN QUERY
      SELECT k.id, k.site, k.part2
      FROM ROWS FROM (pg_catalog.unnest(v_ids), pg_catalog.unnest(v_site_of), pg_catalog.unnest(v_part2)) AS k(id, site, part2)
      WHERE k.site = ANY (v_allowed) OR (k.site IS NULL AND v_no_site);
  END
  $$;
-- +goose StatementEnd

-- cl_chart_clinical: cl_charts_clinical asked about one chart, as a value:
-- whether the chart is Part 2, NULL when it is not a chart of the
-- organization's (alone) that the caller is clinical staff of. The same
-- rule in its one-chart form (TestOneChartFormsGiveTheSetsAnswer compares
-- them on randomized data): a row policy asks about one chart per row,
-- and a set function's call (its result set, the query that reads it) cost
-- more there than the rule's own two lookups.
-- +goose StatementBegin
CREATE FUNCTION public.cl_chart_clinical(p_organization_id uuid, p_chart_id uuid) RETURNS boolean
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_site  uuid;
    v_part2 boolean;
  BEGIN
    SELECT ch.site_id, ch.is_part2 INTO v_site, v_part2 FROM public.cl_charts ch
    WHERE ch.organization_id = p_organization_id AND ch.id = p_chart_id
      AND NOT EXISTS (SELECT 1 FROM public.cl_charts o WHERE o.id = p_chart_id AND o.organization_id <> p_organization_id);
    IF NOT FOUND OR NOT public.cl_has_site_permission(p_organization_id, v_site, 'cl.chart.view') THEN
      RETURN NULL;
    END IF;
    RETURN v_part2;
  END
  $$;
-- +goose StatementEnd

-- cl_sud_consent_charts: the seed's consent rule over a set of charts, the
-- one place it is written: the charts among p_chart_ids, of the
-- organization, whose records of type p_record_type the caller may see:
-- every chart the caller is clinical staff of (cl_charts_clinical) that is
-- not Part 2, and a Part 2 one only under a current consent whose
-- recipient covers the caller (the user, or an organization the user is an
-- active member of) and whose record types cover p_record_type
-- (cl_part2_consent_covers, any purpose), or under a current emergency
-- access (cl_part2_emergency_covers). With p_opened, a Part 2 chart also
-- needs its committed accounting (cl_part2_accounted, as cl_part2_opened
-- asks it). cl_check_sud_consent is this function asked about one chart;
-- the lists ask it once per query about all the charts they meet. Consent,
-- emergency and accounting are looked up for Part 2 charts only.
-- +goose StatementBegin
CREATE FUNCTION public.cl_sud_consent_charts(p_organization_id uuid, p_chart_ids uuid[], p_record_type text,
                                             p_opened boolean) RETURNS uuid[]
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_type  text := public.cl_part2_record_type(p_record_type);
    v_user  uuid := auth.uid();
    v_now   timestamptz := pg_catalog.statement_timestamp();
    v_part2 uuid[] := '{}'::uuid[];
    v_open  uuid[] := '{}'::uuid[];
    v_rest  uuid[];
  BEGIN
    IF v_user IS NULL OR p_organization_id IS NULL OR p_chart_ids IS NULL THEN
      RETURN v_open;
    END IF;
    -- Clinical access first; then charts that are not Part 2 are open, and
    -- the Part 2 ones are asked about together. (One chart, a row
    -- policy's question, by the one-chart form.)
    IF pg_catalog.cardinality(p_chart_ids) = 1 THEN
      CASE public.cl_chart_clinical(p_organization_id, p_chart_ids[1])
        WHEN true THEN v_part2 := p_chart_ids;
        WHEN false THEN RETURN p_chart_ids;
        ELSE RETURN v_open;
      END CASE;
    ELSE
      SELECT coalesce(pg_catalog.array_agg(k.chart_id) FILTER (WHERE k.is_part2), '{}'::uuid[]),
             coalesce(pg_catalog.array_agg(k.chart_id) FILTER (WHERE NOT k.is_part2), '{}'::uuid[])
        INTO v_part2, v_open
      FROM public.cl_charts_clinical(p_organization_id, p_chart_ids) k;
    END IF;
    IF pg_catalog.cardinality(v_part2) = 0 THEN
      RETURN v_open;
    END IF;
    -- A consent, else an emergency access (asked only about the rest).
    v_rest := v_part2;
    v_part2 := public.cl_part2_consents_cover(p_organization_id, v_rest, v_type, v_user, v_now, NULL);
    IF pg_catalog.cardinality(v_part2) < pg_catalog.cardinality(v_rest) THEN
      v_rest := ARRAY(SELECT k FROM pg_catalog.unnest(v_rest) k WHERE NOT k = ANY (v_part2));
      v_part2 := v_part2 || public.cl_part2_emergencies_cover(p_organization_id, v_rest, v_type, v_user, v_now);
    END IF;
    IF p_opened AND pg_catalog.cardinality(v_part2) > 0 THEN
      v_part2 := public.cl_part2_accounted_charts(p_organization_id, v_part2, v_type, NULL);
    END IF;
    RETURN v_open || v_part2;
  END
  $$;
-- +goose StatementEnd

-- cl_check_sud_consent: may p_requesting_user see p_chart_id's records of
-- type p_record_type? The seed's signature over cl_sud_consent_charts
-- (which says when): false unless the caller is clinical staff of the
-- chart; then true for a chart that is not Part 2, and for a Part 2 chart
-- only under a current consent covering the user and the record type, or
-- under a current emergency access.
-- A caller may ask only about itself; every other question gets false,
-- whether or not the chart or a consent exists, and to anyone without
-- clinical access every chart answers alike (Part 2 status is private).
-- An unknown record type is an error.
-- +goose StatementBegin
CREATE FUNCTION public.cl_check_sud_consent(p_chart_id uuid, p_record_type text, p_requesting_user uuid)
  RETURNS boolean
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_type text := public.cl_part2_record_type(p_record_type);
    v_org  uuid;
  BEGIN
    IF p_chart_id IS NULL OR p_requesting_user IS NULL OR p_requesting_user IS DISTINCT FROM auth.uid() THEN
      RETURN false;
    END IF;
    -- The chart's organization (cl_charts is a reference table on Citus);
    -- an id held by two organizations is refused by cl_charts_clinical.
    SELECT c.organization_id INTO v_org FROM public.cl_charts c WHERE c.id = p_chart_id LIMIT 1;
    RETURN FOUND AND p_chart_id = ANY (public.cl_sud_consent_charts(v_org, ARRAY[p_chart_id], v_type, false));
  END
  $$;
-- +goose StatementEnd

-- cl_part2_decide: the audited form of the check, for the Go consent.Checker
-- (display, save, export, AI use). Returns the basis of an allow
-- ('not_part2', 'consent', 'emergency') or 'denied'. Every decision about a
-- Part 2 chart writes one audit row: part2.access.allowed or
-- part2.access.denied, target the chart, purpose as given (ETREAT for an
-- emergency access).
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_decide(p_chart_id uuid, p_record_type text, p_purpose text, p_use text)
  RETURNS text
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_user  uuid := auth.uid();
    v_org   uuid;
    v_site  uuid;
    v_part2 boolean;
    v_basis text;
    v_now   timestamptz := pg_catalog.statement_timestamp();
  BEGIN
    PERFORM public.cl_part2_record_type(p_record_type), public.cl_part2_purpose(p_purpose), public.cl_part2_use(p_use);

    BEGIN
      SELECT c.organization_id, c.site_id, c.is_part2 INTO STRICT v_org, v_site, v_part2
      FROM public.cl_charts c WHERE c.id = p_chart_id;
    EXCEPTION
      WHEN no_data_found OR too_many_rows THEN
        RETURN 'denied';
    END;
    -- Without clinical access every chart answers alike, unaudited: a
    -- denial row would tell the auditor nothing and the caller (through
    -- timing) whether the chart is Part 2.
    IF v_user IS NULL OR NOT public.cl_has_site_permission(v_org, v_site, 'cl.chart.view') THEN
      RETURN 'denied';
    END IF;
    IF NOT v_part2 THEN
      RETURN 'not_part2';
    END IF;

    -- A consent covers only the purposes it names. An emergency access
    -- covers treatment (TREAT, ETREAT) for display and save, nothing else.
    v_basis := public.cl_part2_basis(v_org, p_chart_id, p_record_type, v_user, v_now, p_purpose, p_use);
    PERFORM public.pf_audit_write(
      v_user, v_org, v_site,
      CASE WHEN v_basis = 'denied' THEN 'part2.access.denied' ELSE 'part2.access.allowed' END,
      'chart', p_chart_id, p_purpose,
      pg_catalog.jsonb_build_object('record_type', p_record_type, 'use', p_use, 'basis', v_basis));
    RETURN v_basis;
  END
  $$;
-- +goose StatementEnd

-- cl_part2_disclosure_window: how long a committed accounting line opens a
-- chart's records of a type to the user it names. The library reads or
-- writes right after committing it; a plain-SQL client has this long.
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_disclosure_window() RETURNS interval
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN interval '5 minutes';
  END
  $$;
-- +goose StatementEnd

-- cl_part2_disclosure_reuse: how recent an accounting line must be to
-- stand for a further disclosure of the same records, to the same user, for
-- the same use, purpose and basis (cl_part2_disclosed): the window less a
-- minute, so that the records it opens stay open for the call that follows.
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_disclosure_reuse() RETURNS interval
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN public.cl_part2_disclosure_window() OPERATOR(pg_catalog.-) interval '1 minute';
  END
  $$;
-- +goose StatementEnd

-- cl_part2_decision_stands: whether the decisions a chart's accounting
-- line recorded at p_at still stand: no consent to the chart granted or
-- revoked, and no emergency access to it opened, since (a line written
-- under a consent since revoked, or under an earlier emergency access,
-- opens nothing and stands for no new disclosure). A range of the partial
-- index from p_at on: it does not grow with the audit log.
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_decision_stands(p_organization_id uuid, p_chart_id uuid, p_at timestamptz)
  RETURNS boolean
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN NOT EXISTS (
      SELECT 1 FROM public.pf_audit_logs d
      WHERE d.organization_id = p_organization_id AND d.target_id = p_chart_id AND d.occurred_at >= p_at
        AND d.action IN ('part2.consent.granted', 'part2.consent.revoked', 'part2.emergency_access.opened')
        AND d.target_type = 'chart');
  END
  $$;
-- +goose StatementEnd

-- cl_part2_accounted_charts: the charts among p_chart_ids whose records of
-- the type (and use, unless NULL) are open to the caller: a
-- part2.record.disclosed row for the chart, naming the caller, written by
-- an earlier, committed transaction within the window (what
-- cl_part2_opened asks). A row written by this transaction never opens
-- anything: PostgreSQL has no autonomous transactions, so a reader that
-- rolled back would erase its own accounting after seeing the rows. For
-- the library's definer code: the audit log is not the caller's to read.
-- One probe per chart that stops at its first line, of scalar parameters:
-- planned once per connection (a query over the array was planned again
-- at every call, as its length changes the plan's cost, and the planning
-- took several times the probe).
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_accounted_charts(p_organization_id uuid, p_chart_ids uuid[], p_record_type text,
                                                 p_use text)
  RETURNS uuid[]
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_this  xid8 := pg_catalog.pg_current_xact_id_if_assigned();
    v_user  uuid := auth.uid();
    -- The window runs to this statement, not to the start of a
    -- transaction that may stay open for long.
    v_since timestamptz := pg_catalog.statement_timestamp() OPERATOR(pg_catalog.-) public.cl_part2_disclosure_window();
    v_open  uuid[] := '{}'::uuid[];
    v_chart uuid;
  BEGIN
    FOREACH v_chart IN ARRAY coalesce(p_chart_ids, '{}'::uuid[]) LOOP
      CONTINUE WHEN v_chart = ANY (v_open) OR NOT EXISTS (
        SELECT 1 FROM public.pf_audit_logs a
        WHERE a.organization_id = p_organization_id AND a.target_type = 'chart' AND a.target_id = v_chart
          AND a.occurred_at >= v_since AND a.actor_user_id = v_user AND a.action = 'part2.record.disclosed'
          AND (a.details OPERATOR(pg_catalog.->>) 'record_type') = p_record_type
          AND (p_use IS NULL OR (a.details OPERATOR(pg_catalog.->>) 'use') = p_use)
          -- A write is a use for treatment: a line for a payment opens no
          -- record to a write.
          AND (p_use IS DISTINCT FROM 'save' OR a.purpose IN ('TREAT', 'ETREAT'))
          AND a.transaction_id IS DISTINCT FROM v_this
          AND public.cl_part2_decision_stands(p_organization_id, v_chart, a.occurred_at));
      v_open := v_open || v_chart;
    END LOOP;
    RETURN v_open;
  END
  $$;
-- +goose StatementEnd

-- The same about one chart.
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_accounted(p_organization_id uuid, p_chart_id uuid, p_record_type text, p_use text)
  RETURNS boolean
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN p_chart_id = ANY (public.cl_part2_accounted_charts(p_organization_id, ARRAY[p_chart_id], p_record_type, p_use));
  END
  $$;
-- +goose StatementEnd

-- cl_part2_disclosure_lines: lines of charts' accounting of disclosures
-- (part2.record.disclosed: record type, use, basis; the purpose ETREAT
-- under an emergency), one per chart, in one statement: the one shape
-- every writer uses, checked by pf_audit_logs' own constraints as
-- pf_audit_write's rows are. Returns how many it wrote.
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_disclosure_lines(p_user uuid, p_organization_id uuid, p_record_type text, p_purpose text,
                                                 p_use text, p_chart_ids uuid[], p_site_ids uuid[], p_bases text[])
  RETURNS integer
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_count integer := coalesce(pg_catalog.cardinality(p_chart_ids), 0);
  BEGIN
    -- A row at a time: on Citus an INSERT ... SELECT into a distributed
    -- table goes through COPY, which row-level security refuses.
    FOR i IN 1 .. v_count LOOP
      INSERT INTO public.pf_audit_logs
        (actor_user_id, organization_id, site_id, action, target_type, target_id, purpose, details)
      VALUES (p_user, p_organization_id, p_site_ids[i], 'part2.record.disclosed', 'chart', p_chart_ids[i],
              CASE WHEN p_bases[i] = 'emergency' THEN 'ETREAT' ELSE p_purpose END,
              pg_catalog.jsonb_build_object('record_type', p_record_type, 'use', p_use, 'basis', p_bases[i]));
    END LOOP;
    RETURN v_count;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_part2_disclosure_lines(uuid, uuid, text, text, text, uuid[], uuid[], text[]) FROM PUBLIC, authenticated;

-- cl_part2_disclosure_line: one such line.
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_disclosure_line(p_user uuid, p_organization_id uuid, p_site_id uuid, p_chart_id uuid,
                                                p_record_type text, p_purpose text, p_use text, p_basis text) RETURNS void
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    PERFORM public.cl_part2_disclosure_lines(p_user, p_organization_id, p_record_type, p_purpose, p_use,
                                             ARRAY[p_chart_id], ARRAY[p_site_id], ARRAY[p_basis]);
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_part2_disclosure_line(uuid, uuid, uuid, uuid, text, text, text, text) FROM PUBLIC, authenticated;

-- cl_part2_account: the accounting of a use of charts' records, and which
-- of them the use may touch now. Of the charts the caller is clinical
-- staff of (cl_charts_clinical), one that is not Part 2 is open; a Part 2
-- one on a basis (consent or emergency, for the purpose and use:
-- cl_part2_bases) needs a part2.record.disclosed row that says the same
-- (caller, record type, use, purpose, basis) written within
-- cl_part2_disclosure_reuse under decisions that still stand
-- (cl_part2_decision_stands): where one written by an earlier transaction
-- stands, the chart is open; where none is, one is written, and the chart
-- is not open in this transaction (a row opens records only once
-- committed: PostgreSQL has no autonomous transactions, and a reader that
-- rolled back would erase its own accounting after seeing the rows). For
-- a display or a save (a use inside the program), such a row stands for
-- the calls that follow within the reuse: it already opens the records to
-- plain SQL for the window (cl_part2_opened), so they are the same
-- disclosure. Every call still decides (the consent or emergency access
-- in force); a disclosure on another basis, for another purpose or use,
-- or after a consent was granted or revoked or an emergency access opened
-- gets its own row, and an export or an AI use gets one per transaction.
-- Returns the open charts, the Part 2 charts on a basis that are not open
-- in this transaction (their line written now, or by this transaction
-- before) and how many rows it wrote; without p_write it writes none (a
-- list learns which charts its page needs lines for, then writes those).
-- For definer code: the audit log is not the caller's to read or write.
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_account(
  p_organization_id uuid, p_chart_ids uuid[], p_record_type text, p_purpose text, p_use text, p_write boolean,
  OUT open_charts uuid[], OUT pending_charts uuid[], OUT written integer
)
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_user      uuid := auth.uid();
    v_type      text := public.cl_part2_record_type(p_record_type);
    v_purpose   text := public.cl_part2_purpose(p_purpose);
    v_use       text := public.cl_part2_use(p_use);
    v_now       timestamptz := pg_catalog.statement_timestamp();
    v_since     timestamptz := pg_catalog.statement_timestamp() OPERATOR(pg_catalog.-) public.cl_part2_disclosure_reuse();
    v_charts    uuid[] := '{}'::uuid[];
    v_ids       uuid[] := '{}'::uuid[];
    v_bases     text[] := '{}'::text[];
    v_reusable  boolean := v_use IN ('display', 'save');
    -- This transaction's id, read here on the coordinator (on Citus the
    -- probe below runs on a worker, whose transaction has another); the
    -- lines are written after the probes.
    v_this      xid8 := pg_catalog.pg_current_xact_id_if_assigned();
    v_said      text[];    -- many charts: the (chart, purpose, basis) of lines that say the same
    v_standing  boolean[]; -- and whether one of them committed before this transaction
    v_with         uuid[];                   -- the Part 2 charts, their bases ('denied': none) and lines
    v_basis_of     text[] := '{}'::text[];
    v_committed_of boolean[] := '{}'::boolean[];
    v_chart        uuid;
    v_chart_standing record;
  BEGIN
    open_charts := '{}'::uuid[];
    pending_charts := '{}'::uuid[];
    written := 0;
    IF v_user IS NULL OR p_chart_ids IS NULL THEN
      RETURN;
    END IF;
    -- Clinical access first, Part 2 status after: the work done for a
    -- chart the caller may not see does not depend on its status. (One
    -- chart, a write's or a record's, by the one-chart form.)
    IF pg_catalog.cardinality(p_chart_ids) = 1 THEN
      CASE public.cl_chart_clinical(p_organization_id, p_chart_ids[1])
        WHEN false THEN
          open_charts := p_chart_ids;
          RETURN;
        WHEN true THEN
          v_charts := p_chart_ids;
        ELSE
          RETURN;
      END CASE;
    ELSE
      SELECT coalesce(pg_catalog.array_agg(k.chart_id) FILTER (WHERE k.is_part2), '{}'::uuid[]),
             coalesce(pg_catalog.array_agg(k.chart_id) FILTER (WHERE NOT k.is_part2), '{}'::uuid[])
        INTO v_charts, open_charts
      FROM public.cl_charts_clinical(p_organization_id, p_chart_ids) k;
      IF pg_catalog.cardinality(v_charts) = 0 THEN
        RETURN;
      END IF;
    END IF;
    -- Per chart, its basis and the rows that say the same (caller, record
    -- type, use, purpose, basis: ETREAT under an emergency): one committed
    -- stands (for a display or a save); this transaction's own opens
    -- nothing but needs no other; none, one is written. A few charts are
    -- asked one at a time, each in one statement
    -- (cl_part2_chart_standing); many (a list's) together, their bases in
    -- one call (cl_part2_bases) and their lines in one probe, planned at
    -- each call (its plan depends on how many): 13 to 24 µs a chart at 40
    -- charts, where a probe each cost about 45, and no less at 6.
    IF pg_catalog.cardinality(v_charts) < 8 THEN
      v_with := v_charts;
      FOREACH v_chart IN ARRAY v_charts LOOP
        -- An expression, not a query over the function (which would
        -- materialize its one row).
        v_chart_standing := public.cl_part2_chart_standing(p_organization_id, v_chart, v_type, v_user, v_now, v_purpose, v_use,
                                                           v_since, v_this);
        v_basis_of := v_basis_of || v_chart_standing.basis;
        v_committed_of := v_committed_of || v_chart_standing.committed;
      END LOOP;
    ELSE
      SELECT pg_catalog.array_agg(x.said), pg_catalog.array_agg(x.standing) INTO v_said, v_standing
      FROM (SELECT a.target_id::text || ' ' || a.purpose || ' ' || (a.details OPERATOR(pg_catalog.->>) 'basis') AS said,
                   pg_catalog.bool_or(a.transaction_id IS DISTINCT FROM v_this) AS standing
            FROM public.pf_audit_logs a
            WHERE a.organization_id = p_organization_id AND a.target_type = 'chart' AND a.target_id = ANY (v_charts)
              AND a.occurred_at >= v_since AND a.actor_user_id = v_user AND a.action = 'part2.record.disclosed'
              AND a.details = pg_catalog.jsonb_build_object('record_type', v_type, 'use', v_use,
                                                            'basis', a.details OPERATOR(pg_catalog.->>) 'basis')
              AND (v_reusable OR a.transaction_id = v_this)
              AND public.cl_part2_decision_stands(p_organization_id, a.target_id, a.occurred_at)
            GROUP BY 1) x;
      SELECT coalesce(pg_catalog.array_agg(k.chart_id), '{}'::uuid[]), coalesce(pg_catalog.array_agg(k.basis), '{}'::text[]),
             coalesce(pg_catalog.array_agg(v_standing[pg_catalog.array_position(v_said, k.chart_id::text || ' '
                        || CASE WHEN k.basis = 'emergency' THEN 'ETREAT' ELSE v_purpose END || ' ' || k.basis)]), '{}'::boolean[])
        INTO v_with, v_basis_of, v_committed_of
      FROM public.cl_part2_bases(p_organization_id, v_charts, v_type, v_user, v_now, v_purpose, v_use) k;
    END IF;
    FOR i IN 1 .. pg_catalog.cardinality(v_with) LOOP
      CONTINUE WHEN v_basis_of[i] = 'denied';
      IF v_committed_of[i] THEN
        open_charts := open_charts || v_with[i];
        CONTINUE;
      END IF;
      pending_charts := pending_charts || v_with[i];
      IF v_committed_of[i] IS NULL THEN
        v_ids := v_ids || v_with[i];
        v_bases := v_bases || v_basis_of[i];
      END IF;
    END LOOP;
    -- The lines, with their charts' sites (looked up only to write: a read
    -- within the reuse writes nothing).
    IF p_write AND pg_catalog.cardinality(v_ids) > 0 THEN
      written := public.cl_part2_disclosure_lines(v_user, p_organization_id, v_type, v_purpose, v_use, v_ids,
        ARRAY(SELECT ch.site_id FROM pg_catalog.unnest(v_ids) WITH ORDINALITY AS k(id, n)
              JOIN public.cl_charts ch ON ch.organization_id = p_organization_id AND ch.id = k.id
              ORDER BY k.n),
        v_bases);
    END IF;
  END
  $$;
-- +goose StatementEnd

-- cl_part2_lines_written: how many part2.record.disclosed lines the caller
-- has written in this transaction in the organization (its id read here,
-- on the coordinator). For a read inside a caller's transaction, which
-- learns so whether it had to write its accounting there.
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_lines_written(p_organization_id uuid) RETURNS integer
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_this xid8 := pg_catalog.pg_current_xact_id_if_assigned();
  BEGIN
    IF v_this IS NULL THEN
      RETURN 0;
    END IF;
    RETURN (SELECT pg_catalog.count(*)::integer FROM public.pf_audit_logs a
            WHERE a.organization_id = p_organization_id AND a.occurred_at >= pg_catalog.now()
              AND a.action = 'part2.record.disclosed' AND a.actor_user_id = auth.uid() AND a.transaction_id = v_this);
  END
  $$;
-- +goose StatementEnd

-- cl_part2_disclosed: the accounting of a read or write (cl_part2_account),
-- for the library and for plain SQL, which commit it before the read or
-- write: returns how many rows it wrote. Charts that are not Part 2, or
-- that the caller may not see, write nothing.
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_disclosed(
  p_organization_id uuid, p_chart_ids uuid[], p_record_type text, p_purpose text, p_use text
) RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN (public.cl_part2_account(p_organization_id, p_chart_ids, p_record_type, p_purpose, p_use, true)).written;
  END
  $$;
-- +goose StatementEnd

-- cl_part2_opened: whether a chart's records of a type are open to the
-- caller now: always for a chart that is not Part 2 (to a caller with
-- clinical access); for a Part 2 chart only while a committed accounting
-- of the disclosure to the caller is within the window (a
-- part2.record.disclosed row written by cl_part2_disclosed in an earlier
-- transaction). Policies and the library's read functions over Part 2
-- records add it, so that no row of a Part 2 chart leaves the database,
-- through the API or by plain SQL, without its line in the accounting of
-- disclosures, and no rollback can take the line back. With p_use, only a
-- line for that use opens it: a write ('save') needs a line accounting
-- for a write, not one for a display.
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_opened(p_organization_id uuid, p_chart_id uuid, p_record_type text, p_use text DEFAULT NULL)
  RETURNS boolean
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_type  text := public.cl_part2_record_type(p_record_type);
    v_part2 boolean;
  BEGIN
    -- To anyone without clinical access every chart answers alike.
    v_part2 := public.cl_chart_clinical(p_organization_id, p_chart_id);
    IF v_part2 IS NULL THEN
      RETURN false;
    END IF;
    RETURN NOT v_part2 OR public.cl_part2_accounted(p_organization_id, p_chart_id, v_type,
                                                      CASE WHEN p_use IS NOT NULL THEN public.cl_part2_use(p_use) END);
  END
  $$;
-- +goose StatementEnd

-- cl_part2_break_glass: open a time-boxed emergency access for the caller
-- and return it.
-- Needs cl.part2.break_glass in the chart's organization, a reason of at
-- least 10 characters, and a duration between 1 minute and 24 hours. Always
-- audited (part2.emergency_access.opened, purpose ETREAT); the reason stays
-- in cl_part2_emergency_access, never in the audit log.
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_break_glass(p_chart_id uuid, p_reason text, p_duration interval)
  RETURNS public.cl_part2_emergency_access
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_user uuid := auth.uid();
    v_org  uuid;
    v_site uuid;
    v_row  public.cl_part2_emergency_access;
  BEGIN
    IF p_reason IS NULL OR pg_catalog.length(pg_catalog.btrim(p_reason)) < 10 THEN
      RAISE EXCEPTION 'an emergency access needs a reason of at least 10 characters'
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_duration IS NULL OR p_duration < interval '1 minute' OR p_duration > interval '24 hours' THEN
      RAISE EXCEPTION 'an emergency access lasts between 1 minute and 24 hours'
        USING ERRCODE = 'invalid_parameter_value';
    END IF;

    SELECT c.organization_id, c.site_id INTO v_org, v_site FROM public.cl_charts c WHERE c.id = p_chart_id;
    IF v_user IS NULL OR NOT FOUND OR NOT public.cl_has_permission(v_org, 'cl.part2.break_glass') THEN
      PERFORM public.pf_refuse(v_org, 'part2.emergency_access.open', 'chart', p_chart_id,
        'permission denied: emergency access needs cl.part2.break_glass');
    END IF;

    INSERT INTO public.cl_part2_emergency_access (organization_id, chart_id, user_id, reason, expires_at)
    VALUES (v_org, p_chart_id, v_user, pg_catalog.btrim(p_reason), pg_catalog.statement_timestamp() + p_duration)
    RETURNING * INTO v_row;

    PERFORM public.pf_audit_write(
      v_user, v_org, v_site, 'part2.emergency_access.opened', 'chart', p_chart_id, 'ETREAT',
      pg_catalog.jsonb_build_object('emergency_access_id', v_row.id,
                                    'expires_at', public.pf_iso_time(v_row.expires_at)));
    RETURN v_row;
  END
  $$;
-- +goose StatementEnd

-- Consents change only by revocation, once; every grant and revocation is
-- audited in the same transaction.
-- +goose StatementBegin
CREATE FUNCTION public.cl_part2_consents_guard() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF TG_OP = 'INSERT' THEN
      IF auth.uid() IS NOT NULL THEN
        -- Recorded now, by the caller; signed already.
        NEW.recorded_at := pg_catalog.now();
        IF NEW.signed_at > pg_catalog.statement_timestamp() + interval '5 minutes' THEN
          RAISE EXCEPTION 'a consent cannot be signed in the future' USING ERRCODE = 'check_violation';
        END IF;
      END IF;
      PERFORM public.pf_audit_write(
        NEW.recorded_by, NEW.organization_id, NULL, 'part2.consent.granted', 'chart', NEW.chart_id, NULL,
        pg_catalog.jsonb_build_object('consent_id', NEW.id));
      RETURN NEW;
    END IF;
    IF OLD.revoked_at IS NOT NULL THEN
      RAISE EXCEPTION 'consent is already revoked' USING ERRCODE = 'check_violation';
    END IF;
    IF (NEW.organization_id, NEW.id, NEW.chart_id, NEW.disclosing_organization_id, NEW.recipient_user_id,
        NEW.recipient_organization_id, NEW.record_types, NEW.purposes, NEW.effective_at, NEW.expires_at,
        NEW.expiration_event, NEW.signed_at, NEW.signer, NEW.recorded_by, NEW.recorded_at)
       IS DISTINCT FROM
       (OLD.organization_id, OLD.id, OLD.chart_id, OLD.disclosing_organization_id, OLD.recipient_user_id,
        OLD.recipient_organization_id, OLD.record_types, OLD.purposes, OLD.effective_at, OLD.expires_at,
        OLD.expiration_event, OLD.signed_at, OLD.signer, OLD.recorded_by, OLD.recorded_at) THEN
      RAISE EXCEPTION 'a consent can only be revoked, not changed' USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.revoked_at IS NOT NULL THEN
      -- A revocation takes effect now, by whoever records it: never
      -- backdated, never post-dated.
      NEW.revoked_at := pg_catalog.statement_timestamp();
      IF auth.uid() IS NOT NULL THEN
        NEW.revoked_by := auth.uid();
      END IF;
      PERFORM public.pf_audit_write(
        NEW.revoked_by, NEW.organization_id, NULL, 'part2.consent.revoked', 'chart', NEW.chart_id, NULL,
        pg_catalog.jsonb_build_object('consent_id', NEW.id));
    END IF;
    RETURN NEW;
  END
  $$;
-- +goose StatementEnd
CREATE TRIGGER cl_part2_consents_guard BEFORE INSERT OR UPDATE ON public.cl_part2_consents
  FOR EACH ROW EXECUTE FUNCTION public.cl_part2_consents_guard();

ALTER TABLE public.cl_part2_consents ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_part2_consents FORCE ROW LEVEL SECURITY;
ALTER TABLE public.cl_part2_emergency_access ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_part2_emergency_access FORCE ROW LEVEL SECURITY;
REVOKE ALL ON public.cl_part2_consents, public.cl_part2_emergency_access FROM PUBLIC, authenticated;
GRANT SELECT, INSERT ON public.cl_part2_consents TO authenticated;
GRANT UPDATE (revoked_at, revoked_by) ON public.cl_part2_consents TO authenticated;
GRANT SELECT ON public.cl_part2_emergency_access TO authenticated;

-- Whether a consent exists reveals that a chart is Part 2: only consent
-- viewers and managers see consents.
CREATE POLICY cl_part2_consents_select ON public.cl_part2_consents FOR SELECT TO authenticated
  USING (public.cl_has_permission(organization_id, 'cl.consent.view')
         OR public.cl_has_permission(organization_id, 'cl.consent.manage'));
CREATE POLICY cl_part2_consents_insert ON public.cl_part2_consents FOR INSERT TO authenticated
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.consent.manage')
              AND recorded_by = auth.uid() AND revoked_at IS NULL);
CREATE POLICY cl_part2_consents_update ON public.cl_part2_consents FOR UPDATE TO authenticated
  USING (public.cl_has_permission(organization_id, 'cl.consent.manage'))
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.consent.manage') AND revoked_by = auth.uid());
CREATE POLICY cl_part2_emergency_access_select ON public.cl_part2_emergency_access FOR SELECT TO authenticated
  USING (user_id = auth.uid() OR public.cl_has_permission(organization_id, 'cl.consent.view'));

REVOKE ALL ON FUNCTION public.cl_part2_record_types() FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_part2_purposes() FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_part2_needs_explicit_consent(text) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_part2_record_type(text) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_part2_decision_purposes() FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_part2_uses() FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_part2_consent_covers(uuid, uuid, text, uuid, timestamptz, text) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_part2_emergency_covers(uuid, uuid, text, uuid, timestamptz) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_check_sud_consent(uuid, text, uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_charts_clinical(uuid, uuid[]) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_chart_clinical(uuid, uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_sud_consent_charts(uuid, uuid[], text, boolean) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_part2_decide(uuid, text, text, text) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_part2_account(uuid, uuid[], text, text, text, boolean) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_part2_lines_written(uuid) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_part2_lines_written(uuid) TO authenticated;
REVOKE ALL ON FUNCTION public.cl_part2_disclosed(uuid, uuid[], text, text, text) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_part2_opened(uuid, uuid, text, text) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_part2_accounted(uuid, uuid, text, text) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_part2_accounted_charts(uuid, uuid[], text, text) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_part2_disclosure_window() FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_part2_disclosure_reuse() FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_part2_decision_stands(uuid, uuid, timestamptz) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_part2_purpose(text) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_part2_use(text) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_part2_opened(uuid, uuid, text, text) TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_part2_disclosed(uuid, uuid[], text, text, text) TO authenticated;
REVOKE ALL ON FUNCTION public.cl_part2_break_glass(uuid, text, interval) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_part2_consents_guard() FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_part2_record_types() TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_part2_purposes() TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_part2_decision_purposes() TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_part2_uses() TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_check_sud_consent(uuid, text, uuid) TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_part2_decide(uuid, text, text, text) TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_part2_break_glass(uuid, text, interval) TO authenticated;
