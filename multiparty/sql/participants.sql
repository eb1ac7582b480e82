-- An encounter's participants, oldest first: the participants' policy
-- (cl_multi_party_readable) asked once for the encounter inside
-- cl_multi_party_participants_of (see migration 0009), not once per row.
SELECT * FROM public.cl_multi_party_participants_of(@organization_id, @id)
