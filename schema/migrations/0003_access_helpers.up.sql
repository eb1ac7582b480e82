-- +goose Up
-- Access helpers used by every policy: organization, site and permission
-- checks for auth.uid(). SECURITY DEFINER (they read pf_members and
-- pf_member_roles, which the caller may not see in full), search_path fixed,
-- every name schema-qualified, EXECUTE for `authenticated` only.
--
-- A host with its own PF-01/PF-02/PF-30 tables replaces the bodies of these
-- four functions (same names, same signatures) and keeps everything else.

CREATE FUNCTION public.cl_has_org_access(p_organization_id uuid) RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT EXISTS (
      SELECT 1 FROM public.pf_members m
      WHERE m.organization_id = p_organization_id
        AND m.user_id = auth.uid()
        AND m.status = 'active'
    )
  $$;

-- Site access: an active member with a role that is organization-wide or at
-- that site.
CREATE FUNCTION public.cl_has_site_access(p_organization_id uuid, p_site_id uuid) RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT EXISTS (
      SELECT 1
      FROM public.pf_members m
      JOIN public.pf_member_roles r
        ON r.organization_id = m.organization_id AND r.user_id = m.user_id
      WHERE m.organization_id = p_organization_id
        AND m.user_id = auth.uid()
        AND m.status = 'active'
        AND (r.site_id IS NULL OR r.site_id = p_site_id)
    )
  $$;

-- Organization-wide permission: granted by a role held organization-wide.
CREATE FUNCTION public.cl_has_permission(p_organization_id uuid, p_permission text) RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT EXISTS (
      SELECT 1
      FROM public.pf_members m
      JOIN public.pf_member_roles r
        ON r.organization_id = m.organization_id AND r.user_id = m.user_id
      JOIN public.pf_role_permissions rp ON rp.role = r.role
      WHERE m.organization_id = p_organization_id
        AND m.user_id = auth.uid()
        AND m.status = 'active'
        AND r.site_id IS NULL
        AND rp.permission = p_permission
    )
  $$;

-- Permission at a site: granted by a role held organization-wide or at that
-- site.
CREATE FUNCTION public.cl_has_site_permission(p_organization_id uuid, p_site_id uuid, p_permission text) RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT EXISTS (
      SELECT 1
      FROM public.pf_members m
      JOIN public.pf_member_roles r
        ON r.organization_id = m.organization_id AND r.user_id = m.user_id
      JOIN public.pf_role_permissions rp ON rp.role = r.role
      WHERE m.organization_id = p_organization_id
        AND m.user_id = auth.uid()
        AND m.status = 'active'
        AND (r.site_id IS NULL OR r.site_id = p_site_id)
        AND rp.permission = p_permission
    )
  $$;

-- Whether a user is an active member of an organization holding a role
-- (organization-wide or at any site). Used by feature validation, e.g. "the
-- provider is a member with a peer role".
CREATE FUNCTION public.cl_member_has_role(p_organization_id uuid, p_user_id uuid, p_role text) RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT public.cl_has_org_access(p_organization_id) AND EXISTS (
      SELECT 1
      FROM public.pf_members m
      JOIN public.pf_member_roles r
        ON r.organization_id = m.organization_id AND r.user_id = m.user_id
      WHERE m.organization_id = p_organization_id
        AND m.user_id = p_user_id
        AND m.status = 'active'
        AND r.role = p_role
    )
  $$;

REVOKE ALL ON FUNCTION public.cl_has_org_access(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.cl_has_site_access(uuid, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.cl_has_permission(uuid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.cl_has_site_permission(uuid, uuid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.cl_member_has_role(uuid, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.cl_has_org_access(uuid) TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_has_site_access(uuid, uuid) TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_has_permission(uuid, text) TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_has_site_permission(uuid, uuid, text) TO authenticated;
GRANT EXECUTE ON FUNCTION public.cl_member_has_role(uuid, uuid, text) TO authenticated;

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
  public.pf_permissions, public.pf_roles, public.pf_role_permissions FROM PUBLIC;
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
