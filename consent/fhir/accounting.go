package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/internal/validate"
)

type bundle struct {
	ResourceType string        `json:"resourceType"`
	Meta         meta          `json:"meta"`
	Type         string        `json:"type"`
	Entry        []bundleEntry `json:"entry,omitempty"`
}

type bundleEntry struct {
	FullURL  string      `json:"fullUrl"`
	Resource *auditEvent `json:"resource"`
}

type auditEvent struct {
	ResourceType   string            `json:"resourceType"`
	ID             string            `json:"id"`
	Meta           meta              `json:"meta"`
	Type           coding            `json:"type"`
	Subtype        []coding          `json:"subtype"`
	Action         string            `json:"action"`
	Recorded       string            `json:"recorded"`
	Outcome        string            `json:"outcome"`
	PurposeOfEvent []codeableConcept `json:"purposeOfEvent,omitempty"`
	Agent          []agent           `json:"agent"`
	Source         source            `json:"source"`
	Entity         []entity          `json:"entity"`
}

type agent struct {
	Type      *codeableConcept `json:"type,omitempty"`
	Who       *reference       `json:"who,omitempty"`
	Requestor bool             `json:"requestor"`
}

type source struct {
	Site     string     `json:"site,omitempty"`
	Observer *reference `json:"observer"`
	Type     []coding   `json:"type"`
}

type entity struct {
	What          *reference `json:"what,omitempty"`
	Type          *coding    `json:"type,omitempty"`
	Role          *coding    `json:"role,omitempty"`
	Lifecycle     *coding    `json:"lifecycle,omitempty"`
	SecurityLabel []coding   `json:"securityLabel,omitempty"`
	Detail        []detail   `json:"detail,omitempty"`
}

type detail struct {
	Type        string `json:"type"`
	ValueString string `json:"valueString"`
}

// The audit actions of an accounting of disclosures (the action column of
// pf_audit_logs), and what each one is in an AuditEvent.
const (
	actionGranted   = "part2.consent.granted"
	actionRevoked   = "part2.consent.revoked"
	actionEmergency = "part2.emergency_access.opened"
	actionAllowed   = "part2.access.allowed"
	actionDenied    = "part2.access.denied"
	actionDisclosed = "part2.record.disclosed"
)

// bases are the bases of a decision an accounting row can record.
var bases = []consent.Basis{consent.BasisNotPart2, consent.BasisConsent, consent.BasisEmergency, consent.BasisDenied}

// useActions maps a use of records to the AuditEvent action on them: read
// for display, export and AI use (the records are read out), update for
// save (the read that precedes a write).
var useActions = map[consent.Use]string{
	consent.UseDisplay: "R",
	consent.UseSave:    "U",
	consent.UseExport:  "R",
	consent.UseAI:      "R",
}

// AccountingBundle returns a chart's accounting of disclosures, as
// [consent.Client.Disclosures] returns it, as a FHIR R4 Bundle (type
// collection) of AuditEvents in JSON, one per entry and in the same order.
//
// Each AuditEvent has type DICOM 110110 (Patient Record); as subtypes the
// entry's action in [ActionSystem] and, for an access decision or a
// disclosure, its use in [UseSystem]; the action on the records (C for a
// consent granted, U for one revoked, E for an emergency access opened;
// for access decisions and disclosures R for display, export and AI use
// and U for save); outcome 0, or 4 for a denial; the purpose of use (v3
// ActReason). Its agents are the acting user (Practitioner/<user id>, the
// requestor; for a disclosure, the recipient) and the organization holding
// the chart (Organization/<id>, custodian), which also observes the event
// (source; its site, when the row names one, as source.site). A row
// without an actor has a requestor without who. Its entities are the patient (Patient/<chart id>, with the
// basis and the emergency access id as details), the records (their
// record type in [RecordTypeSystem], lifecycle disclose for a disclosure,
// DS4P labels) and the consent (Consent/<id>). The bundle and every event
// carry the DS4P labels in meta.security.
//
// An event's id is the row's (Disclosure.ID); for a row without one, it is
// derived from the chart and the entry, so the same accounting row gets
// the same id in every export. Nothing but UUIDs,
// codes and times is written.
//
// It returns an error matching [consent.ErrInvalid] for the zero chart, or
// for an entry with an unknown action, purpose, record type or use, or
// without what its action needs (a consent id for a grant or revocation,
// an emergency access id for an emergency access, a record type and use
// for an access decision or a disclosure).
func AccountingBundle(chartID uuid.UUID, disclosures []consent.Disclosure) ([]byte, error) {
	if err := validate.Required("ChartID", chartID); err != nil {
		return nil, err
	}
	b := bundle{ResourceType: "Bundle", Meta: meta{Security: securityLabels()}, Type: "collection"}
	ids := make(map[uuid.UUID]bool, len(disclosures))
	for i := range disclosures {
		e, err := auditEventOf(chartID, &disclosures[i])
		if err != nil {
			if verr := (*validate.Error)(nil); errors.As(err, &verr) {
				verr.Field = fmt.Sprintf("Disclosures[%d].%s", i, verr.Field)
			}
			return nil, err
		}
		id := disclosures[i].ID
		if id == uuid.Nil || ids[id] {
			if id, err = eventID(chartID, e, ids); err != nil {
				return nil, err
			}
		}
		ids[id] = true
		e.ID = id.String()
		b.Entry = append(b.Entry, bundleEntry{FullURL: "urn:uuid:" + e.ID, Resource: e})
	}
	return json.Marshal(b)
}

// idSpace is the UUID namespace of event ids.
var idSpace = uuid.NewSHA1(uuid.NameSpaceURL, []byte(ActionSystem))

// eventID derives an event's id from the chart and everything the event
// says (its id aside), so that an accounting row gets the same id in every
// export; rows alike in every field are told apart by their order.
func eventID(chartID uuid.UUID, e *auditEvent, seen map[uuid.UUID]bool) (uuid.UUID, error) {
	content, err := json.Marshal(e)
	if err != nil {
		return uuid.Nil, err
	}
	name := append(chartID[:], content...)
	id := uuid.NewSHA1(idSpace, name)
	for seen[id] {
		id = uuid.NewSHA1(idSpace, append(id[:], name...))
	}
	seen[id] = true
	return id, nil
}

func auditEventOf(chartID uuid.UUID, d *consent.Disclosure) (*auditEvent, error) {
	if d.OccurredAt.IsZero() {
		return nil, validate.Errorf("OccurredAt", "is required")
	}
	if err := validate.Required("OrganizationID", d.OrganizationID); err != nil {
		return nil, err
	}
	e := &auditEvent{
		ResourceType: "AuditEvent",
		Meta:         meta{Security: securityLabels()},
		Type:         coding{System: systemDICOM, Code: "110110", Display: "Patient Record"},
		Subtype:      []coding{{System: ActionSystem, Code: d.Action}},
		Recorded:     instant(d.OccurredAt),
		Outcome:      "0",
		Agent:        []agent{{Requestor: true}, {Type: ptr(concept(custodianRole)), Who: ref("Organization", d.OrganizationID)}},
		Source:       source{Observer: ref("Organization", d.OrganizationID), Type: []coding{{System: systemSourceType, Code: "4", Display: "Application Server"}}},
	}
	if d.ActorUserID != nil && *d.ActorUserID != uuid.Nil {
		e.Agent[0].Who = ref("Practitioner", *d.ActorUserID)
	}
	if d.SiteID != nil && *d.SiteID != uuid.Nil {
		e.Source.Site = d.SiteID.String()
	}
	if d.Purpose != nil {
		c, ok := purposeCoding(*d.Purpose)
		if !ok {
			return nil, validate.Errorf("Purpose", "is not a known purpose of use")
		}
		e.PurposeOfEvent = []codeableConcept{concept(c)}
	}

	patient := entity{
		What: ref("Patient", chartID),
		Type: &coding{System: systemEntityType, Code: "1", Display: "Person"},
		Role: &coding{System: systemObjectRole, Code: "1", Display: "Patient"},
	}
	if d.Basis != nil {
		if !slices.Contains(bases, consent.Basis(*d.Basis)) {
			return nil, validate.Errorf("Basis", "is not a basis of a decision")
		}
		patient.Detail = append(patient.Detail, detail{Type: "basis", ValueString: *d.Basis})
	}
	if d.EmergencyAccessID != nil {
		patient.Detail = append(patient.Detail, detail{Type: "emergency_access_id", ValueString: d.EmergencyAccessID.String()})
	}
	e.Entity = []entity{patient}

	switch d.Action {
	case actionGranted, actionRevoked:
		if d.ConsentID == nil || *d.ConsentID == uuid.Nil {
			return nil, validate.Errorf("ConsentID", "is required for %s", d.Action)
		}
		e.Action = map[string]string{actionGranted: "C", actionRevoked: "U"}[d.Action]
	case actionEmergency:
		if d.EmergencyAccessID == nil || *d.EmergencyAccessID == uuid.Nil {
			return nil, validate.Errorf("EmergencyAccessID", "is required for %s", d.Action)
		}
		e.Action = "E"
	case actionAllowed, actionDenied, actionDisclosed:
		records, err := recordsOf(d)
		if err != nil {
			return nil, err
		}
		use := consent.Use(*d.Use)
		e.Action = useActions[use]
		e.Subtype = append(e.Subtype, coding{System: UseSystem, Code: string(use)})
		e.Entity = append(e.Entity, records)
		if d.Action == actionDenied {
			e.Outcome = "4"
		}
	default:
		return nil, validate.Errorf("Action", "is not an action of the accounting of disclosures")
	}
	if d.ConsentID != nil && *d.ConsentID != uuid.Nil {
		e.Entity = append(e.Entity, entity{What: ref("Consent", *d.ConsentID), Type: &coding{System: systemResourceTypes, Code: "Consent", Display: "Consent"}})
	}
	return e, nil
}

// recordsOf is the entity of the records an access decision or a
// disclosure is about.
func recordsOf(d *consent.Disclosure) (entity, error) {
	if d.RecordType == nil || !consent.RecordType(*d.RecordType).Valid() {
		return entity{}, validate.Errorf("RecordType", "is required for %s and must be a known record type", d.Action)
	}
	if d.Use == nil || useActions[consent.Use(*d.Use)] == "" {
		return entity{}, validate.Errorf("Use", "is required for %s and must be display, save, export or ai", d.Action)
	}
	records := entity{
		Type:          ptr(recordTypeCoding(consent.RecordType(*d.RecordType))),
		Role:          &coding{System: systemObjectRole, Code: "4", Display: "Domain Resource"},
		SecurityLabel: securityLabels(),
	}
	if d.Action == actionDisclosed {
		records.Lifecycle = &coding{System: systemLifecycle, Code: "disclose", Display: "Disclose Record Lifecycle Event"}
	}
	return records, nil
}

func ptr[T any](v T) *T { return &v }
