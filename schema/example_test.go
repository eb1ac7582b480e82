package schema_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/encoreos/platform-go/platformtest"
	"github.com/encoreos/platform-go/schema"
)

// A host checks its database after migrating, as the migrating role,
// naming the login roles its application and relay connect as; each
// finding carries the statement that fixes it.
func ExampleDoctor() {
	t := platformtest.NewT() // in a test, the test's own t
	defer t.Close()
	db := platformtest.NewDB(t)
	ctx := context.Background()
	cfg := &schema.DoctorConfig{AppRoles: []string{platformtest.AppRole}, RelayRoles: []string{platformtest.AppRole}}

	findings, err := schema.Doctor(ctx, db.Admin, cfg)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(findings), "findings")

	// Someone turns off FORCE on a table: its owner now reads around the policies.
	if _, err := db.Admin.Exec(ctx, `ALTER TABLE public.cl_charts NO FORCE ROW LEVEL SECURITY`); err != nil {
		panic(err)
	}
	findings, err = schema.Doctor(ctx, db.Admin, cfg)
	if err != nil {
		panic(err)
	}
	for _, f := range findings {
		fmt.Println(f)
	}
	// Output:
	// 0 findings
	// rls: row-level security is not forced on public.cl_charts: its owner reads around the policies
	//   fix: ALTER TABLE public.cl_charts FORCE ROW LEVEL SECURITY;
}

// Which migrations a database has applied, against this library's.
func ExampleReadStatus() {
	t := platformtest.NewT()
	defer t.Close()
	db := platformtest.NewDB(t)
	s, err := schema.ReadStatus(context.Background(), db.Admin)
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Current(), s.Version() == s.Latest, len(s.Pending))
	// Output: true true 0
}

// A host that lets the library migrate calls Migrate at start-up, as a
// superuser (or BYPASSRLS) role: it applies what is missing, in order, and
// nothing the second time. The application's own role may not migrate.
func ExampleMigrate() {
	t := platformtest.NewT() // in a test, the test's own t
	defer t.Close()
	cfg := platformtest.NewEmptyDB(t) // an empty database and its superuser
	ctx := context.Background()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		panic(err)
	}
	defer conn.Close(ctx)

	migrations, err := schema.List()
	if err != nil {
		panic(err)
	}
	first, err := schema.Migrate(ctx, conn)
	if err != nil {
		panic(err)
	}
	again, err := schema.Migrate(ctx, conn)
	if err != nil {
		panic(err)
	}
	fmt.Println("applied all:", len(first.Applied) == len(migrations), "then:", len(again.Applied))

	// The application's role, which row-level security applies to.
	if _, err := conn.Exec(ctx, `SET ROLE `+platformtest.AppRole); err != nil {
		panic(err)
	}
	_, err = schema.Migrate(ctx, conn)
	fmt.Println(errors.Is(err, schema.ErrInsufficientPrivilege))
	// Output:
	// applied all: true then: 0
	// true
}
