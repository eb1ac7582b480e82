-- A correction of billed figures and its peer_encounter_corrected (built
-- by the database), written by one definer call (the caller supplied the
-- body and reason it returns).
SELECT organization_id, id, peer_encounter_id, chart_id, kind, body, reason, created_by, created_at,
  corrected_service_date, corrected_duration_minutes, corrected_hcpcs_code, corrected_peer_provider_id, billing_seq
FROM public.cl_peer_encounter_correct(@organization_id, @id, @amendment_id, @body, @reason, @service_date,
  @duration_minutes, @hcpcs_code, @peer_provider_id, @event_id, @source)
