-- The login roles that are members of $1 through grants (superusers are
-- members of every role without one, so only a grant counts), except the
-- role running the doctor (the migrating role).
WITH RECURSIVE up(role, via) AS (
  SELECT r.oid, r.oid FROM pg_catalog.pg_roles r WHERE r.rolcanlogin AND r.rolname <> current_user
  UNION
  SELECT up.role, m.roleid FROM up JOIN pg_catalog.pg_auth_members m ON m.member = up.via
)
SELECT DISTINCT r.rolname::text
FROM up JOIN pg_catalog.pg_roles r ON r.oid = up.role JOIN pg_catalog.pg_roles t ON t.oid = up.via
WHERE t.rolname = $1
ORDER BY 1
