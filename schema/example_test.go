package schema_test

import (
	"context"
	"fmt"

	"github.com/encoreos/platform-go/internal/testdb"
	"github.com/encoreos/platform-go/schema"
)

// A host checks its database after migrating, as the migrating role,
// naming the login roles its application and relay connect as; each
// finding carries the statement that fixes it.
func ExampleDoctor() {
	db, _, done := testdb.ForExample()
	defer done()
	ctx := context.Background()
	cfg := &schema.DoctorConfig{AppRoles: []string{testdb.AppRole}, RelayRoles: []string{testdb.AppRole}}

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
	db, _, done := testdb.ForExample()
	defer done()
	s, err := schema.ReadStatus(context.Background(), db.Admin)
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Current(), s.Version() == s.Latest, len(s.Pending))
	// Output: true true 0
}
