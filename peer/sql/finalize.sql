-- Finalize and publish peer_encounter_finalized, in one call (see the
-- migration): the row lock, the checks, the update and the event, as one
-- user.
SELECT public.cl_peer_encounter_finalize(@organization_id, @id, @idempotency_key, @envelope)
