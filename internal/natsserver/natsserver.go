// Package natsserver runs an in-process NATS server with JetStream, for the
// tests and the examples, so that no NATS installation is needed.
package natsserver

import (
	"errors"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is a running in-process NATS server.
type Server struct {
	srv *server.Server
	dir string
}

// Start starts a JetStream-enabled server on a random loopback port, with
// its storage in a new temporary directory.
func Start() (*Server, error) {
	dir, err := os.MkdirTemp("", "platform-nats-")
	if err != nil {
		return nil, err
	}
	srv, err := server.NewServer(&server.Options{
		Host:      "127.0.0.1",
		Port:      server.RANDOM_PORT,
		JetStream: true,
		StoreDir:  dir,
		NoLog:     true,
		NoSigs:    true,
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		os.RemoveAll(dir)
		return nil, errors.New("natsserver: not ready within 10s")
	}
	return &Server{srv: srv, dir: dir}, nil
}

// URL is the client URL of the server.
func (s *Server) URL() string { return s.srv.ClientURL() }

// Stop shuts the server down and removes its storage.
func (s *Server) Stop() {
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	os.RemoveAll(s.dir)
}

// EnvURL names the environment variable the examples and the quickstart
// read for the NATS server to use (nats.DefaultURL when it is empty).
const EnvURL = "NATS_URL"

// ForExamples makes the examples of a test binary self-contained: unless
// NATS_URL is set, it starts an in-process server and points NATS_URL at
// it. Call the returned function to stop the server, before checking for
// leaked goroutines (testdb.Main does).
func ForExamples() (stop func(), err error) {
	if os.Getenv(EnvURL) != "" {
		return func() {}, nil
	}
	srv, err := Start()
	if err != nil {
		return nil, err
	}
	if err := os.Setenv(EnvURL, srv.URL()); err != nil {
		srv.Stop()
		return nil, err
	}
	return func() { srv.Stop(); os.Unsetenv(EnvURL) }, nil
}
