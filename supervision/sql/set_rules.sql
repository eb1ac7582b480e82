INSERT INTO public.cl_peer_supervision_rules (organization_id, rules, updated_by)
VALUES (@organization_id, @rules, auth.uid())
ON CONFLICT (organization_id) DO UPDATE SET rules = EXCLUDED.rules, updated_by = EXCLUDED.updated_by
