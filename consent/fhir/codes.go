package fhir

import (
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/consent"
)

// Code systems of HL7 and others that the resources use.
const (
	systemActCode         = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	systemActReason       = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	systemConfidentiality = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
	systemParticipation   = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	systemConsentScope    = "http://terminology.hl7.org/CodeSystem/consentscope"
	systemConsentAction   = "http://terminology.hl7.org/CodeSystem/consentaction"
	systemLOINC           = "http://loinc.org"
	systemDICOM           = "http://dicom.nema.org/resources/ontology/DCM"
	systemEntityType      = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	systemObjectRole      = "http://terminology.hl7.org/CodeSystem/object-role"
	systemLifecycle       = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
	systemSourceType      = "http://terminology.hl7.org/CodeSystem/security-source-type"
	systemResourceTypes   = "http://hl7.org/fhir/resource-types"
)

// The library's own code systems and extension, for what FHIR has no code
// for. They name the library's closed vocabularies, code for code.
const (
	// RecordTypeSystem holds the [consent.RecordType] codes
	// (peer_encounter, progress_note, ...), used in Consent.provision.class
	// and AuditEvent.entity.type.
	RecordTypeSystem = "https://github.com/encoreos/platform-go/fhir/CodeSystem/part2-record-type"
	// UseSystem holds the [consent.Use] codes (display, save, export, ai),
	// used in AuditEvent.subtype.
	UseSystem = "https://github.com/encoreos/platform-go/fhir/CodeSystem/part2-use"
	// ActionSystem holds the audit actions of the accounting of disclosures
	// (part2.record.disclosed, ...), used in AuditEvent.subtype.
	ActionSystem = "https://github.com/encoreos/platform-go/fhir/CodeSystem/part2-audit-action"
	// ExpirationEventExtension is the URL of the extension (valueCode) that
	// carries a consent's expiration event, such as end_of_treatment.
	ExpirationEventExtension = "https://github.com/encoreos/platform-go/fhir/StructureDefinition/part2-expiration-event"
)

// Part2Policy is the regulation a Part 2 consent is given under, as
// Consent.policy.uri.
const Part2Policy = "https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2"

// part2Authority is the authority that enforces Part2Policy (HHS), as
// Consent.policy.authority.
const part2Authority = "https://www.hhs.gov"

// securityLabels are the DS4P labels of Part 2 information: restricted
// confidentiality, substance abuse information sensitivity, the 42 CFR Part
// 2 law, and the refrain policy against redisclosure without consent. Every
// resource this package writes carries them in meta.security: a consent,
// or an accounting, says by itself that the chart is Part 2.
func securityLabels() []coding {
	return []coding{
		{System: systemConfidentiality, Code: "R", Display: "restricted"},
		{System: systemActCode, Code: "ETH", Display: "substance abuse information sensitivity"},
		part2Law,
		{System: systemActCode, Code: "NORDSCLCD", Display: "no redisclosure without consent directive"},
	}
}

// part2Law is 42 CFR Part 2 as an ActCode (ActUSPrivacyLaw): a security
// label, and a consent's policy rule.
var part2Law = coding{System: systemActCode, Code: "42CFRPart2", Display: "42 CFR Part2"}

// The roles of a consent's actors and of an audit event's agents.
var (
	custodianRole = coding{System: systemParticipation, Code: "CST", Display: "custodian"}
	recipientRole = coding{System: systemParticipation, Code: "IRCP", Display: "information recipient"}
)

// purposeDisplays are the HL7 v3 ActReason displays of every purpose the
// library records; a purpose missing here is an error.
var purposeDisplays = map[consent.Purpose]string{
	consent.PurposeTreatment:          "treatment",
	consent.PurposePayment:            "healthcare payment",
	consent.PurposeOperations:         "healthcare operations",
	consent.PurposeResearch:           "healthcare research",
	consent.PurposePatientRequest:     "patient requested",
	consent.PurposeEmergencyTreatment: "Emergency Treatment",
}

func purposeCoding(p consent.Purpose) (coding, bool) {
	d, ok := purposeDisplays[p]
	return coding{System: systemActReason, Code: string(p), Display: d}, ok
}

// fhirCode is the form of a FHIR code: no leading or trailing whitespace,
// single whitespace characters between words.
var fhirCode = regexp.MustCompile(`^[^\s]+(\s[^\s]+)*$`)

// isCode reports whether s can be written as a FHIR code.
func isCode(s string) bool { return utf8.ValidString(s) && fhirCode.MatchString(s) }

func recordTypeCoding(r consent.RecordType) coding {
	return coding{System: RecordTypeSystem, Code: string(r)}
}

// The JSON shapes of the FHIR R4 data types the resources use. Empty
// elements are left out, as FHIR requires.

type coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

type codeableConcept struct {
	Coding []coding `json:"coding,omitempty"`
}

func concept(c coding) codeableConcept { return codeableConcept{Coding: []coding{c}} }

type reference struct {
	Reference string `json:"reference,omitempty"`
	Type      string `json:"type,omitempty"`
	Display   string `json:"display,omitempty"`
}

// ref is a relative reference by UUID, such as Patient/<chart id>.
func ref(resourceType string, id uuid.UUID) *reference {
	return &reference{Reference: resourceType + "/" + id.String()}
}

type period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

type meta struct {
	LastUpdated string   `json:"lastUpdated,omitempty"`
	Security    []coding `json:"security,omitempty"`
}

type extension struct {
	URL       string `json:"url"`
	ValueCode string `json:"valueCode,omitempty"`
}

// instant writes t as a FHIR instant (and dateTime): UTC, to the
// microsecond PostgreSQL keeps.
func instant(t time.Time) string {
	return t.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.999999Z07:00")
}
