-- Edit a draft. The guard trigger refuses a finalized encounter.
UPDATE public.cl_peer_encounters
SET site_id = @site_id, encounter_id = @encounter_id, peer_provider_id = @peer_provider_id,
    service_date = @service_date, start_time = @start_time, end_time = @end_time,
    duration_minutes = @duration_minutes, service_type = @service_type,
    hcpcs_code = @hcpcs_code, focus_notes = @focus_notes,
    updated_by = (SELECT auth.uid()), updated_at = pg_catalog.now()
WHERE organization_id = @organization_id AND id = @id

