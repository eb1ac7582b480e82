package consent

import (
	"context"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/internal/validate"
)

// Request asks whether the acting user may use one chart's records of one
// type, for a purpose.
type Request struct {
	// ActingUser is the user asking. Required.
	ActingUser uuid.UUID
	// ChartID is the chart. Required.
	ChartID uuid.UUID
	// RecordType is the kind of record. Required; not [AllRecords].
	RecordType RecordType
	// Purpose is why; zero means [PurposeTreatment].
	Purpose Purpose
	// Use is what the caller is about to do; zero means [UseDisplay].
	Use Use
}

var uses = []Use{UseDisplay, UseSave, UseExport, UseAI}

// Validate checks the request the way every [Checker] does, and fills in the
// defaults.
func (r *Request) Validate() error {
	if r.ActingUser == uuid.Nil {
		return ErrNoActingUser
	}
	if err := validate.Required("ChartID", r.ChartID); err != nil {
		return err
	}
	if !r.RecordType.Valid() {
		return validate.Errorf("RecordType", "is not a record type a request can name")
	}
	if r.Purpose == "" {
		r.Purpose = PurposeTreatment
	}
	if r.Purpose != PurposeEmergencyTreatment && !contains(consentablePurposes(), r.Purpose) {
		return validate.Errorf("Purpose", "is not a known purpose of use")
	}
	if r.Use == "" {
		r.Use = UseDisplay
	}
	if !contains(uses, r.Use) {
		return validate.Errorf("Use", "must be display, save, export or ai")
	}
	return nil
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Basis says why a request was allowed, or that it was denied.
type Basis string

// The bases of a decision.
const (
	// BasisNotPart2: the chart holds no Part 2 records; org access suffices.
	BasisNotPart2 Basis = "not_part2"
	// BasisConsent: a current consent covers the user and the record type.
	BasisConsent Basis = "consent"
	// BasisEmergency: the user has a current medical-emergency access.
	BasisEmergency Basis = "emergency"
	// BasisDenied: not allowed. The same answer is given whether or not the
	// chart or a consent exists.
	BasisDenied Basis = "denied"
)

// Decision is a [Checker]'s answer.
type Decision struct {
	Allowed bool
	Basis   Basis
}

// Checker is the hook hosts call before they display, save, export or hand
// to AI any record of a chart that may hold Part 2 data. [Client] is the
// PostgreSQL implementation (it audits every decision about a Part 2
// chart); consenttest.Checker is a fake for hosts' tests.
//
// An invalid request returns an error matching [ErrInvalid] or
// [ErrNoActingUser]; a denial is not an error.
type Checker interface {
	Check(ctx context.Context, req Request) (Decision, error)
}

// decision turns a basis into a Decision.
func decision(b Basis) Decision { return Decision{Allowed: b != BasisDenied, Basis: b} }
