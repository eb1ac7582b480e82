package multiparty

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/internal/validate"
)

// Participant fields that reach SQL are either refused or well formed:
// never a name in a code, never a chart on a non-patient.
func FuzzParticipantParams(f *testing.F) {
	f.Add("interpreter", "es", "", false)
	f.Add("family_support", "", "Jane Doe", true)
	f.Add("patient", "zh-Hant", "parent'; --", true)
	f.Fuzz(func(t *testing.T, kind, language, role string, withChart bool) {
		p := ParticipantParams{Kind: ParticipantKind(kind), Language: language, RoleCode: role}
		if withChart {
			p.ChartID = uuid.New()
		}
		err := p.validate()
		if err != nil {
			if !errors.Is(err, validate.ErrInvalid) {
				t.Fatalf("not a validation error: %v", err)
			}
			return
		}
		if (p.ChartID != uuid.Nil) != (p.Kind == Patient) || (role != "" && !roleCode.MatchString(role)) ||
			(language != "" && !languageTag.MatchString(language)) {
			t.Fatalf("accepted %+v", p)
		}
	})
}
