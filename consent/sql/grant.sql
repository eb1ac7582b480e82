-- Record a consent. The guard trigger audits it (part2.consent.granted).
INSERT INTO public.cl_part2_consents (
  organization_id, chart_id, disclosing_organization_id, recipient_user_id, recipient_organization_id,
  record_types, purposes, effective_at, expires_at, expiration_event, signed_at, signer, recorded_by
) VALUES (
  @organization_id, @chart_id, @disclosing_organization_id, @recipient_user_id, @recipient_organization_id,
  @record_types, @purposes, coalesce(@effective_at, pg_catalog.now()), @expires_at, @expiration_event,
  @signed_at, @signer, auth.uid()
)
RETURNING *
