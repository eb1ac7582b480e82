// Package platformtest gives a host's tests what the library's own tests
// use: an isolated, migrated PostgreSQL database per test, a pool that
// connects as an application role row-level security applies to, the
// acting-user transaction, and fixtures for what a host provides
// (organizations, sites, members and their roles, charts).
//
//	func TestMain(m *testing.M) { os.Exit(platformtest.Run(m)) }
//
//	func TestSomething(t *testing.T) {
//		t.Parallel()
//		db := platformtest.NewDB(t)
//		org := db.NewOrg(t)
//		clinician := db.NewMember(t, org, "clinician")
//		peers, err := peer.New(db.App, nil)
//		...
//	}
//
// # The server
//
// The first [NewDB] of a test binary finds PostgreSQL in this order:
//
//  1. DATABASE_URL, a connection string for a superuser (the harness
//     creates roles and databases; the migrations need a superuser or
//     BYPASSRLS);
//  2. the PostgreSQL server binaries on the machine (initdb and postgres on
//     PATH, in `pg_config --bindir` or in /usr/lib/postgresql/*/bin): a
//     throwaway cluster in /tmp/platform-pg-*, reached over a Unix socket,
//     with fsync off, and removed by [Run] (as root, it runs as the postgres
//     OS user).
//
// With neither, the test fails with a message that says how to get one
// (with Docker: `docker run -e POSTGRES_HOST_AUTH_METHOD=trust -p
// 5432:5432 postgres:15` and DATABASE_URL). Under -short, [NewDB] skips
// the test instead.
//
// # The databases
//
// The first [NewDB] also creates a template database migrated with
// [schema.Migrate], one per version of the migrations (a long-lived server
// keeps it, IS_TEMPLATE, for the next run), and the login role [AppRole]:
// not a superuser, owner of no table, no BYPASSRLS, a member of
// `authenticated` and `cl_event_relay`, as a host's application role is.
// Every [NewDB] clones the template (tens of milliseconds) and drops the
// clone when the test ends. Every connection has an empty search_path, so
// an unqualified name fails at once instead of resolving somewhere
// unexpected.
//
// [DB.App] connects as [AppRole]: give it to the library's clients and
// assert access through it. [DB.Admin] is the superuser: use it to arrange
// fixtures, as a host's own provisioning would, never to assert access.
//
// # Examples and programs
//
// An Example function has no *testing.T: [NewT] gives it a [testing.TB]
// whose failures panic, and whose Close runs the cleanups.
package platformtest
