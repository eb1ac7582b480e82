package schema_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/encoreos/platform-go/platformtest"
	"github.com/encoreos/platform-go/schema"
)

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
