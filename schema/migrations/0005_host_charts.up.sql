-- +goose Up
-- HOST-PROVIDED: a minimal CL-01 patient chart. No demographics: the library
-- needs only the tenant, the site and whether the chart holds 42 CFR Part 2
-- (substance use disorder program) records. A host with its own chart table
-- provides the same columns under this name (or a view with them).

CREATE TABLE public.cl_charts (
  organization_id uuid NOT NULL REFERENCES public.pf_organizations (id),
  id              uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
  site_id         uuid,
  is_part2        boolean NOT NULL DEFAULT false,
  status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (organization_id, id),
  FOREIGN KEY (organization_id, site_id) REFERENCES public.pf_sites (organization_id, id)
);
-- The consent check looks a chart up by id alone.
CREATE INDEX cl_charts_id_idx ON public.cl_charts (id) INCLUDE (organization_id, is_part2);

ALTER TABLE public.cl_charts ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.cl_charts FORCE ROW LEVEL SECURITY;
REVOKE ALL ON public.cl_charts FROM PUBLIC;
GRANT SELECT ON public.cl_charts TO authenticated;
-- Whether a chart is Part 2 is itself Part 2 information: only clinical
-- staff (cl.chart.view, organization-wide or at the chart's site) see charts.
CREATE POLICY cl_charts_select ON public.cl_charts FOR SELECT TO authenticated
  USING (public.cl_has_org_access(organization_id)
         AND public.cl_has_site_permission(organization_id, site_id, 'cl.chart.view'));
