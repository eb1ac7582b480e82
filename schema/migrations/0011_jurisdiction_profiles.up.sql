-- +goose Up
-- PF-96 jurisdiction profiles: how a payer or a state wants services billed
-- (modifiers, place of service, units), as dated rules the database reads.
-- The figures the library publishes to charge capture (PM-07) are computed
-- from them here, never taken from a caller; the Go billing package reads
-- the same rows (billing.LoadProfiles). A host adds a jurisdiction, or a
-- rule that changes on a date, with rows: every load is checked for
-- contradictions before it commits (pf_jurisdiction_profile_check).
--
-- Reference data: no organization, read by every member, written only by
-- the host's maintenance (no grant to `authenticated`).

-- The modifiers a rule may suggest (domain.md): the telehealth ones (95,
-- GT, GQ, 93, FQ), group (HQ), program (HE, HF), level of training (HM, HN,
-- HO) and the state-defined U1 to UD.
CREATE FUNCTION public.pf_known_modifiers(p_modifiers text[]) RETURNS boolean
  LANGUAGE sql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(p_modifiers) m
                       WHERE m IS NULL OR m !~ '^(95|GT|GQ|93|FQ|HQ|HE|HF|HM|HN|HO|U[1-9A-D])$')
  $$;

-- The order suggestions are given in: telehealth, then group, then the
-- rest as the rules give them.
CREATE FUNCTION public.pf_modifier_rank(p_modifier text) RETURNS integer
  LANGUAGE sql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT CASE WHEN p_modifier IN ('95', 'GT', 'GQ', '93', 'FQ') THEN 0 WHEN p_modifier = 'HQ' THEN 1 ELSE 2 END
  $$;

CREATE TABLE public.pf_jurisdiction_profiles (
  id                uuid PRIMARY KEY,
  code              text NOT NULL UNIQUE CHECK (code ~ '^[a-z][a-z0-9_]*$' AND pg_catalog.length(code) <= 63),
  name              text NOT NULL CHECK (pg_catalog.length(name) BETWEEN 1 AND 200),
  -- cms_8_minute: 1 unit for 8-22 minutes, 2 for 23-37, ...; per_unit_threshold:
  -- each full unit, and a remainder of at least threshold_minutes.
  units_rule        text NOT NULL CHECK (units_rule IN ('cms_8_minute', 'per_unit_threshold')),
  unit_minutes      integer NOT NULL DEFAULT 15 CHECK (unit_minutes >= 1),
  threshold_minutes integer,
  CHECK (units_rule <> 'cms_8_minute' OR (unit_minutes = 15 AND threshold_minutes IS NULL)),
  CHECK (units_rule <> 'per_unit_threshold' OR threshold_minutes BETWEEN 1 AND unit_minutes)
);

-- At most this many units of a code a day (e.g. H0038: 16).
CREATE TABLE public.pf_jurisdiction_daily_caps (
  profile_id  uuid NOT NULL REFERENCES public.pf_jurisdiction_profiles (id),
  hcpcs_code  text NOT NULL CHECK (hcpcs_code ~ '^[A-Z0-9][A-Z0-9.]{1,9}$'),
  max_units   integer NOT NULL CHECK (max_units >= 1),
  PRIMARY KEY (profile_id, hcpcs_code)
);

-- A rule suggests modifiers and, for telehealth, a place of service to the
-- services it matches within its dates; every matching rule contributes.
-- A NULL condition (an empty list of deliveries) matches any value.
CREATE TABLE public.pf_jurisdiction_rules (
  profile_id       uuid NOT NULL REFERENCES public.pf_jurisdiction_profiles (id),
  position         integer NOT NULL CHECK (position >= 1),
  valid_from       date NOT NULL CHECK (public.pf_plausible_date(valid_from)),
  valid_to         date CHECK (valid_to IS NULL OR (public.pf_plausible_date(valid_to) AND valid_to >= valid_from)),
  is_group         boolean,
  deliveries       text[] NOT NULL DEFAULT '{}'
                   CHECK (deliveries <@ ARRAY['in_person', 'video', 'audio_only', 'store_and_forward']::text[]),
  at_home          boolean,
  modifiers        text[] NOT NULL DEFAULT '{}' CHECK (public.pf_known_modifiers(modifiers)),
  place_of_service text CHECK (place_of_service IN ('02', '10')),
  PRIMARY KEY (profile_id, position),
  CHECK (pg_catalog.cardinality(modifiers) > 0 OR place_of_service IS NOT NULL)
);

-- The rules of a profile that match one service.
-- +goose StatementBegin
CREATE FUNCTION public.pf_jurisdiction_rules_for(
  p_profile_id uuid, p_date date, p_group boolean, p_delivery text, p_at_home boolean
) RETURNS SETOF public.pf_jurisdiction_rules
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN QUERY SELECT * FROM public.pf_jurisdiction_rules r
      WHERE r.profile_id = p_profile_id AND r.valid_from <= p_date AND (r.valid_to IS NULL OR p_date <= r.valid_to)
        AND (r.is_group IS NULL OR r.is_group = p_group)
        AND (pg_catalog.cardinality(r.deliveries) = 0 OR p_delivery = ANY (r.deliveries))
        AND (r.at_home IS NULL OR r.at_home = p_at_home)
      ORDER BY r.position;
  END
  $$;
-- +goose StatementEnd

-- pf_jurisdiction_suggest: what a profile suggests for one service: the
-- matching rules' modifiers, each once, telehealth first, then group, then
-- the rest; the place of service of the last matching rule that names one
-- (none: the service's usual place). Suggestions only: PM-07 owns charges.
-- +goose StatementBegin
CREATE FUNCTION public.pf_jurisdiction_suggest(
  p_profile_id uuid, p_date date, p_group boolean, p_delivery text, p_at_home boolean,
  OUT modifiers text[], OUT place_of_service text
)
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    r      public.pf_jurisdiction_rules;
    v_mods text[] := '{}'::text[];
    v_mod  text;
  BEGIN
    FOR r IN SELECT * FROM public.pf_jurisdiction_rules_for(p_profile_id, p_date, p_group, p_delivery, p_at_home) LOOP
      FOREACH v_mod IN ARRAY r.modifiers LOOP
        IF NOT v_mod = ANY (v_mods) THEN
          v_mods := v_mods || v_mod;
        END IF;
      END LOOP;
      place_of_service := coalesce(r.place_of_service, place_of_service);
    END LOOP;
    SELECT coalesce(pg_catalog.array_agg(u.m ORDER BY public.pf_modifier_rank(u.m), u.n), '{}') INTO modifiers
    FROM pg_catalog.unnest(v_mods) WITH ORDINALITY AS u(m, n);
  END
  $$;
-- +goose StatementEnd

-- pf_units: the billable units of a timed service's minutes under a
-- profile's units rule, capped by its daily cap for the code (none when the
-- code is NULL). The same arithmetic as billing.Units (a test compares them).
-- +goose StatementBegin
CREATE FUNCTION public.pf_units(p_profile_id uuid, p_minutes integer, p_hcpcs_code text) RETURNS integer
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    p       public.pf_jurisdiction_profiles;
    v_units integer;
    v_cap   integer;
  BEGIN
    SELECT * INTO p FROM public.pf_jurisdiction_profiles x WHERE x.id = p_profile_id;
    IF NOT FOUND OR p_minutes IS NULL OR p_minutes <= 0 THEN
      RETURN 0;
    END IF;
    v_units := CASE p.units_rule
                 WHEN 'cms_8_minute' THEN (p_minutes + 7) / 15
                 ELSE p_minutes / p.unit_minutes + CASE WHEN p_minutes % p.unit_minutes >= p.threshold_minutes THEN 1 ELSE 0 END
               END;
    SELECT c.max_units INTO v_cap FROM public.pf_jurisdiction_daily_caps c
    WHERE c.profile_id = p_profile_id AND c.hcpcs_code = p_hcpcs_code;
    RETURN CASE WHEN v_cap IS NULL THEN v_units ELSE LEAST(v_units, v_cap) END;
  END
  $$;
-- +goose StatementEnd

-- pf_jurisdiction_profile_check: refuse a profile whose rules contradict
-- themselves on some service: two places of service, a telehealth modifier
-- or place for an in-person service, or modifiers of different technologies
-- (or training levels) together. Every kind of service is tried on every
-- date where a rule starts or ends. Run when a load commits.
-- +goose StatementBegin
CREATE FUNCTION public.pf_jurisdiction_profile_check(p_profile_id uuid) RETURNS void
  LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_code     text;
    v_date     date;
    v_delivery text;
    v_group    boolean;
    v_home     boolean;
    v_places   text[];
    v_mods     text[];
    v_problem  text;
  BEGIN
    SELECT p.code INTO v_code FROM public.pf_jurisdiction_profiles p WHERE p.id = p_profile_id;
    FOR v_date IN SELECT DISTINCT d FROM public.pf_jurisdiction_rules r,
                    LATERAL pg_catalog.unnest(ARRAY[r.valid_from, r.valid_to, r.valid_to + 1]) AS d
                  WHERE r.profile_id = p_profile_id AND d IS NOT NULL LOOP
      FOREACH v_delivery IN ARRAY ARRAY['in_person', 'video', 'audio_only', 'store_and_forward'] LOOP
        FOREACH v_group IN ARRAY ARRAY[false, true] LOOP
          FOREACH v_home IN ARRAY ARRAY[false, true] LOOP
            SELECT coalesce(pg_catalog.array_agg(DISTINCT r.place_of_service) FILTER (WHERE r.place_of_service IS NOT NULL), '{}'),
                   coalesce((SELECT pg_catalog.array_agg(m) FROM public.pf_jurisdiction_rules_for(p_profile_id, v_date, v_group, v_delivery, v_home) x,
                                    pg_catalog.unnest(x.modifiers) AS m), '{}')
              INTO v_places, v_mods
            FROM public.pf_jurisdiction_rules_for(p_profile_id, v_date, v_group, v_delivery, v_home) r;
            v_problem := CASE
              WHEN pg_catalog.cardinality(v_places) > 1 THEN 'rules suggest different places of service'
              WHEN v_delivery = 'in_person' AND (pg_catalog.cardinality(v_places) > 0 OR v_mods && ARRAY['95', 'GT', 'GQ', '93', 'FQ'])
                THEN 'an in-person service would get a telehealth modifier or place of service'
              WHEN (v_home AND '02' = ANY (v_places)) OR (NOT v_home AND '10' = ANY (v_places))
                THEN 'the place of service contradicts where the patient was (10 at home, 02 elsewhere)'
              WHEN (v_mods && ARRAY['95', 'GT'] AND v_delivery <> 'video') OR (v_mods && ARRAY['93', 'FQ'] AND v_delivery <> 'audio_only')
                   OR ('GQ' = ANY (v_mods) AND v_delivery <> 'store_and_forward')
                THEN 'a telehealth modifier would describe another technology than the service''s'
              WHEN EXISTS (SELECT 1 FROM (VALUES ('95', 'GT'), ('95', '93'), ('95', 'FQ'), ('95', 'GQ'), ('GT', '93'), ('GT', 'FQ'),
                                                 ('GT', 'GQ'), ('93', 'GQ'), ('FQ', 'GQ'), ('93', 'FQ'), ('HE', 'HF'), ('HM', 'HN'), ('HM', 'HO'), ('HN', 'HO')) c(a, b)
                           WHERE c.a = ANY (v_mods) AND c.b = ANY (v_mods))
                THEN 'conflicting modifiers would be suggested together'
            END;
            IF v_problem IS NOT NULL THEN
              RAISE EXCEPTION 'jurisdiction profile %: % (%, group %, at home %, %) (rules)', v_code, v_problem, v_delivery, v_group, v_home, v_date
                USING ERRCODE = 'check_violation';
            END IF;
          END LOOP;
        END LOOP;
      END LOOP;
    END LOOP;
  END
  $$;
-- +goose StatementEnd

-- Checked once per load, when it commits (a profile and its rules arrive
-- in any order within one transaction).
-- +goose StatementBegin
CREATE FUNCTION public.pf_jurisdiction_rules_checked() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    PERFORM public.pf_jurisdiction_profile_check(NEW.profile_id);
    RETURN NULL;
  END
  $$;
-- +goose StatementEnd
CREATE CONSTRAINT TRIGGER pf_jurisdiction_rules_checked AFTER INSERT OR UPDATE ON public.pf_jurisdiction_rules
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.pf_jurisdiction_rules_checked();

ALTER TABLE public.pf_jurisdiction_profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.pf_jurisdiction_profiles FORCE ROW LEVEL SECURITY;
ALTER TABLE public.pf_jurisdiction_daily_caps ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.pf_jurisdiction_daily_caps FORCE ROW LEVEL SECURITY;
ALTER TABLE public.pf_jurisdiction_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.pf_jurisdiction_rules FORCE ROW LEVEL SECURITY;
REVOKE ALL ON public.pf_jurisdiction_profiles, public.pf_jurisdiction_daily_caps, public.pf_jurisdiction_rules FROM PUBLIC, authenticated;
GRANT SELECT ON public.pf_jurisdiction_profiles, public.pf_jurisdiction_daily_caps, public.pf_jurisdiction_rules TO authenticated;
CREATE POLICY pf_jurisdiction_profiles_select ON public.pf_jurisdiction_profiles FOR SELECT TO authenticated USING (true);
CREATE POLICY pf_jurisdiction_daily_caps_select ON public.pf_jurisdiction_daily_caps FOR SELECT TO authenticated USING (true);
CREATE POLICY pf_jurisdiction_rules_select ON public.pf_jurisdiction_rules FOR SELECT TO authenticated USING (true);


-- The profiles the library ships. They are data, not law: the Arizona
-- default comes from the CL-55 specification (a virtual group suggests
-- ["95", "HQ"]) and no public AHCCCS text confirming it was found; hosts
-- replace or extend them with their payers' rules. Ids are name-based
-- UUIDs of the codes, stable across installations.
INSERT INTO public.pf_jurisdiction_profiles (id, code, name, units_rule, unit_minutes, threshold_minutes) VALUES
  ('b07ed550-9a60-537d-aa84-6b5ea2682ed9', 'default', 'Generic default', 'cms_8_minute', 15, NULL),
  ('c91701bd-d94d-5924-ab1e-2f1c676a0f30', 'az_ahcccs', 'Arizona AHCCCS (default)', 'per_unit_threshold', 15, 8),
  ('76fffa24-8b56-5ead-826d-1030c50c01d3', 'medicare', 'Medicare', 'cms_8_minute', 15, NULL);
INSERT INTO public.pf_jurisdiction_daily_caps (profile_id, hcpcs_code, max_units) VALUES
  ('c91701bd-d94d-5924-ab1e-2f1c676a0f30', 'H0038', 16);
-- Telehealth from 2020-03-01: 95 for video, 93 for audio only, GQ for store
-- and forward, HQ for groups; POS 10 for a remote patient at home, 02
-- elsewhere. Medicare: since 2024 the place of service marks telehealth,
-- and 95 is no longer asked for; audio-only behavioral health uses 93 (from
-- 2022).
INSERT INTO public.pf_jurisdiction_rules (profile_id, position, valid_from, valid_to, is_group, deliveries, at_home, modifiers, place_of_service)
SELECT p.id, r.position, r.valid_from::date, r.valid_to::date, r.is_group, r.deliveries, r.at_home, r.modifiers, r.place_of_service
FROM public.pf_jurisdiction_profiles p
JOIN (VALUES
  ('default',   1, '2020-03-01', NULL,         NULL, '{video}'::text[],                         NULL,  '{95}'::text[], NULL),
  ('default',   2, '2020-03-01', NULL,         NULL, '{audio_only}',                            NULL,  '{93}',         NULL),
  ('default',   3, '2020-03-01', NULL,         NULL, '{store_and_forward}',                     NULL,  '{GQ}',         NULL),
  ('default',   4, '2020-03-01', NULL,         true, '{}',                                      NULL,  '{HQ}',         NULL),
  ('default',   5, '2020-03-01', NULL,         NULL, '{video,audio_only,store_and_forward}',    true,  '{}',           '10'),
  ('default',   6, '2020-03-01', NULL,         NULL, '{video,audio_only,store_and_forward}',    false, '{}',           '02'),
  ('az_ahcccs', 1, '2020-03-01', NULL,         NULL, '{video}',                                 NULL,  '{95}',         NULL),
  ('az_ahcccs', 2, '2020-03-01', NULL,         NULL, '{audio_only}',                            NULL,  '{93}',         NULL),
  ('az_ahcccs', 3, '2020-03-01', NULL,         true, '{}',                                      NULL,  '{HQ}',         NULL),
  ('az_ahcccs', 4, '2020-03-01', NULL,         NULL, '{video,audio_only,store_and_forward}',    true,  '{}',           '10'),
  ('az_ahcccs', 5, '2020-03-01', NULL,         NULL, '{video,audio_only,store_and_forward}',    false, '{}',           '02'),
  ('medicare',  1, '2022-01-01', NULL,         NULL, '{audio_only}',                            NULL,  '{93}',         NULL),
  ('medicare',  2, '2020-03-01', '2023-12-31', NULL, '{video}',                                 NULL,  '{95}',         NULL),
  ('medicare',  3, '2020-03-01', NULL,         NULL, '{video,audio_only,store_and_forward}',    true,  '{}',           '10'),
  ('medicare',  4, '2020-03-01', NULL,         NULL, '{video,audio_only,store_and_forward}',    false, '{}',           '02')
) AS r(code, position, valid_from, valid_to, is_group, deliveries, at_home, modifiers, place_of_service) ON r.code = p.code;

REVOKE ALL ON FUNCTION public.pf_known_modifiers(text[]) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.pf_modifier_rank(text) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.pf_jurisdiction_rules_for(uuid, date, boolean, text, boolean) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.pf_jurisdiction_suggest(uuid, date, boolean, text, boolean) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.pf_jurisdiction_profile_check(uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.pf_units(uuid, integer, text) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.pf_units(uuid, integer, text) TO authenticated;
REVOKE ALL ON FUNCTION public.pf_jurisdiction_rules_checked() FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.pf_modifier_rank(text) TO authenticated;
GRANT EXECUTE ON FUNCTION public.pf_jurisdiction_rules_for(uuid, date, boolean, text, boolean) TO authenticated;
GRANT EXECUTE ON FUNCTION public.pf_jurisdiction_suggest(uuid, date, boolean, text, boolean) TO authenticated;
