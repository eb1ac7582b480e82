-- The accounting of a read or write of encounters (by id), committed in a
-- transaction of its own before it (@use is display for a read, save for
-- the read before a write).
SELECT public.cl_peer_encounters_disclose(@organization_id, @ids, @use)
