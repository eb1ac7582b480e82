-- The report's first step and its audit row: why it is refused, or NULL.
SELECT public.hr_productivity_request(@organization_id, @period_start, @period_end, @site_id, @provider_id)
