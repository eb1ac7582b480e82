package fhir_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/consent/fhir"
	"github.com/encoreos/platform-go/consent/fhir/internal/sample"
)

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
	v := readConsent(t, sample.TreatmentAndPayment())
	require.Equal(t, "active", v.Status)
	require.Equal(t, "Patient/"+sample.Chart.String(), v.Patient.Reference)
	require.Equal(t, "permit", v.Provision.Type)
	require.Equal(t, "2026-03-02T09:00:00Z", v.Provision.Period.Start)
	require.Equal(t, "2027-03-02T09:00:00Z", v.Provision.Period.End)
	require.Len(t, v.Provision.Actor, 2)
	require.Equal(t, "CST", v.Provision.Actor[0].Role.Coding[0].Code)
	require.Equal(t, "Organization/"+sample.Org.String(), v.Provision.Actor[0].Reference.Reference)
	require.Equal(t, "IRCP", v.Provision.Actor[1].Role.Coding[0].Code)
	require.Equal(t, "Practitioner/"+sample.Clinician.String(), v.Provision.Actor[1].Reference.Reference)
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

	v = readConsent(t, sample.RevokedToOrganization())
	require.Equal(t, "inactive", v.Status, "a revoked consent is inactive")
	require.Equal(t, "Organization/"+sample.Partner.String(), v.Provision.Actor[1].Reference.Reference)
	require.Empty(t, v.Provision.Class, "all records: no class")
	require.Len(t, v.Provision.Provision, 1, "all records never cover SUD counseling notes")
	require.Equal(t, "deny", v.Provision.Provision[0].Type)
	require.Equal(t, "sud_counseling_note", v.Provision.Provision[0].Class[0].Code)
	require.Empty(t, v.Provision.Period.End, "an expiration event is no end date")

	// Every purpose a consent can name, and every record type, maps.
	c := sample.TreatmentAndPayment()
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
		{"Recipient", func(c *consent.Consent) { c.RecipientOrganizationID = new(sample.Partner) }},
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
		c := sample.TreatmentAndPayment()
		tc.change(&c)
		_, err := fhir.Consent(c)
		require.ErrorIs(t, err, consent.ErrInvalid)
		var verr *consent.ValidationError
		require.ErrorAs(t, err, &verr)
		require.Equal(t, tc.field, verr.Field)
	}
}
