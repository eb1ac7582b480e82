INSERT INTO public.cl_peer_supervision (organization_id, peer_provider_id, supervisor_id, supervision_date, modality,
  duration_minutes, notes, created_by, updated_by)
VALUES (@organization_id, @peer_provider_id, @supervisor_id, @supervision_date, @modality, @duration_minutes, @notes,
  auth.uid(), auth.uid())
RETURNING id
