INSERT INTO public.cl_peer_encounters (
  organization_id, site_id, chart_id, encounter_id, peer_provider_id, service_date, start_time, end_time,
  duration_minutes, service_type, service_type_source, hcpcs_code, focus_notes, created_by, updated_by
) VALUES (
  @organization_id, @site_id, @chart_id, @encounter_id, @peer_provider_id, @service_date, @start_time, @end_time,
  @duration_minutes, @service_type, @service_type_source, @hcpcs_code, @focus_notes, auth.uid(), auth.uid()
)
RETURNING id
