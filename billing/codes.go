package billing

import (
	"regexp"
	"time"
)

// Code is a billing code from a code system, with its unit.
type Code struct {
	// System is the code system, e.g. "HCPCS".
	System string
	// Code is the code, e.g. "H0038".
	Code string
	// Descriptor is the code's short description.
	Descriptor string
	// UnitMinutes is the length of one unit for a timed code (15 for
	// "per 15 minutes"); zero for an untimed code.
	UnitMinutes int
	// EffectiveFrom and EffectiveTo bound when the code may be billed; a
	// zero EffectiveTo means open-ended.
	EffectiveFrom time.Time
	EffectiveTo   time.Time
}

// HCPCS is the code system of the peer and psychosocial codes.
const HCPCS = "HCPCS"

// The national codes the library knows.
var (
	// H0038: self-help/peer services, per 15 minutes.
	H0038 = Code{System: HCPCS, Code: "H0038", Descriptor: "Self-help/peer services, per 15 minutes", UnitMinutes: 15,
		EffectiveFrom: time.Date(2003, 1, 1, 0, 0, 0, 0, time.UTC)}
	// H2017: psychosocial rehabilitation services, per 15 minutes.
	H2017 = Code{System: HCPCS, Code: "H2017", Descriptor: "Psychosocial rehabilitation services, per 15 minutes", UnitMinutes: 15,
		EffectiveFrom: time.Date(2003, 1, 1, 0, 0, 0, 0, time.UTC)}
)

// Standard returns the national codes the library knows.
func Standard() []Code { return []Code{H0038, H2017} }

// EffectiveOn reports whether c may be billed on date (compared as
// calendar dates).
func (c Code) EffectiveOn(date time.Time) bool {
	d := dateOnly(date)
	return !d.Before(dateOnly(c.EffectiveFrom)) && (c.EffectiveTo.IsZero() || !d.After(dateOnly(c.EffectiveTo)))
}

func dateOnly(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

var codeShape = regexp.MustCompile(`^[A-Z0-9][A-Z0-9.]{1,9}$`)

// WellFormed reports whether s has the shape of a HCPCS/CPT or local
// procedure code: 2 to 10 upper-case letters, digits or dots.
func WellFormed(s string) bool { return codeShape.MatchString(s) }
