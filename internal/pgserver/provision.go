package pgserver

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// EnsureAppRole creates, if missing, a login role that is neither a
// superuser nor BYPASSRLS nor able to create roles or databases, and makes
// it a member of `authenticated` and of `cl_event_relay` (which the
// migrations create), so that it can act as users and run the event relay.
// This is how a host's application role looks (a host may as well give the
// relay a login role of its own); conn must be a superuser connection.
func EnsureAppRole(ctx context.Context, conn *pgx.Conn, name, password string) error {
	ident := pgx.Identifier{name}.Sanitize()
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1)`, name).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD %s NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT`,
			ident, quoteLiteral(password))); err != nil {
			return err
		}
	}
	_, err := conn.Exec(ctx, `GRANT authenticated, cl_event_relay TO `+ident)
	return err
}

func quoteLiteral(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}
