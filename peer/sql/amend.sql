-- An addendum or a correction of text, read back as the writing user (the
-- body and reason, which plain SQL cannot read, are what the writer
-- supplied). A correction of billed figures goes through correct.sql.
INSERT INTO public.cl_peer_encounter_amendments (organization_id, peer_encounter_id, chart_id, kind, body, reason, created_by)
VALUES (@organization_id, @peer_encounter_id, @chart_id, @kind, @body, @reason, auth.uid())
RETURNING organization_id, id, peer_encounter_id, chart_id, kind, ''::text AS body, ''::text AS reason, created_by, created_at,
  corrected_service_date, corrected_duration_minutes, corrected_hcpcs_code, corrected_peer_provider_id, billing_seq
