package conformance_test

import (
	"errors"
	"testing"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/consent/fhir"
	"github.com/encoreos/platform-go/consent/fhir/internal/sample"
)

// Every consent is either refused as invalid or written as a Consent the
// independent parser accepts: no input yields broken FHIR.
func FuzzConsent(f *testing.F) {
	f.Add("progress_note", "TREAT", "end_of_treatment", "patient")
	f.Add("*", "HPAYMT", "", "personal_representative")
	f.Add("sud_counseling_note", "ETREAT", "end of treatment", "patient")
	f.Add("peer_encounter", "HOPERAT", " trailing ", "guardian")
	f.Add("appointment", "PATRQT", "tab\there", "patient")
	f.Fuzz(func(t *testing.T, recordType, purpose, event, signer string) {
		c := sample.TreatmentAndPayment()
		c.RecordTypes = []consent.RecordType{consent.RecordType(recordType)}
		c.Purposes = []consent.Purpose{consent.Purpose(purpose)}
		c.Signer = consent.Signer(signer)
		if event != "" {
			c.ExpirationEvent = &event
		}
		refusedOrValid(t)(fhir.Consent(c))
	})
}

// Every accounting row is either refused as invalid or written as an
// AuditEvent the independent parser accepts.
func FuzzAccountingBundle(f *testing.F) {
	f.Add("part2.record.disclosed", "TREAT", "progress_note", "display", "consent")
	f.Add("part2.access.denied", "HRESCH", "peer_encounter", "export", "denied")
	f.Add("part2.access.allowed", "ETREAT", "appointment", "save", "emergency")
	f.Add("part2.consent.granted", "", "", "", "")
	f.Add("part2.record.printed", "MARKETING", "*", "print", "")
	f.Add("part2.record.disclosed", "TREAT", "progress_note", "ai", " ")
	f.Fuzz(func(t *testing.T, action, purpose, recordType, use, basis string) {
		d := sample.EveryAction()[2]
		d.Action = action
		d.Purpose, d.RecordType, d.Use, d.Basis = nil, nil, nil, nil
		if purpose != "" {
			p := consent.Purpose(purpose)
			d.Purpose = &p
		}
		if recordType != "" {
			d.RecordType = &recordType
		}
		if use != "" {
			d.Use = &use
		}
		if basis != "" {
			d.Basis = &basis
		}
		d.ConsentID, d.EmergencyAccessID = new(sample.Consent), new(sample.Emergency)
		refusedOrValid(t)(fhir.AccountingBundle(sample.Chart, []consent.Disclosure{d}))
	})
}

// refusedOrValid returns a check of a writer's result: refused with a
// validation error, or written as FHIR R4 the independent parser accepts.
func refusedOrValid(t *testing.T) func(data []byte, err error) {
	return func(data []byte, err error) {
		t.Helper()
		if err != nil {
			if !errors.Is(err, consent.ErrInvalid) {
				t.Fatalf("refused without a validation error: %v", err)
			}
			return
		}
		if _, err := parseR4(data); err != nil {
			t.Fatalf("written but not valid FHIR R4: %v", err)
		}
	}
}
