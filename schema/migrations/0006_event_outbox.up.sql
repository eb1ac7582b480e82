-- +goose Up
-- cl_pm_events: the transactional outbox for CL -> PM events.
--
-- An event row is written in the same transaction as the record change that
-- caused it (events.Outbox.PublishTx, as the acting user, through
-- cl_pm_events_publish), so it exists if and only if that change commits. A relay (events.Relay, as the role
-- cl_event_relay) claims pending rows with FOR UPDATE SKIP LOCKED, hands
-- them to the host's broker and marks them delivered; failures are retried
-- with backoff and, after the last attempt, dead-lettered.
--
-- No PHI: the envelope's data is a flat object of numbers, booleans, nulls,
-- code-like strings (UUIDs, codes, ISO timestamps) and arrays of them
-- (checked by cl_pm_events_publish, the only way in), and last_error holds an error kind, never a message.

-- +goose StatementBegin
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = 'cl_event_relay') THEN
    CREATE ROLE cl_event_relay NOLOGIN NOINHERIT;
  END IF;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION public.cl_event_data_ok(p_data jsonb) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN pg_catalog.jsonb_typeof(p_data) = 'object'
       AND NOT EXISTS (
         SELECT 1 FROM pg_catalog.jsonb_each(p_data) AS e(key, value)
         WHERE NOT (e.key ~ '^[a-z][a-z0-9_]*$' AND pg_catalog.length(e.key) <= 63)
            OR NOT (
              public.pf_is_code_value(e.value)
              OR (pg_catalog.jsonb_typeof(e.value) = 'array'
                  AND NOT EXISTS (
                    SELECT 1 FROM pg_catalog.jsonb_array_elements(e.value) AS a(item)
                    WHERE pg_catalog.jsonb_typeof(a.item) <> 'string'
                       OR NOT ((a.item OPERATOR(pg_catalog.#>>) '{}'::text[]) ~ '^[A-Za-z0-9_.:+-]+$' AND pg_catalog.length((a.item OPERATOR(pg_catalog.#>>) '{}'::text[])) <= 64)))
            )
       );
  END
  $$;
-- +goose StatementEnd

CREATE TABLE public.cl_pm_events (
  organization_id uuid NOT NULL REFERENCES public.pf_organizations (id),
  id              uuid NOT NULL,
  -- The event's place among its aggregate's events, 1, 2, ...: the order
  -- the relay delivers them in (there is no global order; a sequence is
  -- per node on Citus). Numbered by the database.
  aggregate_seq   integer NOT NULL CHECK (aggregate_seq >= 1),
  event_type      text NOT NULL CHECK ((event_type ~ '^[a-z][a-z0-9_]+$' AND pg_catalog.length(event_type) <= 63 AND pg_catalog.length(event_type) >= 3)),
  aggregate_id    uuid NOT NULL,
  idempotency_key text NOT NULL CHECK ((idempotency_key ~ '^[A-Za-z0-9_.:-]+$' AND pg_catalog.length(idempotency_key) <= 200)),
  envelope        jsonb NOT NULL,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  last_error      text CHECK ((last_error ~ '^[A-Za-z0-9_.:*/-]+$' AND pg_catalog.length(last_error) <= 120)),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  delivered_at    timestamptz,
  -- Set when the relay compacted a delivered event past its retention: the
  -- envelope is gone, this tombstone (keys, type, record) stays, so that the
  -- same event is never stored, nor charged, twice.
  compacted_at    timestamptz,
  PRIMARY KEY (organization_id, id),
  UNIQUE (organization_id, idempotency_key),
  UNIQUE (organization_id, aggregate_id, aggregate_seq)
);
-- The relay finds the organizations with due events ...
CREATE INDEX cl_pm_events_due_idx ON public.cl_pm_events (next_attempt_at) WHERE status = 'pending';
-- ... claims each one's due events, oldest first ...
CREATE INDEX cl_pm_events_org_due_idx ON public.cl_pm_events (organization_id, next_attempt_at, created_at) WHERE status = 'pending';
-- ... each only when it is the first undelivered event of its aggregate.
-- A dead-lettered event still blocks its aggregate (until Relay.Retry
-- requeues it): a later event must never overtake it.
CREATE INDEX cl_pm_events_aggregate_idx ON public.cl_pm_events (organization_id, aggregate_id, aggregate_seq) WHERE status <> 'delivered';

-- The next number of the event's aggregate (a concurrent event of the same
-- aggregate fails its unique number, and its transaction is retried by
-- its caller; the library's writers lock the aggregate first).
-- +goose StatementBegin
CREATE FUNCTION public.cl_pm_events_number() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    NEW.aggregate_seq := coalesce((SELECT pg_catalog.max(e.aggregate_seq) FROM public.cl_pm_events e
                                   WHERE e.organization_id = NEW.organization_id AND e.aggregate_id = NEW.aggregate_id), 0) + 1;
    RETURN NEW;
  END
  $$;
-- +goose StatementEnd
CREATE TRIGGER cl_pm_events_number BEFORE INSERT ON public.cl_pm_events
  FOR EACH ROW EXECUTE FUNCTION public.cl_pm_events_number();
REVOKE ALL ON FUNCTION public.cl_pm_events_number() FROM PUBLIC, authenticated;

-- Wake relays at commit; the payload is empty (no PHI, nothing to parse).
-- +goose StatementBegin
CREATE FUNCTION public.cl_pm_events_notify() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    PERFORM pg_catalog.pg_notify('cl_pm_events', '');
    RETURN NULL;
  END
  $$;
-- +goose StatementEnd
CREATE TRIGGER cl_pm_events_notify AFTER INSERT ON public.cl_pm_events
  FOR EACH STATEMENT EXECUTE FUNCTION public.cl_pm_events_notify();

ALTER TABLE public.cl_pm_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_pm_events FORCE ROW LEVEL SECURITY;
REVOKE ALL ON public.cl_pm_events FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_event_data_ok(jsonb) FROM PUBLIC, authenticated;
-- The data check runs as the inserting role.
GRANT EXECUTE ON FUNCTION public.cl_event_data_ok(jsonb) TO authenticated;
REVOKE ALL ON FUNCTION public.cl_pm_events_notify() FROM PUBLIC, authenticated;
GRANT SELECT, INSERT ON public.cl_pm_events TO authenticated;
GRANT SELECT, UPDATE (status, attempts, next_attempt_at, last_error, delivered_at, envelope, compacted_at)
  ON public.cl_pm_events TO cl_event_relay;

-- Users publish through cl_pm_events_publish only. Reading the outbox
-- needs pf.events.view: events name charts and encounters, including Part 2
-- ones. Only the relay updates events, and deletes them once delivered.
CREATE POLICY cl_pm_events_select ON public.cl_pm_events FOR SELECT TO authenticated
  USING (public.cl_has_permission(organization_id, 'pf.events.view'));
CREATE POLICY cl_pm_events_relay_select ON public.cl_pm_events FOR SELECT TO cl_event_relay USING (true);
CREATE POLICY cl_pm_events_relay_update ON public.cl_pm_events FOR UPDATE TO cl_event_relay
  USING (true) WITH CHECK (true);
-- Retention: the relay compacts delivered events to tombstones; nobody
-- deletes an event. An envelope changes only so: to '{}', with
-- compacted_at, on a delivered event.
-- +goose StatementBegin
CREATE FUNCTION public.cl_pm_events_guard() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF NEW.envelope IS DISTINCT FROM OLD.envelope
       AND NOT (NEW.envelope = '{}'::jsonb AND NEW.status = 'delivered' AND NEW.compacted_at IS NOT NULL) THEN
      RAISE EXCEPTION 'an event''s envelope is never rewritten, only compacted once delivered' USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.compacted_at IS NOT NULL AND NOT public.pf_changed_only(pg_catalog.to_jsonb(OLD), pg_catalog.to_jsonb(NEW), ARRAY[]::text[]) THEN
      RAISE EXCEPTION 'a compacted event is a tombstone' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  END
  $$;
-- +goose StatementEnd
-- The WHEN clause fires the guard only on an update it could refuse (one
-- that changes the envelope, or touches a tombstone): the relay's marks
-- and retries, most updates by far, skip a PL/pgSQL call per row (measured:
-- 3 to 7 ms of a 30 ms mark of 1,000 events).
CREATE TRIGGER cl_pm_events_guard BEFORE UPDATE ON public.cl_pm_events
  FOR EACH ROW WHEN (NEW.envelope IS DISTINCT FROM OLD.envelope OR OLD.compacted_at IS NOT NULL)
  EXECUTE FUNCTION public.cl_pm_events_guard();
REVOKE ALL ON FUNCTION public.cl_pm_events_guard() FROM PUBLIC, authenticated;
CREATE INDEX cl_pm_events_delivered_idx ON public.cl_pm_events (delivered_at) WHERE status = 'delivered' AND compacted_at IS NULL;

-- The event types the library publishes (the Go registry mirrors it; a test
-- compares them).
-- +goose StatementBegin
CREATE FUNCTION public.cl_event_types() RETURNS text[]
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN ARRAY['peer_encounter_finalized', 'peer_encounter_corrected', 'cl_virtual_group_started',
                      'cl_virtual_group_concluded', 'cl_virtual_group_charge_line']::text[];
  END
  $$;
-- +goose StatementEnd

-- cl_event_fields: the fields an event type's data may carry, its
-- contract's keys and nothing else (the Go contracts' JSON names; a test
-- compares them). cl_pm_events_store refuses any other key, whichever door
-- an event came through.
-- +goose StatementBegin
CREATE FUNCTION public.cl_event_fields(p_event_type text) RETURNS text[]
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN ARRAY['event_type', 'organization_id', 'timestamp', 'correlation_id']::text[] || CASE p_event_type
      WHEN 'peer_encounter_finalized' THEN ARRAY['peer_encounter_id', 'chart_id', 'encounter_id', 'peer_provider_id',
                                                 'service_date', 'hcpcs_code', 'duration_minutes', 'security_labels']
      WHEN 'peer_encounter_corrected' THEN ARRAY['peer_encounter_id', 'amendment_id', 'corrects_event_id', 'chart_id',
                                                 'encounter_id', 'peer_provider_id', 'service_date', 'hcpcs_code',
                                                 'duration_minutes', 'security_labels']
      WHEN 'cl_virtual_group_started' THEN ARRAY['session_id', 'schedule_id', 'pm_telehealth_session_id', 'modality',
                                                 'facilitator_id', 'attendee_count', 'started_at']
      WHEN 'cl_virtual_group_concluded' THEN ARRAY['session_id', 'schedule_id', 'pm_telehealth_session_id', 'modality',
                                                   'concluded_at', 'duration_minutes', 'participant_count',
                                                   'modifier_suggestions', 'jurisdiction_profile_id']
      WHEN 'cl_virtual_group_charge_line' THEN ARRAY['session_id', 'attendance_id', 'chart_id', 'concluded_event_id',
                                                     'service_date', 'modes', 'video_minutes', 'audio_only_minutes',
                                                     'in_person_minutes', 'billable_minutes', 'units', 'place_of_service',
                                                     'modifier_suggestions', 'jurisdiction_profile_id', 'security_labels']
      ELSE ARRAY[]::text[]
    END;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_event_fields(text) FROM PUBLIC, authenticated;

-- cl_pm_events_envelope_ok: whether an envelope is exactly a CloudEvents
-- envelope of a registered type whose attributes match the event's columns
-- and whose data holds only its type's fields (cl_event_fields), as codes,
-- numbers and ids (cl_event_data_ok): what cl_pm_events_store demands of
-- an envelope built outside the database.
-- +goose StatementBegin
CREATE FUNCTION public.cl_pm_events_envelope_ok(
  p_organization_id uuid, p_id uuid, p_event_type text, p_aggregate_id uuid, p_envelope jsonb
) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_fields text[] := public.cl_event_fields(p_event_type);
  BEGIN
    RETURN NOT coalesce(p_envelope IS NULL OR pg_catalog.jsonb_typeof(p_envelope) <> 'object'
       OR EXISTS (SELECT 1 FROM pg_catalog.jsonb_object_keys(p_envelope) k
                  WHERE k NOT IN ('specversion', 'id', 'source', 'type', 'time', 'subject', 'datacontenttype',
                                  'organizationid', 'correlationid', 'data'))
       OR p_envelope OPERATOR(pg_catalog.->>) 'specversion' IS DISTINCT FROM '1.0'
       OR p_envelope OPERATOR(pg_catalog.->>) 'id' IS DISTINCT FROM p_id::text
       OR p_envelope OPERATOR(pg_catalog.->>) 'type' IS DISTINCT FROM p_event_type
       OR p_envelope OPERATOR(pg_catalog.->>) 'organizationid' IS DISTINCT FROM p_organization_id::text
       OR p_envelope OPERATOR(pg_catalog.->>) 'subject' IS DISTINCT FROM p_aggregate_id::text
       OR p_envelope OPERATOR(pg_catalog.->>) 'datacontenttype' IS DISTINCT FROM 'application/json'
       OR NOT coalesce(p_envelope OPERATOR(pg_catalog.->>) 'source' ~ '^[A-Za-z0-9_.:/-]+$'
                       AND pg_catalog.length(p_envelope OPERATOR(pg_catalog.->>) 'source') <= 200, false)
       OR NOT coalesce(p_envelope OPERATOR(pg_catalog.->>) 'time' ~ '^[0-9T:.+Z-]+$', false)
       OR NOT coalesce(p_envelope OPERATOR(pg_catalog.->>) 'correlationid' ~ '^[0-9a-f-]{36}$', true)
       OR NOT coalesce(public.cl_event_data_ok(p_envelope OPERATOR(pg_catalog.->) 'data'), false)
       OR EXISTS (SELECT 1 FROM pg_catalog.jsonb_object_keys(p_envelope OPERATOR(pg_catalog.->) 'data') k
                  WHERE NOT (k = ANY (v_fields)))
       OR (p_envelope OPERATOR(pg_catalog.->) 'data' OPERATOR(pg_catalog.->>) 'event_type') IS DISTINCT FROM p_event_type
       OR (p_envelope OPERATOR(pg_catalog.->) 'data' OPERATOR(pg_catalog.->>) 'organization_id') IS DISTINCT FROM p_organization_id::text, true);
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_pm_events_envelope_ok(uuid, uuid, text, uuid, jsonb) FROM PUBLIC, authenticated;

-- cl_pm_events_append: stores an event once per (organization,
-- idempotency key) and returns the stored envelope; a key already used for
-- another event type or aggregate is an error (unique_violation), never a
-- silent answer about a different event. Its own check is the envelope's
-- CloudEvents source, the one attribute a caller names. For the library's
-- functions whose envelope the database builds itself from typed columns
-- (finalization, correction, charge lines: their tests check that every
-- one stored passes cl_pm_events_envelope_ok, testdb.RequireStoredEventsValid);
-- everything else goes through cl_pm_events_store.
-- +goose StatementBegin
CREATE FUNCTION public.cl_pm_events_append(
  p_organization_id uuid, p_id uuid, p_event_type text, p_aggregate_id uuid, p_idempotency_key text, p_envelope jsonb
) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_existing public.cl_pm_events;
  BEGIN
    IF NOT coalesce(p_envelope OPERATOR(pg_catalog.->>) 'source' ~ '^[A-Za-z0-9_.:/-]+$'
                    AND pg_catalog.length(p_envelope OPERATOR(pg_catalog.->>) 'source') <= 200, false) THEN
      RAISE EXCEPTION 'not a valid event envelope (source)' USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO public.cl_pm_events (organization_id, id, event_type, aggregate_id, idempotency_key, envelope)
    VALUES (p_organization_id, p_id, p_event_type, p_aggregate_id, p_idempotency_key, p_envelope)
    ON CONFLICT (organization_id, idempotency_key) DO NOTHING
    RETURNING envelope INTO v_existing.envelope;
    IF FOUND THEN
      RETURN v_existing.envelope;
    END IF;
    -- The key was taken: by this event (a retry), or refused.
    SELECT * INTO v_existing FROM public.cl_pm_events e
    WHERE e.organization_id = p_organization_id AND e.idempotency_key = p_idempotency_key;
    IF v_existing.event_type <> p_event_type OR v_existing.aggregate_id <> p_aggregate_id THEN
      RAISE EXCEPTION 'the idempotency key was already used for another event' USING ERRCODE = 'unique_violation';
    END IF;
    IF v_existing.compacted_at IS NOT NULL THEN
      RAISE EXCEPTION 'the event was delivered long ago (only its tombstone is kept)' USING ERRCODE = 'unique_violation';
    END IF;
    RETURN v_existing.envelope;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_pm_events_append(uuid, uuid, text, uuid, text, jsonb) FROM PUBLIC, authenticated;

-- cl_pm_events_store: the one way to write an event built outside the
-- database. The caller must belong to the organization; the envelope must
-- be exactly a CloudEvents envelope of a registered type whose attributes
-- match the columns and whose data holds no free text
-- (cl_pm_events_envelope_ok); the key may not be another type's or another
-- record's. Stores it with cl_pm_events_append.
-- +goose StatementBegin
CREATE FUNCTION public.cl_pm_events_store(
  p_organization_id uuid, p_id uuid, p_event_type text, p_aggregate_id uuid, p_idempotency_key text, p_envelope jsonb
) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF auth.uid() IS NULL OR NOT public.cl_has_org_access(p_organization_id) THEN
      PERFORM public.pf_refuse(p_organization_id, 'events.store', 'event', p_id, 'permission denied: not a member of the organization');
    END IF;
    IF p_event_type IS NULL OR NOT (p_event_type = ANY (public.cl_event_types())) THEN
      RAISE EXCEPTION 'unknown event type' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT public.cl_pm_events_envelope_ok(p_organization_id, p_id, p_event_type, p_aggregate_id, p_envelope)
    THEN
      RAISE EXCEPTION 'not a valid event envelope (attributes must match, data may hold only codes, numbers and ids)'
        USING ERRCODE = 'check_violation';
    END IF;

    -- A key named after another event type is that type's: taking it in
    -- advance would block that event for good.
    IF pg_catalog.split_part(p_idempotency_key, ':', 1) = ANY (public.cl_event_types())
       AND pg_catalog.split_part(p_idempotency_key, ':', 1) <> p_event_type THEN
      RAISE EXCEPTION 'the idempotency key names another event type' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Nor another record's: the default key of an event about a record
    -- ("<type>:aggregate:<id>") is that record's alone.
    IF pg_catalog.split_part(p_idempotency_key, ':', 2) = 'aggregate'
       AND pg_catalog.split_part(p_idempotency_key, ':', 3) <> p_aggregate_id::text THEN
      RAISE EXCEPTION 'the idempotency key names another record' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN public.cl_pm_events_append(p_organization_id, p_id, p_event_type, p_aggregate_id, p_idempotency_key, p_envelope);
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_event_types() FROM PUBLIC, authenticated;

REVOKE ALL ON FUNCTION public.cl_pm_events_store(uuid, uuid, text, uuid, text, jsonb) FROM PUBLIC, authenticated;

-- The public door, for an integration principal only: a member holding
-- pf.events.publish, which no role for people holds (the seeded
-- `integration` role is for a service account the host creates on
-- purpose). The virtual-group lifecycle events are published only by their
-- own transition (cl_virtual_group_publish, migration 0012), and an event
-- about a record needs that record, in that organization, in the state the
-- event reports: peer_encounter_finalized a finalized encounter (people
-- publish it only by finalizing, through cl_peer_encounter_finalize,
-- migration 0007).
-- +goose StatementBegin
CREATE FUNCTION public.cl_pm_events_publish(
  p_organization_id uuid, p_id uuid, p_event_type text, p_aggregate_id uuid, p_idempotency_key text, p_envelope jsonb
) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF p_event_type IN ('cl_virtual_group_started', 'cl_virtual_group_concluded', 'cl_virtual_group_charge_line',
                        'peer_encounter_corrected') THEN
      RAISE EXCEPTION 'this event type is published by its own action only (a transition, a correction)'
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT public.cl_has_permission(p_organization_id, 'pf.events.publish') THEN
      PERFORM public.pf_refuse(p_organization_id, 'events.publish', 'event', p_id,
        'publishing events directly needs pf.events.publish (an integration principal)');
    END IF;
    IF p_event_type = 'peer_encounter_finalized' THEN
      -- The record, its own figures, its one event (migration 0007).
      PERFORM public.cl_peer_encounter_verify_direct(p_organization_id, p_aggregate_id, p_idempotency_key,
                                                     p_envelope OPERATOR(pg_catalog.->) 'data');
    END IF;
    RETURN public.cl_pm_events_store(p_organization_id, p_id, p_event_type, p_aggregate_id, p_idempotency_key, p_envelope);
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_pm_events_publish(uuid, uuid, text, uuid, text, jsonb) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_event_types() TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_pm_events_publish(uuid, uuid, text, uuid, text, jsonb) TO authenticated;
