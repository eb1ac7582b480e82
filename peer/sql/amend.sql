INSERT INTO public.cl_peer_encounter_amendments (organization_id, peer_encounter_id, chart_id, kind, body, reason, created_by)
VALUES (@organization_id, @peer_encounter_id, @chart_id, @kind, @body, @reason, auth.uid())
RETURNING id
