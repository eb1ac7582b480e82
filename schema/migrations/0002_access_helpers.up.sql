-- +goose Up
-- Access helpers used by every policy: organization, site and permission
-- checks for auth.uid(). SECURITY DEFINER (they read pf_members and
-- pf_member_roles, which the caller may not see in full), search_path fixed,
-- every name schema-qualified, EXECUTE for `authenticated` only.
--
-- A host with its own PF-01/PF-02/PF-30 tables replaces the bodies of
-- cl_has_org_access, cl_has_site_access and cl_member_has_permission (same
-- names, same signatures) and keeps everything else (host/CONTRACT.md).
-- Row-level security, grants and policies on the PF-01/02/30 and CL-01
-- tables are the library's: they are here, whoever created the tables.

-- PL/pgSQL rather than SQL: a SECURITY DEFINER function is never inlined
-- anyway, and PL/pgSQL is planned once per session with its arguments as
-- parameters, which Citus can distribute (an SQL body in a policy cannot be
-- planned there).
-- +goose StatementBegin
CREATE FUNCTION public.cl_has_org_access(p_organization_id uuid) RETURNS boolean
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN EXISTS (
      SELECT 1 FROM public.pf_members m
      WHERE m.organization_id = p_organization_id
        AND m.user_id = auth.uid()
        AND m.status = 'active');
  END
  $$;
-- +goose StatementEnd

-- Site access: an active member with a role that is organization-wide or at
-- that site.
-- +goose StatementBegin
CREATE FUNCTION public.cl_has_site_access(p_organization_id uuid, p_site_id uuid) RETURNS boolean
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN EXISTS (
      SELECT 1
      FROM public.pf_members m
      JOIN public.pf_member_roles r
        ON r.organization_id = m.organization_id AND r.user_id = m.user_id
      WHERE m.organization_id = p_organization_id
        AND m.user_id = auth.uid()
        AND m.status = 'active'
        AND (r.site_id IS NULL OR r.site_id = p_site_id));
  END
  $$;
-- +goose StatementEnd

-- cl_member_has_permission: whether p_user_id is an active member of the
-- organization holding p_permission through a role held organization-wide
-- or at p_site_id (NULL: organization-wide roles only). The one definition
-- of "holds a permission"; the caller-facing helpers below ask it about
-- auth.uid().
-- +goose StatementBegin
CREATE FUNCTION public.cl_member_has_permission(
  p_organization_id uuid, p_user_id uuid, p_permission text, p_site_id uuid DEFAULT NULL
) RETURNS boolean
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN EXISTS (
      SELECT 1
      FROM public.pf_members m
      JOIN public.pf_member_roles r
        ON r.organization_id = m.organization_id AND r.user_id = m.user_id
      JOIN public.pf_role_permissions rp ON rp.role = r.role
      WHERE m.organization_id = p_organization_id
        AND m.user_id = p_user_id
        AND m.status = 'active'
        AND (r.site_id IS NULL OR r.site_id = p_site_id)
        AND rp.permission = p_permission);
  END
  $$;
-- +goose StatementEnd

-- Organization-wide permission of the caller: granted by a role held
-- organization-wide.
-- +goose StatementBegin
CREATE FUNCTION public.cl_has_permission(p_organization_id uuid, p_permission text) RETURNS boolean
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN public.cl_member_has_permission(p_organization_id, auth.uid(), p_permission, NULL);
  END
  $$;
-- +goose StatementEnd

-- Permission of the caller at a site: granted by a role held
-- organization-wide or at that site.
-- +goose StatementBegin
CREATE FUNCTION public.cl_has_site_permission(p_organization_id uuid, p_site_id uuid, p_permission text) RETURNS boolean
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN public.cl_member_has_permission(p_organization_id, auth.uid(), p_permission, p_site_id);
  END
  $$;
-- +goose StatementEnd

-- cl_staff_holds: whether a staff member a row names (a peer provider, a
-- supervisor, a facilitator) holds the permission that makes them eligible,
-- asked by a caller of the same organization. Used by the guards that stand
-- behind "the provider is a peer specialist" and the like, by permission,
-- never by role name.
-- +goose StatementBegin
CREATE FUNCTION public.cl_staff_holds(p_organization_id uuid, p_user_id uuid, p_permission text) RETURNS boolean
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
  BEGIN
    RETURN public.cl_has_org_access(p_organization_id)
       AND public.cl_member_has_permission(p_organization_id, p_user_id, p_permission, NULL);
  END
  $$;
-- +goose StatementEnd

REVOKE ALL ON FUNCTION public.cl_has_org_access(uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_has_site_access(uuid, uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_has_permission(uuid, text) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_has_site_permission(uuid, uuid, text) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_member_has_permission(uuid, uuid, text, uuid) FROM PUBLIC, authenticated;
REVOKE ALL ON FUNCTION public.cl_staff_holds(uuid, uuid, text) FROM PUBLIC, authenticated;
GRANT EXECUTE ON FUNCTION public.cl_has_org_access(uuid) TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_has_site_access(uuid, uuid) TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_has_permission(uuid, text) TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_has_site_permission(uuid, uuid, text) TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_staff_holds(uuid, uuid, text) TO authenticated;

-- Row-level security on the tenancy tables: members read their own
-- organizations; nobody but the host (as the owner) writes them.
ALTER TABLE public.pf_organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.pf_organizations FORCE ROW LEVEL SECURITY;
ALTER TABLE public.pf_sites ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.pf_sites FORCE ROW LEVEL SECURITY;
ALTER TABLE public.pf_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.pf_members FORCE ROW LEVEL SECURITY;
ALTER TABLE public.pf_member_roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.pf_member_roles FORCE ROW LEVEL SECURITY;
ALTER TABLE public.pf_permissions ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.pf_permissions FORCE ROW LEVEL SECURITY;
ALTER TABLE public.pf_roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.pf_roles FORCE ROW LEVEL SECURITY;
ALTER TABLE public.pf_role_permissions ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.pf_role_permissions FORCE ROW LEVEL SECURITY;

REVOKE ALL ON public.pf_organizations, public.pf_sites, public.pf_members, public.pf_member_roles,
  public.pf_permissions, public.pf_roles, public.pf_role_permissions FROM PUBLIC, authenticated;
GRANT SELECT ON public.pf_organizations, public.pf_sites, public.pf_members, public.pf_member_roles,
  public.pf_permissions, public.pf_roles, public.pf_role_permissions TO authenticated;

CREATE POLICY pf_organizations_select ON public.pf_organizations FOR SELECT TO authenticated
  USING (public.cl_has_org_access(id));
CREATE POLICY pf_sites_select ON public.pf_sites FOR SELECT TO authenticated
  USING (public.cl_has_org_access(organization_id));
CREATE POLICY pf_members_select ON public.pf_members FOR SELECT TO authenticated
  USING (user_id = auth.uid() OR public.cl_has_org_access(organization_id));
CREATE POLICY pf_member_roles_select ON public.pf_member_roles FOR SELECT TO authenticated
  USING (user_id = auth.uid() OR public.cl_has_org_access(organization_id));
CREATE POLICY pf_permissions_select ON public.pf_permissions FOR SELECT TO authenticated USING (true);
CREATE POLICY pf_roles_select ON public.pf_roles FOR SELECT TO authenticated USING (true);
CREATE POLICY pf_role_permissions_select ON public.pf_role_permissions FOR SELECT TO authenticated USING (true);

-- CL-01 charts (the host's table): whether a chart is Part 2 is itself
-- Part 2 information.
ALTER TABLE public.cl_charts ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_charts FORCE ROW LEVEL SECURITY;
REVOKE ALL ON public.cl_charts FROM PUBLIC, authenticated;
GRANT SELECT ON public.cl_charts TO authenticated;
-- Only clinical staff (cl.chart.view, organization-wide or at the chart's
-- site) see charts.
CREATE POLICY cl_charts_select ON public.cl_charts FOR SELECT TO authenticated
  USING (public.cl_has_org_access(organization_id)
         AND public.cl_has_site_permission(organization_id, site_id, 'cl.chart.view'));
