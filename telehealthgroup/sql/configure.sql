INSERT INTO public.cl_group_session_telehealth_metadata (organization_id, session_id, modality, pm_telehealth_session_id,
  vendor_session_ref, contingency_fallback, contingency_contact, jurisdiction_profile, updated_by)
VALUES (@organization_id, @session_id, @modality, @pm_telehealth_session_id, @vendor_session_ref, @contingency_fallback,
  @contingency_contact, @jurisdiction_profile, auth.uid())
ON CONFLICT (organization_id, session_id) DO UPDATE
SET modality = EXCLUDED.modality, pm_telehealth_session_id = coalesce(EXCLUDED.pm_telehealth_session_id,
      public.cl_group_session_telehealth_metadata.pm_telehealth_session_id),
    vendor_session_ref = EXCLUDED.vendor_session_ref, contingency_fallback = EXCLUDED.contingency_fallback,
    contingency_contact = EXCLUDED.contingency_contact, jurisdiction_profile = EXCLUDED.jurisdiction_profile,
    updated_by = EXCLUDED.updated_by
