package conformance_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// The FHIRPath invariants of the resources written that Google's parser
// does not evaluate, checked on every golden file: ppc-1 (a consent has a
// policy or a policy rule), ppc-2 (a privacy consent names the patient),
// bdl-7 (fullUrls are unique in a bundle), sev-1 (an audited entity has a
// name or a query, not both).
func TestInvariantsTheParserSkips(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		var r struct {
			ResourceType string
			Policy       []any
			PolicyRule   any
			Patient      *struct{ Reference string }
			Scope        struct{ Coding []struct{ Code string } }
			Entry        []struct {
				FullURL  string
				Resource struct {
					Entity []struct {
						Name  *string
						Query *string
					}
				}
			}
		}
		require.NoError(t, json.Unmarshal(data, &r), file)
		switch r.ResourceType {
		case "Consent":
			require.True(t, len(r.Policy) > 0 || r.PolicyRule != nil, "ppc-1 in %s", file)
			require.Equal(t, "patient-privacy", r.Scope.Coding[0].Code)
			require.NotNil(t, r.Patient, "ppc-2 in %s", file)
		case "Bundle":
			require.NotEmpty(t, r.Entry, file)
			seen := map[string]bool{}
			for _, e := range r.Entry {
				require.False(t, seen[e.FullURL], "bdl-7 in %s", file)
				seen[e.FullURL] = true
				for _, en := range e.Resource.Entity {
					require.False(t, en.Name != nil && en.Query != nil, "sev-1 in %s", file)
				}
			}
		default:
			t.Fatalf("%s holds a %q", file, r.ResourceType)
		}
	}
}
