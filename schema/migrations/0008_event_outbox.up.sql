-- +goose Up
-- cl_pm_events: the transactional outbox for CL -> PM events.
--
-- An event row is written in the same transaction as the record change that
-- caused it (events.Outbox.PublishTx, as the acting user), so it exists if
-- and only if that change commits. A relay (events.Relay, as the role
-- cl_event_relay) claims pending rows with FOR UPDATE SKIP LOCKED, hands
-- them to the host's broker and marks them delivered; failures are retried
-- with backoff and, after the last attempt, dead-lettered.
--
-- No PHI: the envelope's data is a flat object of numbers, booleans, nulls,
-- code-like strings (UUIDs, codes, ISO timestamps) and arrays of them
-- (checked on insert below), and last_error holds an error kind, never a message.

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
  LANGUAGE sql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT pg_catalog.jsonb_typeof(p_data) = 'object'
       AND NOT EXISTS (
         SELECT 1 FROM pg_catalog.jsonb_each(p_data) AS e(key, value)
         WHERE NOT (e.key ~ '^[a-z][a-z0-9_]*$' AND pg_catalog.length(e.key) <= 63)
            OR NOT (
              pg_catalog.jsonb_typeof(e.value) IN ('number', 'boolean', 'null')
              OR (pg_catalog.jsonb_typeof(e.value) = 'string'
                  AND ((e.value OPERATOR(pg_catalog.#>>) '{}'::text[]) ~ '^[A-Za-z0-9_.:+-]*$' AND pg_catalog.length((e.value OPERATOR(pg_catalog.#>>) '{}'::text[])) <= 64))
              OR (pg_catalog.jsonb_typeof(e.value) = 'array'
                  AND NOT EXISTS (
                    SELECT 1 FROM pg_catalog.jsonb_array_elements(e.value) AS a(item)
                    WHERE pg_catalog.jsonb_typeof(a.item) <> 'string'
                       OR NOT ((a.item OPERATOR(pg_catalog.#>>) '{}'::text[]) ~ '^[A-Za-z0-9_.:+-]+$' AND pg_catalog.length((a.item OPERATOR(pg_catalog.#>>) '{}'::text[])) <= 64)))
            )
       )
  $$;
-- +goose StatementEnd

CREATE TABLE public.cl_pm_events (
  organization_id uuid NOT NULL REFERENCES public.pf_organizations (id),
  id              uuid NOT NULL,
  seq             bigint GENERATED ALWAYS AS IDENTITY,
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
  PRIMARY KEY (organization_id, id),
  UNIQUE (organization_id, idempotency_key)
);
-- The relay's claim: due pending events in insertion order ...
CREATE INDEX cl_pm_events_due_idx ON public.cl_pm_events (next_attempt_at, seq) WHERE status = 'pending';
-- ... each only when it is the oldest pending event of its aggregate.
CREATE INDEX cl_pm_events_aggregate_idx ON public.cl_pm_events (organization_id, aggregate_id, seq) WHERE status = 'pending';

-- The data check runs on INSERT only (a CHECK constraint would run again on
-- every UPDATE of the relay, about 90 us a row); nobody may change an
-- envelope afterwards (no UPDATE privilege on the column).
-- +goose StatementBegin
CREATE FUNCTION public.cl_pm_events_check_data() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF NOT public.cl_event_data_ok(NEW.envelope OPERATOR(pg_catalog.->) 'data') THEN
      RAISE EXCEPTION 'event data may hold only numbers, booleans, nulls and code-like strings (no PHI)'
        USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  END
  $$;
-- +goose StatementEnd
CREATE TRIGGER cl_pm_events_check_data BEFORE INSERT ON public.cl_pm_events
  FOR EACH ROW EXECUTE FUNCTION public.cl_pm_events_check_data();

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
REVOKE ALL ON public.cl_pm_events FROM PUBLIC;
REVOKE ALL ON FUNCTION public.cl_event_data_ok(jsonb) FROM PUBLIC;
-- The data check runs as the inserting role.
GRANT EXECUTE ON FUNCTION public.cl_event_data_ok(jsonb) TO authenticated;
REVOKE ALL ON FUNCTION public.cl_pm_events_notify() FROM PUBLIC;
REVOKE ALL ON FUNCTION public.cl_pm_events_check_data() FROM PUBLIC;
GRANT SELECT, INSERT ON public.cl_pm_events TO authenticated;
GRANT SELECT, UPDATE (status, attempts, next_attempt_at, last_error, delivered_at) ON public.cl_pm_events TO cl_event_relay;

-- Users publish and read their organizations' events; only the relay
-- updates them, and deletes them once delivered.
CREATE POLICY cl_pm_events_insert ON public.cl_pm_events FOR INSERT TO authenticated
  WITH CHECK (public.cl_has_org_access(organization_id) AND status = 'pending' AND attempts = 0);
CREATE POLICY cl_pm_events_select ON public.cl_pm_events FOR SELECT TO authenticated
  USING (public.cl_has_org_access(organization_id));
CREATE POLICY cl_pm_events_relay_select ON public.cl_pm_events FOR SELECT TO cl_event_relay USING (true);
CREATE POLICY cl_pm_events_relay_update ON public.cl_pm_events FOR UPDATE TO cl_event_relay
  USING (true) WITH CHECK (true);
-- Retention: the relay prunes delivered events (never pending or dead ones).
GRANT DELETE ON public.cl_pm_events TO cl_event_relay;
CREATE POLICY cl_pm_events_relay_prune ON public.cl_pm_events FOR DELETE TO cl_event_relay
  USING (status = 'delivered');
CREATE INDEX cl_pm_events_delivered_idx ON public.cl_pm_events (delivered_at) WHERE status = 'delivered';
