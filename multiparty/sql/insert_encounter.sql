-- No RETURNING: the id comes from the caller, so the insert is not checked
-- against the SELECT policy before the row exists.
INSERT INTO public.cl_multi_party_encounters (organization_id, id, site_id, kind, modality, pm_telehealth_session_id,
  lead_clinician_id, started_at, summary, created_by, updated_by)
VALUES (@organization_id, @id, @site_id, @kind, @modality, @pm_telehealth_session_id, @lead_clinician_id, @started_at, @summary,
  auth.uid(), auth.uid())
