INSERT INTO public.cl_multi_party_participants (organization_id, encounter_id, kind, chart_id, member_user_id, language,
  role_code, joined_at, created_by)
VALUES (@organization_id, @encounter_id, @kind, @chart_id, @member_user_id, @language, @role_code, @joined_at, auth.uid())
