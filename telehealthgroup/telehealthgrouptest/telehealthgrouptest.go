// Package telehealthgrouptest has fakes for hosts' tests of code that uses
// package telehealthgroup.
package telehealthgrouptest

import (
	"context"
	"sync"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/telehealthgroup"
)

// Scheduling is a fake [telehealthgroup.Scheduling]: sessions it was not
// told about are "live" with no schedule. Safe for concurrent use.
type Scheduling struct {
	mu       sync.Mutex
	sessions map[uuid.UUID]telehealthgroup.SessionContext
	asked    []uuid.UUID
}

// NewScheduling returns an empty fake.
func NewScheduling() *Scheduling {
	return &Scheduling{sessions: map[uuid.UUID]telehealthgroup.SessionContext{}}
}

var _ telehealthgroup.Scheduling = (*Scheduling)(nil)

// Set tells the fake a session's context.
func (s *Scheduling) Set(sessionID uuid.UUID, c telehealthgroup.SessionContext) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[sessionID] = c
}

// SessionContext implements telehealthgroup.Scheduling.
func (s *Scheduling) SessionContext(_ context.Context, _, sessionID uuid.UUID) (telehealthgroup.SessionContext, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, sessionID)
	if c, ok := s.sessions[sessionID]; ok {
		return c, nil
	}
	return telehealthgroup.SessionContext{TelehealthStatus: "live"}, nil
}

// Asked returns the sessions asked about, in order.
func (s *Scheduling) Asked() []uuid.UUID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]uuid.UUID(nil), s.asked...)
}

// Notifier is a fake [telehealthgroup.Notifier] that records notices and
// can be told to fail.
type Notifier struct {
	mu      sync.Mutex
	notices []telehealthgroup.FailureNotice
	err     error
}

var _ telehealthgroup.Notifier = (*Notifier)(nil)

// Fail makes every later notification fail with err (nil: succeed).
func (n *Notifier) Fail(err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.err = err
}

// TechnologyFailure implements telehealthgroup.Notifier.
func (n *Notifier) TechnologyFailure(_ context.Context, notice telehealthgroup.FailureNotice) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.err != nil {
		return n.err
	}
	n.notices = append(n.notices, notice)
	return nil
}

// Notices returns the notices received, in order.
func (n *Notifier) Notices() []telehealthgroup.FailureNotice {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]telehealthgroup.FailureNotice(nil), n.notices...)
}
