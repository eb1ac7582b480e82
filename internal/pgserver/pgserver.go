// Package pgserver finds a PostgreSQL server for the tests and the examples,
// the same way for both, in this order:
//
//  1. DATABASE_URL, a connection string for a role that may create roles
//     and databases and apply the migrations (a superuser, in practice);
//  2. the PostgreSQL binaries on this machine (initdb and postgres on PATH,
//     in `pg_config --bindir`, or in /usr/lib/postgresql/*/bin): a throwaway
//     cluster in a temporary directory, reached over a Unix socket, removed by
//     [Server.Stop] (as root, it runs as the postgres OS user).
//
// With neither, [Start] fails with a message that says how to get one.
//
// There is no container fallback: testcontainers-go brought about 40
// modules (moby, OpenTelemetry) into every build of the tests and the
// quickstart, and a Docker user gets the same server with one `docker run`
// and DATABASE_URL (see [HowToGetOne]).
package pgserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// EnvDatabaseURL names the environment variable [Start] reads first.
const EnvDatabaseURL = "DATABASE_URL"

// Server is a running PostgreSQL server.
type Server struct {
	// URL connects as a superuser (or a role that can create roles and
	// databases) to a maintenance database.
	URL string
	// Source says where the server came from: "DATABASE_URL" or
	// "local binaries (<dir>)".
	Source string
	stop   func(context.Context) error
}

// Stop stops a server that [Start] started; it does nothing for DATABASE_URL.
func (s *Server) Stop(ctx context.Context) error {
	if s == nil || s.stop == nil {
		return nil
	}
	return s.stop(ctx)
}

// Start finds or starts a server. See the package documentation for the order.
func Start(ctx context.Context) (*Server, error) {
	if url := strings.TrimSpace(os.Getenv(EnvDatabaseURL)); url != "" {
		return &Server{URL: url, Source: EnvDatabaseURL}, nil
	}
	var problems []string
	binDir, err := findBinDir()
	if err == nil {
		srv, err := startLocal(ctx, binDir)
		if err == nil {
			return srv, nil
		}
		problems = append(problems, fmt.Sprintf("local binaries in %s: %v", binDir, err))
	} else {
		problems = append(problems, "local binaries: "+err.Error())
	}
	return nil, errors.New("pgserver: no PostgreSQL server could be found or started:\n  - " +
		strings.Join(problems, "\n  - ") + "\n" + HowToGetOne)
}

// HowToGetOne is the advice printed when no server can be had.
const HowToGetOne = `To run the tests or the examples, do one of:
  - set DATABASE_URL to a superuser connection, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres
  - install the PostgreSQL server binaries (PostgreSQL 15 or later; Debian: apt-get install postgresql)
  - with Docker: docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15
    and DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres`

// readyTimeout bounds how long a started server may take to accept connections.
const readyTimeout = 60 * time.Second
