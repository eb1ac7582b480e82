INSERT INTO public.cl_group_technology_failures (organization_id, session_id, kind, started_at, ended_at,
  affected_participant_count, action_taken, affected_attendance_id, recorded_by)
VALUES (@organization_id, @session_id, @kind, @started_at, @ended_at, @affected_participant_count, @action_taken,
  @affected_attendance_id, auth.uid())
RETURNING *
