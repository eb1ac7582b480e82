package pgserver

import (
	"context"
	"sync"
	"time"
)

// sharedStartTimeout bounds the first [Shared]: initdb and the first start
// of a cluster on a busy machine.
const sharedStartTimeout = 3 * time.Minute

var shared struct {
	sync.Mutex
	srv  *Server
	err  error
	done bool
}

// Shared returns the process's server, finding or starting it with [Start]
// on the first call; every later call returns the same server (or the same
// error) until [StopShared].
func Shared() (*Server, error) {
	shared.Lock()
	defer shared.Unlock()
	if !shared.done {
		ctx, cancel := context.WithTimeout(context.Background(), sharedStartTimeout)
		defer cancel()
		shared.srv, shared.err = Start(ctx)
		shared.done = true
	}
	return shared.srv, shared.err
}

// StopShared stops the server [Shared] started, if any (a DATABASE_URL
// server is left alone), and lets the next [Shared] start a new one.
func StopShared(ctx context.Context) error {
	shared.Lock()
	defer shared.Unlock()
	srv := shared.srv
	shared.srv, shared.err, shared.done = nil, nil, false
	return srv.Stop(ctx)
}
