INSERT INTO public.cl_multi_party_encounters (organization_id, site_id, kind, modality, pm_telehealth_session_id,
  lead_clinician_id, started_at, summary, created_by, updated_by)
VALUES (@organization_id, @site_id, @kind, @modality, @pm_telehealth_session_id, @lead_clinician_id, @started_at, @summary,
  auth.uid(), auth.uid())
RETURNING id
