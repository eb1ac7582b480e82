// Package schema holds the library's SQL migrations and applies them.
//
// # Files
//
// Two migration lines, applied in this order: the host stand-ins in
// [HostStandIns] (the directory schema/host: minimal tables for the records
// other cores own, PF-01/PF-02/PF-30, CL-01, CL-04, CL-14, PM-03 and PM-13,
// which a host with its own tables leaves out, meeting host/CONTRACT.md
// instead), then the library's in [Migrations] (schema/migrations,
// including the library's rules over those tables). Both are forward-only
// files named NNNN_name.up.sql, each beginning with goose's "-- +goose Up"
// line, with function bodies wrapped in goose's StatementBegin/StatementEnd
// comments. The same files therefore serve golang-migrate, goose, tern and
// psql (each line with its own bookkeeping table), as well as [Migrate] and
// [MigrateLibrary].
//
// # Privileges
//
// Apply the migrations as a superuser or a role with BYPASSRLS (on Supabase:
// postgres). Every table forces row-level security, and the SECURITY DEFINER
// helpers run as the migrating role. The first migration checks this and
// stops with a clear error otherwise.
//
// Applications then connect as a login role that is a member of the
// `authenticated` role the migrations create (like Supabase's authenticator):
//
//	CREATE ROLE app LOGIN PASSWORD '...' NOINHERIT;
//	GRANT authenticated TO app;
//
// # Checking a database
//
// [ReadStatus] compares the migrations a database has applied with this
// library's, by version and file name. [Doctor] checks what the schema
// must guarantee on a host's database (roles, login roles that row-level
// security applies to, forced row-level security, the access helpers,
// every SECURITY DEFINER function) and returns each problem with the
// statement that fixes it. The operator's CLI runs both: platform version,
// platform verify and platform doctor (cmd/platform).
package schema
