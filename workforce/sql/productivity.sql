SELECT * FROM public.get_provider_productivity(@organization_id, @period_start, @period_end, @site_id, @provider_id)
