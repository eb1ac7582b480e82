-- The checks that need the database, in one round trip: is the acting
-- user a member of the organization, is the chart the organization's (and
-- visible to the caller), does the provider hold cl.peer.service.provide,
-- may the organization use the service type now (the resolver), may it bill
-- the code on the service date, and is the PM-03 encounter one of its own,
-- of the same chart.
SELECT public.cl_has_org_access(@organization_id) AS member,
       EXISTS (SELECT 1 FROM public.cl_charts c WHERE c.organization_id = @organization_id AND c.id = @chart_id) AS chart_ok,
       public.cl_staff_holds(@organization_id, @peer_provider_id, 'cl.peer.service.provide') AS provider_ok,
       (SELECT t.source FROM public.cl_peer_service_types_for(@organization_id) t
        WHERE t.code = @service_type AND t.active) AS service_type_source,
       public.pf_billing_code_valid(@organization_id, @hcpcs_code, @service_date) AS code_ok,
       public.cl_pm_reference_ok(@organization_id, 'pm_encounters', @encounter_id, @chart_id) AS encounter_ok
