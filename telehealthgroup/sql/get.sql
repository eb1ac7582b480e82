SELECT m.organization_id, m.session_id, m.modality, m.pm_telehealth_session_id, m.vendor_session_ref,
       m.contingency_fallback, m.contingency_contact, m.jurisdiction_profile, m.state, m.started_at, m.concluded_at,
       s.facilitator_id, m.start_correlation_id, m.conclude_correlation_id
FROM public.cl_group_session_telehealth_metadata m
JOIN public.cl_group_sessions s ON s.organization_id = m.organization_id AND s.id = m.session_id
WHERE m.organization_id = @organization_id AND m.session_id = @session_id
