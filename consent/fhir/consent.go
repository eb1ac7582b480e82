package fhir

import (
	"encoding/json"
	"slices"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/internal/validate"
)

type consentResource struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id"`
	Meta         meta              `json:"meta"`
	Extension    []extension       `json:"extension,omitempty"`
	Status       string            `json:"status"`
	Scope        codeableConcept   `json:"scope"`
	Category     []codeableConcept `json:"category"`
	Patient      *reference        `json:"patient"`
	DateTime     string            `json:"dateTime"`
	Performer    []*reference      `json:"performer"`
	Organization []*reference      `json:"organization"`
	Policy       []policy          `json:"policy"`
	PolicyRule   codeableConcept   `json:"policyRule"`
	Provision    provision         `json:"provision"`
}

type policy struct {
	Authority string `json:"authority,omitempty"`
	URI       string `json:"uri,omitempty"`
}

type provision struct {
	Type          string            `json:"type"`
	Period        *period           `json:"period,omitempty"`
	Actor         []provisionActor  `json:"actor,omitempty"`
	Action        []codeableConcept `json:"action,omitempty"`
	SecurityLabel []coding          `json:"securityLabel,omitempty"`
	Purpose       []coding          `json:"purpose,omitempty"`
	Class         []coding          `json:"class,omitempty"`
	Provision     []provision       `json:"provision,omitempty"`
}

type provisionActor struct {
	Role      codeableConcept `json:"role"`
	Reference *reference      `json:"reference"`
}

// Consent returns c as a FHIR R4 Consent resource in JSON: a privacy
// consent (scope patient-privacy, category LOINC 59284-0 and ActCode
// IDSCL) under 42 CFR Part 2 (policy and policyRule), labelled for DS4P in
// meta.security, that permits the disclosing organization (actor role CST)
// to disclose (action disclose) the record types of c (provision.class in
// [RecordTypeSystem]) to the recipient (actor role IRCP:
// Practitioner/<user id> or Organization/<organization id>) for its
// purposes (provision.purpose, v3 ActReason) within its period
// (provision.period; an expiration event is the extension
// [ExpirationEventExtension]).
//
// [consent.AllRecords] is a permit without class with a nested deny of
// SUD counseling notes, which it never covers. A revoked consent has
// status inactive, and its revocation time as meta.lastUpdated; any other
// has status active, whatever its period (the period says when it is in
// force). The patient is Patient/<chart id>; a consent signed by a personal
// representative names them by type only (RelatedPerson). Nothing but
// UUIDs, codes and times is written.
//
// It returns an error matching [consent.ErrInvalid] when c is not a
// consent the library could have recorded.
func Consent(c consent.Consent) ([]byte, error) {
	r, err := consentOf(&c)
	if err != nil {
		return nil, err
	}
	return json.Marshal(r)
}

func consentOf(c *consent.Consent) (*consentResource, error) {
	if err := validate.First(
		validate.Required("ID", c.ID),
		validate.Required("OrganizationID", c.OrganizationID),
		validate.Required("ChartID", c.ChartID),
	); err != nil {
		return nil, err
	}
	if c.EffectiveAt.IsZero() || c.SignedAt.IsZero() {
		return nil, validate.Errorf("EffectiveAt", "and SignedAt are required")
	}
	switch {
	case c.ExpiresAt == nil && c.ExpirationEvent == nil:
		return nil, validate.Errorf("ExpiresAt", "or ExpirationEvent is required")
	case c.ExpirationEvent != nil && !isCode(*c.ExpirationEvent):
		return nil, validate.Errorf("ExpirationEvent", "must be a code: no leading, trailing or repeated whitespace")
	}
	recipient, err := recipientOf(c)
	if err != nil {
		return nil, err
	}
	performer, err := performerOf(c)
	if err != nil {
		return nil, err
	}
	permit := provision{
		Type:   "permit",
		Period: &period{Start: instant(c.EffectiveAt)},
		Actor: []provisionActor{
			{Role: concept(custodianRole), Reference: ref("Organization", disclosing(c))},
			{Role: concept(recipientRole), Reference: recipient},
		},
		Action:        []codeableConcept{concept(coding{System: systemConsentAction, Code: "disclose", Display: "Disclose"})},
		SecurityLabel: securityLabels(),
	}
	if c.ExpiresAt != nil {
		permit.Period.End = instant(*c.ExpiresAt)
	}
	if permit.Purpose, err = consentPurposes(c.Purposes); err != nil {
		return nil, err
	}
	if permit.Class, permit.Provision, err = recordClasses(c.RecordTypes); err != nil {
		return nil, err
	}

	r := &consentResource{
		ResourceType: "Consent",
		ID:           c.ID.String(),
		Meta:         meta{Security: securityLabels()},
		Status:       "active",
		Scope:        concept(coding{System: systemConsentScope, Code: "patient-privacy", Display: "Privacy Consent"}),
		Category: []codeableConcept{
			concept(coding{System: systemLOINC, Code: "59284-0", Display: "Patient Consent"}),
			concept(coding{System: systemActCode, Code: "IDSCL", Display: "information disclosure"}),
		},
		Patient:      ref("Patient", c.ChartID),
		DateTime:     instant(c.SignedAt),
		Performer:    []*reference{performer},
		Organization: []*reference{ref("Organization", disclosing(c))},
		Policy:       []policy{{Authority: part2Authority, URI: Part2Policy}},
		PolicyRule:   concept(part2Law),
		Provision:    permit,
	}
	if !c.RecordedAt.IsZero() {
		r.Meta.LastUpdated = instant(c.RecordedAt)
	}
	if c.RevokedAt != nil {
		r.Status = "inactive"
		r.Meta.LastUpdated = instant(*c.RevokedAt)
	}
	if c.ExpirationEvent != nil {
		r.Extension = []extension{{URL: ExpirationEventExtension, ValueCode: *c.ExpirationEvent}}
	}
	return r, nil
}

// disclosing is the organization that may disclose: the one holding the
// chart unless the consent names it.
func disclosing(c *consent.Consent) uuid.UUID {
	if c.DisclosingOrganizationID != uuid.Nil {
		return c.DisclosingOrganizationID
	}
	return c.OrganizationID
}

// performerOf is who signed: the patient, or a personal representative,
// named by type only (the library keeps no record of them).
func performerOf(c *consent.Consent) (*reference, error) {
	switch c.Signer {
	case consent.SignerPatient:
		return ref("Patient", c.ChartID), nil
	case consent.SignerPersonalRepresentative:
		return &reference{Type: "RelatedPerson", Display: "personal representative"}, nil
	}
	return nil, validate.Errorf("Signer", "must be patient or personal_representative")
}

// recipientOf is who may receive the records: a user, as a Practitioner,
// or an organization.
func recipientOf(c *consent.Consent) (*reference, error) {
	user := c.RecipientUserID != nil && *c.RecipientUserID != uuid.Nil
	org := c.RecipientOrganizationID != nil && *c.RecipientOrganizationID != uuid.Nil
	switch {
	case user && !org:
		return ref("Practitioner", *c.RecipientUserID), nil
	case org && !user:
		return ref("Organization", *c.RecipientOrganizationID), nil
	}
	return nil, validate.Errorf("Recipient", "needs exactly one of RecipientUserID and RecipientOrganizationID")
}

func consentPurposes(purposes []consent.Purpose) ([]coding, error) {
	if len(purposes) == 0 {
		return nil, validate.Errorf("Purposes", "is required")
	}
	out := make([]coding, 0, len(purposes))
	for _, p := range purposes {
		c, ok := purposeCoding(p)
		// Emergency treatment is recorded for break glass, never consented to.
		if !ok || p == consent.PurposeEmergencyTreatment {
			return nil, validate.Errorf("Purposes", "holds a purpose that cannot be consented to")
		}
		out = append(out, c)
	}
	return out, nil
}

// recordClasses maps the record types a consent covers: each one a class,
// or, when they include AllRecords, no class (every type) and a nested deny
// of SUD counseling notes, which need a consent of their own.
func recordClasses(types []consent.RecordType) ([]coding, []provision, error) {
	if len(types) == 0 {
		return nil, nil, validate.Errorf("RecordTypes", "is required")
	}
	if len(types) > 1 && slices.Contains(types, consent.RecordSUDCounselingNote) {
		return nil, nil, validate.Errorf("RecordTypes", "may not combine SUD counseling notes with other records")
	}
	all := false
	out := make([]coding, 0, len(types))
	for _, t := range types {
		switch {
		case t == consent.AllRecords:
			all = true
		case t.Valid():
			out = append(out, recordTypeCoding(t))
		default:
			return nil, nil, validate.Errorf("RecordTypes", "holds an unknown record type")
		}
	}
	if all {
		return nil, []provision{{Type: "deny", Class: []coding{recordTypeCoding(consent.RecordSUDCounselingNote)}}}, nil
	}
	return out, nil, nil
}
