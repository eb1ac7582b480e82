-- +goose Up
-- HOST STAND-IN: a minimal CL-01 patient chart. No demographics: the library
-- needs only the tenant, the site and whether the chart holds 42 CFR Part 2
-- (substance use disorder program) records. A host with its own chart table
-- leaves this line out and meets CONTRACT.md instead.

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
