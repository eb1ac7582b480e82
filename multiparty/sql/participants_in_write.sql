-- An encounter's participants, oldest first, read in a transaction that
-- writes them, through the participants' policy row by row: on Citus a
-- transaction may not read as the definer (participants.sql) the
-- placements the caller has just written (README, "Scale-out on Citus").
-- Both give the policy's answer (TestParticipantsGiveThePolicysAnswer).
SELECT * FROM public.cl_multi_party_participants WHERE organization_id = @organization_id AND encounter_id = @id
ORDER BY created_at, id
