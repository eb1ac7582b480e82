-- +goose Up
-- CL-19 peer supervision. MVP as the seed says: no chart_id and no SUD
-- flag, organization-scoped by cl_has_org_access, treated as non-SUD.
--
-- Phase 2 seam: add a nullable chart_id (with a (organization_id, chart_id)
-- foreign key) or a notes_sud_flag boolean, and AND the SELECT/UPDATE
-- policies below with
--   (chart_id IS NULL OR public.cl_check_sud_consent(chart_id, 'peer_supervision', auth.uid()))
-- after adding 'peer_supervision' to cl_part2_record_types(). Nothing else
-- here has to change.

CREATE TABLE public.cl_peer_supervision (
  organization_id  uuid NOT NULL,
  id               uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  peer_provider_id uuid NOT NULL,
  supervisor_id    uuid NOT NULL,
  supervision_date date NOT NULL,
  modality         text NOT NULL CHECK (modality IN
                     ('individual_in_person', 'group_in_person', 'individual_video', 'group_video', 'phone')),
  duration_minutes integer CHECK (duration_minutes BETWEEN 1 AND 720),
  notes            text NOT NULL DEFAULT '' CHECK (pg_catalog.length(notes) <= 20000),
  created_by       uuid NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_by       uuid NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, peer_provider_id) REFERENCES public.pf_members (organization_id, user_id),
  FOREIGN KEY (organization_id, supervisor_id) REFERENCES public.pf_members (organization_id, user_id),
  CHECK (peer_provider_id <> supervisor_id),
  CHECK (public.pf_plausible_date(supervision_date))
);
CREATE INDEX cl_peer_supervision_peer_idx ON public.cl_peer_supervision (organization_id, peer_provider_id, supervision_date);
CREATE INDEX cl_peer_supervision_supervisor_idx ON public.cl_peer_supervision (organization_id, supervisor_id, supervision_date);

-- When each peer's certification began: supervision is more frequent during
-- the initial certification period.
CREATE TABLE public.cl_peer_certifications (
  organization_id  uuid NOT NULL,
  peer_provider_id uuid NOT NULL,
  certified_on     date NOT NULL CHECK (public.pf_plausible_date(certified_on)),
  PRIMARY KEY (organization_id, peer_provider_id),
  FOREIGN KEY (organization_id, peer_provider_id) REFERENCES public.pf_members (organization_id, user_id)
);

-- The organization's supervision rule set (state rules differ), as JSON
-- validated by the Go package before it is stored.
CREATE TABLE public.cl_peer_supervision_rules (
  organization_id uuid PRIMARY KEY REFERENCES public.pf_organizations (id),
  rules           jsonb NOT NULL CHECK (pg_catalog.jsonb_typeof(rules) = 'object'),
  updated_by      uuid NOT NULL,
  updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now()
);

CREATE TRIGGER cl_peer_supervision_stamp BEFORE INSERT OR UPDATE ON public.cl_peer_supervision
  FOR EACH ROW EXECUTE FUNCTION public.pf_stamp();

-- Who a row names: the peer a peer specialist of the organization (and,
-- for supervision, the supervisor one who may supervise peers), refused by
-- column so that the library names the field (one rule, in one place: the
-- library does not ask first). A caller who is not a member is refused
-- first, so that nobody learns another organization's staff by the error.
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_supervision_staff_guard() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    IF auth.uid() IS NOT NULL AND NOT public.cl_has_org_access(NEW.organization_id) THEN
      PERFORM public.pf_refuse(NEW.organization_id, 'peer_supervision.write', 'peer_supervision', NULL,
        'permission denied: not a member of the organization');
    END IF;
    IF NOT public.cl_member_has_permission(NEW.organization_id, NEW.peer_provider_id, 'cl.peer.service.provide', NULL) THEN
      RAISE EXCEPTION 'the peer is not a peer specialist of the organization (peer_provider_id)'
        USING ERRCODE = 'check_violation', COLUMN = 'peer_provider_id';
    END IF;
    -- Decided by the row, not by TG_TABLE_NAME: on a Citus shard the
    -- trigger's table is the shard (cl_peer_supervision_102524), and a
    -- review run found the check skipped there.
    IF pg_catalog.to_jsonb(NEW) OPERATOR(pg_catalog.?) 'supervisor_id'
       AND NOT public.cl_member_has_permission(NEW.organization_id,
             (pg_catalog.to_jsonb(NEW) OPERATOR(pg_catalog.->>) 'supervisor_id')::uuid, 'cl.peer.supervision.supervise', NULL) THEN
      RAISE EXCEPTION 'the supervisor may not supervise peers in the organization (supervisor_id)'
        USING ERRCODE = 'check_violation', COLUMN = 'supervisor_id';
    END IF;
    RETURN NEW;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_peer_supervision_staff_guard() FROM PUBLIC, authenticated;
CREATE TRIGGER cl_peer_supervision_staff_guard BEFORE INSERT OR UPDATE OF peer_provider_id, supervisor_id
  ON public.cl_peer_supervision FOR EACH ROW EXECUTE FUNCTION public.cl_peer_supervision_staff_guard();
CREATE TRIGGER cl_peer_certifications_staff_guard BEFORE INSERT OR UPDATE OF peer_provider_id
  ON public.cl_peer_certifications FOR EACH ROW EXECUTE FUNCTION public.cl_peer_supervision_staff_guard();
CREATE TRIGGER cl_peer_supervision_rules_stamp BEFORE INSERT OR UPDATE ON public.cl_peer_supervision_rules
  FOR EACH ROW EXECUTE FUNCTION public.pf_stamp();

ALTER TABLE public.cl_peer_supervision ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_peer_supervision FORCE ROW LEVEL SECURITY;
ALTER TABLE public.cl_peer_certifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_peer_certifications FORCE ROW LEVEL SECURITY;
ALTER TABLE public.cl_peer_supervision_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_peer_supervision_rules FORCE ROW LEVEL SECURITY;
REVOKE ALL ON public.cl_peer_supervision, public.cl_peer_certifications, public.cl_peer_supervision_rules FROM PUBLIC, authenticated;
GRANT SELECT, INSERT ON public.cl_peer_certifications, public.cl_peer_supervision_rules TO authenticated;
-- Supervision notes are read through cl_peer_supervision_shown only.
GRANT INSERT ON public.cl_peer_supervision TO authenticated;
CALL public.pf_grant_select_except('public.cl_peer_supervision', 'authenticated', ARRAY['notes']);
-- Who was supervised, by whom, and who recorded it never change.
GRANT UPDATE (supervision_date, modality, duration_minutes, notes, updated_by, updated_at)
  ON public.cl_peer_supervision TO authenticated;
GRANT UPDATE (certified_on) ON public.cl_peer_certifications TO authenticated;
GRANT UPDATE (rules, updated_by, updated_at) ON public.cl_peer_supervision_rules TO authenticated;

-- Supervision records are about staff, not patients, but they are not for
-- every member either: supervisors and administrators (cl.peer.supervision.view)
-- and the peer specialist they are about. The staff a record names must be
-- eligible by permission (cl.peer.service.provide, cl.peer.supervision.supervise),
-- and supervision is recorded after it happened.
CREATE POLICY cl_peer_supervision_select ON public.cl_peer_supervision FOR SELECT TO authenticated
  USING (public.cl_has_permission(organization_id, 'cl.peer.supervision.view')
         OR (peer_provider_id = auth.uid() AND public.cl_has_org_access(organization_id)));
CREATE POLICY cl_peer_supervision_insert ON public.cl_peer_supervision FOR INSERT TO authenticated
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.peer.supervision.manage')
              AND created_by = auth.uid() AND updated_by = auth.uid()
              AND supervision_date <= CURRENT_DATE + 1);
CREATE POLICY cl_peer_supervision_update ON public.cl_peer_supervision FOR UPDATE TO authenticated
  USING (public.cl_has_permission(organization_id, 'cl.peer.supervision.manage'))
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.peer.supervision.manage') AND updated_by = auth.uid()
              AND supervision_date <= CURRENT_DATE + 1);

CREATE POLICY cl_peer_certifications_select ON public.cl_peer_certifications FOR SELECT TO authenticated
  USING (public.cl_has_permission(organization_id, 'cl.peer.supervision.view')
         OR (peer_provider_id = auth.uid() AND public.cl_has_org_access(organization_id)));
CREATE POLICY cl_peer_certifications_insert ON public.cl_peer_certifications FOR INSERT TO authenticated
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.peer.certification.manage'));
CREATE POLICY cl_peer_certifications_update ON public.cl_peer_certifications FOR UPDATE TO authenticated
  USING (public.cl_has_permission(organization_id, 'cl.peer.certification.manage'))
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.peer.certification.manage'));

-- The rule set is configuration: every member may read it.
CREATE POLICY cl_peer_supervision_rules_select ON public.cl_peer_supervision_rules FOR SELECT TO authenticated
  USING (public.cl_has_org_access(organization_id));
CREATE POLICY cl_peer_supervision_rules_insert ON public.cl_peer_supervision_rules FOR INSERT TO authenticated
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.peer.supervision_rules.manage') AND updated_by = auth.uid());
CREATE POLICY cl_peer_supervision_rules_update ON public.cl_peer_supervision_rules FOR UPDATE TO authenticated
  USING (public.cl_has_permission(organization_id, 'cl.peer.supervision_rules.manage'))
  WITH CHECK (public.cl_has_permission(organization_id, 'cl.peer.supervision_rules.manage') AND updated_by = auth.uid());

-- cl_peer_supervision_notes: a supervision record's notes, for whoever may
-- read them: a holder of cl.peer.supervision.view and
-- cl.peer.supervision.view_text, or the peer supervised; NULL for anyone
-- else (an administrator counts supervision without reading its notes).
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_supervision_notes(p_organization_id uuid, p_id uuid) RETURNS text
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  DECLARE
    v_peer  uuid;
    v_notes text;
  BEGIN
    SELECT s.peer_provider_id, s.notes INTO v_peer, v_notes FROM public.cl_peer_supervision s
    WHERE s.organization_id = p_organization_id AND s.id = p_id;
    IF FOUND AND ((public.cl_has_permission(p_organization_id, 'cl.peer.supervision.view')
                   AND public.cl_has_permission(p_organization_id, 'cl.peer.supervision.view_text'))
                  OR (v_peer = auth.uid() AND public.cl_has_org_access(p_organization_id))) THEN
      RETURN v_notes;
    END IF;
    RETURN NULL;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_peer_supervision_notes(uuid, uuid) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_peer_supervision_notes(uuid, uuid) TO authenticated;

-- cl_peer_supervision_shown: the supervision records the caller may see
-- (the table's policy applies, as the caller), with their notes where the
-- caller may read them and '' elsewhere.
CREATE VIEW public.cl_peer_supervision_shown WITH (security_invoker = true) AS
  SELECT s.organization_id, s.id, s.peer_provider_id, s.supervisor_id, s.supervision_date, s.modality, s.duration_minutes,
         coalesce(public.cl_peer_supervision_notes(s.organization_id, s.id), '') AS notes,
         s.created_by, s.created_at, s.updated_by, s.updated_at
  FROM public.cl_peer_supervision s;
REVOKE ALL ON public.cl_peer_supervision_shown FROM PUBLIC, authenticated;
GRANT SELECT ON public.cl_peer_supervision_shown TO authenticated;

-- cl_peer_cosigns: how many of a peer's encounters were co-signed, and how
-- many were finalized, in [p_from, p_to] (inclusive dates), for the
-- supervision compliance summary: counts only, to holders of
-- cl.peer.supervision.view (all of the peer's encounters, Part 2 ones too:
-- a count discloses no record).
-- +goose StatementBegin
CREATE FUNCTION public.cl_peer_cosigns(p_organization_id uuid, p_peer_provider_id uuid, p_from date, p_to date,
                                       OUT cosigned integer, OUT finalized integer)
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    cosigned := 0;
    finalized := 0;
    IF NOT public.cl_has_permission(p_organization_id, 'cl.peer.supervision.view') THEN
      RETURN;
    END IF;
    SELECT (count(*) FILTER (WHERE e.cosigned_at IS NOT NULL))::int, (count(*) FILTER (WHERE e.status = 'finalized'))::int
      INTO cosigned, finalized
    FROM public.cl_peer_encounters e
    WHERE e.organization_id = p_organization_id AND e.peer_provider_id = p_peer_provider_id
      AND e.service_date BETWEEN p_from AND p_to;
  END
  $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION public.cl_peer_cosigns(uuid, uuid, date, date) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_peer_cosigns(uuid, uuid, date, date) TO authenticated;
