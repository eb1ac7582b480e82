// Package workforcetest has a fake workforce.Reader for the HR service's
// own tests.
package workforcetest

import (
	"context"
	"sync"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/workforce"
)

// Reader is a fake [workforce.Reader]: it returns the summaries it was
// given for an organization, filtered by provider and site, and denies
// users it was told to deny. Safe for concurrent use.
type Reader struct {
	mu        sync.Mutex
	summaries map[uuid.UUID][]workforce.ProviderProductivitySummary
	denied    map[uuid.UUID]bool
	calls     int
}

// NewReader returns an empty fake.
func NewReader() *Reader {
	return &Reader{summaries: map[uuid.UUID][]workforce.ProviderProductivitySummary{}, denied: map[uuid.UUID]bool{}}
}

var _ workforce.Reader = (*Reader)(nil)

// Set gives the fake an organization's summaries.
func (r *Reader) Set(organizationID uuid.UUID, s ...workforce.ProviderProductivitySummary) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.summaries[organizationID] = s
}

// Deny makes every call by user fail with workforce.ErrPermissionDenied.
func (r *Reader) Deny(user uuid.UUID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.denied[user] = true
}

// Calls returns how many calls were made.
func (r *Reader) Calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// GetProviderProductivity implements workforce.Reader.
func (r *Reader) GetProviderProductivity(_ context.Context, actingUser, organizationID uuid.UUID, opts workforce.Options) ([]workforce.ProviderProductivitySummary, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if actingUser == uuid.Nil {
		return nil, workforce.ErrNoActingUser
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if r.denied[actingUser] {
		return nil, workforce.ErrPermissionDenied
	}
	var out []workforce.ProviderProductivitySummary
	for _, s := range r.summaries[organizationID] {
		if (opts.ProviderID == uuid.Nil || s.ProviderID == opts.ProviderID) &&
			(opts.SiteID == uuid.Nil || (s.SiteID != nil && *s.SiteID == opts.SiteID)) {
			out = append(out, s)
		}
	}
	return out, nil
}
