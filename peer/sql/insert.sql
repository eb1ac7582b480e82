-- A draft. The database resolves the service type's source (PF-15 or the
-- organization's own) and checks the provider, the code and the PM-03
-- encounter (the guard), naming the column it refuses; the insert policy
-- holds @acting_user to auth.uid().
INSERT INTO public.cl_peer_encounters (
  organization_id, site_id, chart_id, encounter_id, peer_provider_id, service_date, start_time, end_time,
  duration_minutes, service_type, hcpcs_code, focus_notes, created_by, updated_by
) VALUES (
  @organization_id, @site_id, @chart_id, @encounter_id, @peer_provider_id, @service_date, @start_time, @end_time,
  @duration_minutes, @service_type, @hcpcs_code, @focus_notes, @acting_user, @acting_user
)

