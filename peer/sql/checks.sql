-- The checks that need the database, in one round trip: is the acting
-- user a member of the organization, is the chart the organization's, is
-- the provider a
-- peer specialist of the organization, may the organization use the service
-- type now (the resolver), and may it bill the code on the service date.
SELECT public.cl_has_org_access(@organization_id) AS member,
       EXISTS (SELECT 1 FROM public.cl_charts c WHERE c.organization_id = @organization_id AND c.id = @chart_id) AS chart_ok,
       public.cl_member_has_role(@organization_id, @peer_provider_id, 'peer_specialist') AS provider_ok,
       (SELECT t.source FROM public.cl_peer_service_types_for(@organization_id) t
        WHERE t.code = @service_type AND t.active) AS service_type_source,
       public.pf_billing_code_valid(@organization_id, @hcpcs_code, @service_date) AS code_ok
