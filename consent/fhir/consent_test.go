package fhir_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/consent/fhir"
)

// Fixed ids, so that the golden files are stable.
var (
	orgID       = uuid.MustParse("0d9a3b52-7c1e-4f7a-9d55-1f0c3a6b2e01")
	chartID     = uuid.MustParse("5f1c2e9a-8b3d-4c6e-a7f0-2d4b6c8e0a12")
	consentID   = uuid.MustParse("a3e5c7b9-1d2f-4a6b-8c0e-3f5a7b9c1d23")
	clinicianID = uuid.MustParse("c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8")
	officerID   = uuid.MustParse("e0f1a2b3-c4d5-4e6f-9a0b-1c2d3e4f5a6b")
	partnerID   = uuid.MustParse("b7c8d9e0-f1a2-4b3c-8d4e-5f6a7b8c9d0e")
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// treatmentAndPayment is a consent to disclose peer encounters and progress
// notes to one clinician, for treatment and payment, for a year.
func treatmentAndPayment() consent.Consent {
	return consent.Consent{
		OrganizationID:           orgID,
		ID:                       consentID,
		ChartID:                  chartID,
		DisclosingOrganizationID: orgID,
		RecipientUserID:          &clinicianID,
		RecordTypes:              []consent.RecordType{consent.RecordPeerEncounter, consent.RecordProgressNote},
		Purposes:                 []consent.Purpose{consent.PurposeTreatment, consent.PurposePayment},
		EffectiveAt:              at("2026-03-02T09:00:00Z"),
		ExpiresAt:                new(at("2027-03-02T09:00:00Z")),
		SignedAt:                 at("2026-03-01T15:30:12.345678Z"),
		Signer:                   consent.SignerPatient,
		RecordedBy:               officerID,
		RecordedAt:               at("2026-03-01T15:41:00.5Z"),
	}
}

// revokedToOrganization is a consent to disclose every record (counseling
// notes aside) to a partner organization for operations, until the end of
// treatment, signed by a personal representative, then revoked.
func revokedToOrganization() consent.Consent {
	return consent.Consent{
		OrganizationID:          orgID,
		ID:                      consentID,
		ChartID:                 chartID,
		RecipientOrganizationID: &partnerID,
		RecordTypes:             []consent.RecordType{consent.AllRecords},
		Purposes:                []consent.Purpose{consent.PurposeOperations},
		EffectiveAt:             at("2026-01-05T00:00:00Z"),
		ExpirationEvent:         new("end_of_treatment"),
		SignedAt:                at("2026-01-04T18:00:00Z"),
		Signer:                  consent.SignerPersonalRepresentative,
		RecordedBy:              officerID,
		RecordedAt:              at("2026-01-04T18:05:00Z"),
		RevokedAt:               new(at("2026-02-10T11:12:13Z")),
		RevokedBy:               &officerID,
	}
}

func TestConsentGolden(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]consent.Consent{
		"consent_treat_payment.json":   treatmentAndPayment(),
		"consent_revoked_all_org.json": revokedToOrganization(),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data, err := fhir.Consent(c)
			require.NoError(t, err)
			requireValidR4(t, "Consent", data)
			requireGolden(t, name, data)
		})
	}
}

// consentView is what the tests read back from a Consent resource.
type consentView struct {
	Status    string
	Patient   struct{ Reference string }
	Provision struct {
		Type   string
		Period struct{ Start, End string }
		Actor  []struct {
			Role      struct{ Coding []struct{ Code string } }
			Reference struct{ Reference string }
		}
		Purpose   []struct{ System, Code string }
		Class     []struct{ System, Code string }
		Provision []struct {
			Type  string
			Class []struct{ Code string }
		}
	}
}

func readConsent(t *testing.T, c consent.Consent) consentView {
	t.Helper()
	data, err := fhir.Consent(c)
	require.NoError(t, err)
	var v consentView
	require.NoError(t, json.Unmarshal(data, &v))
	return v
}

func TestConsentMapsEveryField(t *testing.T) {
	t.Parallel()
	v := readConsent(t, treatmentAndPayment())
	require.Equal(t, "active", v.Status)
	require.Equal(t, "Patient/"+chartID.String(), v.Patient.Reference)
	require.Equal(t, "permit", v.Provision.Type)
	require.Equal(t, "2026-03-02T09:00:00Z", v.Provision.Period.Start)
	require.Equal(t, "2027-03-02T09:00:00Z", v.Provision.Period.End)
	require.Len(t, v.Provision.Actor, 2)
	require.Equal(t, "CST", v.Provision.Actor[0].Role.Coding[0].Code)
	require.Equal(t, "Organization/"+orgID.String(), v.Provision.Actor[0].Reference.Reference)
	require.Equal(t, "IRCP", v.Provision.Actor[1].Role.Coding[0].Code)
	require.Equal(t, "Practitioner/"+clinicianID.String(), v.Provision.Actor[1].Reference.Reference)
	var purposes, classes []string
	for _, p := range v.Provision.Purpose {
		require.Equal(t, "http://terminology.hl7.org/CodeSystem/v3-ActReason", p.System)
		purposes = append(purposes, p.Code)
	}
	for _, c := range v.Provision.Class {
		require.Equal(t, fhir.RecordTypeSystem, c.System)
		classes = append(classes, c.Code)
	}
	require.Equal(t, []string{"TREAT", "HPAYMT"}, purposes)
	require.Equal(t, []string{"peer_encounter", "progress_note"}, classes)
	require.Empty(t, v.Provision.Provision)

	v = readConsent(t, revokedToOrganization())
	require.Equal(t, "inactive", v.Status, "a revoked consent is inactive")
	require.Equal(t, "Organization/"+partnerID.String(), v.Provision.Actor[1].Reference.Reference)
	require.Empty(t, v.Provision.Class, "all records: no class")
	require.Len(t, v.Provision.Provision, 1, "all records never cover SUD counseling notes")
	require.Equal(t, "deny", v.Provision.Provision[0].Type)
	require.Equal(t, "sud_counseling_note", v.Provision.Provision[0].Class[0].Code)
	require.Empty(t, v.Provision.Period.End, "an expiration event is no end date")

	// Every purpose a consent can name, and every record type, maps.
	c := treatmentAndPayment()
	c.Purposes = []consent.Purpose{consent.PurposeTreatment, consent.PurposePayment, consent.PurposeOperations,
		consent.PurposeResearch, consent.PurposePatientRequest}
	c.RecordTypes = nil
	for _, r := range consent.RecordTypes() {
		if r != consent.RecordSUDCounselingNote {
			c.RecordTypes = append(c.RecordTypes, r)
		}
	}
	v = readConsent(t, c)
	require.Len(t, v.Provision.Purpose, len(c.Purposes))
	require.Len(t, v.Provision.Class, len(c.RecordTypes))
	data, err := fhir.Consent(c)
	require.NoError(t, err)
	requireValidR4(t, "Consent", data)
}

func TestConsentRefusesWhatTheLibraryNeverRecords(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		field  string
		change func(*consent.Consent)
	}{
		{"ID", func(c *consent.Consent) { c.ID = uuid.Nil }},
		{"ChartID", func(c *consent.Consent) { c.ChartID = uuid.Nil }},
		{"OrganizationID", func(c *consent.Consent) { c.OrganizationID = uuid.Nil }},
		{"Recipient", func(c *consent.Consent) { c.RecipientOrganizationID = &partnerID }},
		{"Recipient", func(c *consent.Consent) { c.RecipientUserID = nil }},
		{"Purposes", func(c *consent.Consent) { c.Purposes = nil }},
		{"Purposes", func(c *consent.Consent) { c.Purposes = []consent.Purpose{consent.PurposeEmergencyTreatment} }},
		{"Purposes", func(c *consent.Consent) { c.Purposes = []consent.Purpose{"MARKETING"} }},
		{"RecordTypes", func(c *consent.Consent) { c.RecordTypes = nil }},
		{"RecordTypes", func(c *consent.Consent) { c.RecordTypes = []consent.RecordType{"psychotherapy"} }},
		{"RecordTypes", func(c *consent.Consent) {
			c.RecordTypes = []consent.RecordType{consent.AllRecords, consent.RecordSUDCounselingNote}
		}},
		{"Signer", func(c *consent.Consent) { c.Signer = "guardian" }},
		{"EffectiveAt", func(c *consent.Consent) { c.EffectiveAt = time.Time{} }},
		{"ExpiresAt", func(c *consent.Consent) { c.ExpiresAt = nil }},
	} {
		c := treatmentAndPayment()
		tc.change(&c)
		_, err := fhir.Consent(c)
		require.ErrorIs(t, err, consent.ErrInvalid)
		var verr *consent.ValidationError
		require.ErrorAs(t, err, &verr)
		require.Equal(t, tc.field, verr.Field)
	}
}

// The independent parser is a real check: it refuses resources that break
// FHIR R4, so the tests above could fail.
func TestValidatorRefusesBrokenResources(t *testing.T) {
	t.Parallel()
	good, err := fhir.Consent(treatmentAndPayment())
	require.NoError(t, err)
	requireValidR4(t, "Consent", good)
	for name, change := range map[string]func(map[string]any){
		"no status":                func(r map[string]any) { delete(r, "status") },
		"status outside its codes": func(r map[string]any) { r["status"] = "revoked" },
		"no scope":                 func(r map[string]any) { delete(r, "scope") },
		"patient not a Patient": func(r map[string]any) {
			r["patient"] = map[string]any{"reference": "Practitioner/" + clinicianID.String()}
		},
		"provision type not a code": func(r map[string]any) { r["provision"].(map[string]any)["type"] = "allow" },
		"unknown element":           func(r map[string]any) { r["recipient"] = "someone" },
		"bad dateTime":              func(r map[string]any) { r["dateTime"] = "March 1st" },
	} {
		requireRefused(t, good, name, change)
	}

	good, err = fhir.AccountingBundle(chartID, everyAction())
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
			event(r)["source"].(map[string]any)["observer"] = map[string]any{"reference": "Consent/" + consentID.String()}
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
