SELECT t.source, t.code, t.label, t.active FROM public.cl_peer_service_types_for(@organization_id, @source) t
ORDER BY t.source, t.code
