// Package consenttest helps hosts test code that asks a [consent.Checker]:
// [Checker] is an in-memory fake that answers like the PostgreSQL checker
// and records every request, and [RunCheckerSuite] is the conformance suite
// every Checker (the fake, [consent.Client], a host's own) passes.
package consenttest

import (
	"context"
	"slices"
	"sync"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/consent"
)

// Checker is a fake [consent.Checker]. Charts are unknown (and denied) until
// added with [Checker.AddChart]; a Part 2 chart is allowed only for the
// record types granted to a user with [Checker.Grant]. It validates requests
// exactly as the real checker does. Safe for concurrent use.
type Checker struct {
	mu       sync.Mutex
	charts   map[uuid.UUID]bool // chart -> is Part 2
	grants   map[grantKey][]consent.RecordType
	requests []consent.Request
}

type grantKey struct{ chart, user uuid.UUID }

// NewChecker returns an empty fake.
func NewChecker() *Checker {
	return &Checker{charts: map[uuid.UUID]bool{}, grants: map[grantKey][]consent.RecordType{}}
}

var _ consent.Checker = (*Checker)(nil)

// AddChart makes a chart known; part2 says whether it holds Part 2 records.
func (c *Checker) AddChart(chart uuid.UUID, part2 bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.charts[chart] = part2
}

// Grant gives user a consent to chart's records of the given types
// ([consent.AllRecords] covers all but SUD counseling notes).
func (c *Checker) Grant(chart, user uuid.UUID, types ...consent.RecordType) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := grantKey{chart, user}
	c.grants[k] = append(c.grants[k], types...)
}

// Revoke removes every consent user has to chart.
func (c *Checker) Revoke(chart, user uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.grants, grantKey{chart, user})
}

// Check answers req.
func (c *Checker) Check(_ context.Context, req consent.Request) (consent.Decision, error) {
	if err := req.Validate(); err != nil {
		return consent.Decision{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests = append(c.requests, req)
	part2, known := c.charts[req.ChartID]
	switch {
	case !known:
		return consent.Decision{Basis: consent.BasisDenied}, nil
	case !part2:
		return consent.Decision{Allowed: true, Basis: consent.BasisNotPart2}, nil
	}
	granted := c.grants[grantKey{req.ChartID, req.ActingUser}]
	if slices.Contains(granted, req.RecordType) ||
		(req.RecordType != consent.RecordSUDCounselingNote && slices.Contains(granted, consent.AllRecords)) {
		return consent.Decision{Allowed: true, Basis: consent.BasisConsent}, nil
	}
	return consent.Decision{Basis: consent.BasisDenied}, nil
}

// Requests returns every valid request asked so far, in order.
func (c *Checker) Requests() []consent.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.requests)
}
