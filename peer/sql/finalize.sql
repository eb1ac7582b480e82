-- Finalize and publish peer_encounter_finalized, in one call (see the
-- migration): the row lock, the checks, the update, the event built from
-- the row, and the row as finalized, as one user.
SELECT * FROM public.cl_peer_encounter_finalize(@organization_id, @id, @event_id, @source, @accounted)
