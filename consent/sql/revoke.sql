-- Revoke a consent now. The guard trigger refuses a second revocation and
-- audits this one (part2.consent.revoked).
UPDATE public.cl_part2_consents
SET revoked_at = pg_catalog.statement_timestamp(), revoked_by = (SELECT auth.uid())
WHERE organization_id = @organization_id AND id = @id
RETURNING *
