-- A draft, in one call (see the migration): the insert as the caller, the
-- guard's checks (the service type's source resolved, the provider, the
-- code and the PM-03 encounter checked, each refusal naming its column),
-- the insert policy's rule, and the row as written.
SELECT * FROM public.cl_peer_encounter_create(@organization_id, @site_id, @chart_id, @encounter_id, @peer_provider_id,
  @service_date, @start_time, @end_time, @duration_minutes, @service_type, @hcpcs_code, @focus_notes, @accounted)
