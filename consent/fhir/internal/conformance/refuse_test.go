package conformance_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/consent/fhir"
	"github.com/encoreos/platform-go/consent/fhir/internal/sample"
)

// The independent parser is a real check: it refuses resources that break
// FHIR R4, so the tests above could fail.
func TestValidatorRefusesBrokenResources(t *testing.T) {
	t.Parallel()
	good, err := fhir.Consent(sample.TreatmentAndPayment())
	require.NoError(t, err)
	requireValidR4(t, "Consent", good)
	for name, change := range map[string]func(map[string]any){
		"no status":                func(r map[string]any) { delete(r, "status") },
		"status outside its codes": func(r map[string]any) { r["status"] = "revoked" },
		"no scope":                 func(r map[string]any) { delete(r, "scope") },
		"patient not a Patient": func(r map[string]any) {
			r["patient"] = map[string]any{"reference": "Practitioner/" + sample.Clinician.String()}
		},
		"provision type not a code": func(r map[string]any) { r["provision"].(map[string]any)["type"] = "allow" },
		"unknown element":           func(r map[string]any) { r["recipient"] = "someone" },
		"bad dateTime":              func(r map[string]any) { r["dateTime"] = "March 1st" },
	} {
		requireRefused(t, good, name, change)
	}

	good, err = fhir.AccountingBundle(sample.Chart, sample.EveryAction())
	require.NoError(t, err)
	requireValidR4(t, "Bundle", good)
	event := func(r map[string]any) map[string]any {
		return r["entry"].([]any)[3].(map[string]any)["resource"].(map[string]any)
	}
	for name, change := range map[string]func(map[string]any){
		"no bundle type":               func(r map[string]any) { delete(r, "type") },
		"an event without recorded":    func(r map[string]any) { delete(event(r), "recorded") },
		"an event without type":        func(r map[string]any) { delete(event(r), "type") },
		"an action outside its codes":  func(r map[string]any) { event(r)["action"] = "X" },
		"an outcome outside its codes": func(r map[string]any) { event(r)["outcome"] = "1" },
		"an agent without requestor": func(r map[string]any) {
			delete(event(r)["agent"].([]any)[0].(map[string]any), "requestor")
		},
		"a source without observer": func(r map[string]any) { delete(event(r)["source"].(map[string]any), "observer") },
		"a detail without type": func(r map[string]any) {
			delete(event(r)["entity"].([]any)[0].(map[string]any)["detail"].([]any)[0].(map[string]any), "type")
		},
		"an observer that is a Consent": func(r map[string]any) {
			event(r)["source"].(map[string]any)["observer"] = map[string]any{"reference": "Consent/" + sample.Consent.String()}
		},
	} {
		requireRefused(t, good, name, change)
	}
}

// requireRefused fails t unless the independent parser refuses good once
// changed.
func requireRefused(t *testing.T, good []byte, name string, change func(map[string]any)) {
	t.Helper()
	var r map[string]any
	require.NoError(t, json.Unmarshal(good, &r))
	change(r)
	broken, err := json.Marshal(r)
	require.NoError(t, err)
	_, err = parseR4(broken)
	require.Error(t, err, "the parser accepts a resource with %s", name)
}
