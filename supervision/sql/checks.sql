-- Is the acting user a member, may it record supervision, is the peer a
-- peer specialist and the supervisor a peer supervisor of the organization?
SELECT public.cl_has_org_access(@organization_id) AS member,
       public.cl_has_permission(@organization_id, 'cl.peer.supervision.manage') AS may_record,
       public.cl_staff_holds(@organization_id, @peer_provider_id, 'cl.peer.service.provide') AS peer_ok,
       public.cl_staff_holds(@organization_id, @supervisor_id, 'cl.peer.supervision.supervise') AS supervisor_ok
