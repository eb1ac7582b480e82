package pgserver

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// dockerProbeTimeout bounds the check for a Docker engine: a docker client
// with no engine behind it must not hold the tests up.
const dockerProbeTimeout = 2 * time.Second

// DockerAvailable reports, within about two seconds, whether a Docker
// engine answers.
func DockerAvailable(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, dockerProbeTimeout)
	defer cancel()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("no Docker engine answered: %w", err)
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		return fmt.Errorf("no Docker engine answered: %w", err)
	}
	return nil
}

func startContainer(ctx context.Context) (*Server, error) {
	if err := DockerAvailable(ctx); err != nil {
		return nil, err
	}
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:        "postgres:15",
			Env:          map[string]string{"POSTGRES_HOST_AUTH_METHOD": "trust"},
			Cmd:          []string{"postgres", "-c", "fsync=off", "-c", "max_connections=400"},
			ExposedPorts: []string{"5432/tcp"},
			WaitingFor: wait.ForLog("database system is ready to accept connections").
				WithOccurrence(2).WithStartupTimeout(readyTimeout),
		},
		Started: true,
	})
	if err != nil {
		return nil, err
	}
	host, err := c.Host(ctx)
	if err != nil {
		_ = c.Terminate(context.Background())
		return nil, err
	}
	port, err := c.MappedPort(ctx, "5432/tcp")
	if err != nil {
		_ = c.Terminate(context.Background())
		return nil, err
	}
	return &Server{
		URL:    fmt.Sprintf("postgres://postgres@%s:%s/postgres?sslmode=disable", host, port.Port()),
		Source: "testcontainers",
		stop:   func(ctx context.Context) error { return c.Terminate(ctx) },
	}, nil
}
