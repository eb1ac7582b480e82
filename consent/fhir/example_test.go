package fhir_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/consent/fhir"
)

// A consent read with consent.Client.List, exported for a health
// information exchange: a revoked consent is inactive.
func ExampleConsent() {
	clinician := uuid.MustParse("c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8")
	revoked := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	c := consent.Consent{
		OrganizationID:  uuid.MustParse("0d9a3b52-7c1e-4f7a-9d55-1f0c3a6b2e01"),
		ID:              uuid.MustParse("a3e5c7b9-1d2f-4a6b-8c0e-3f5a7b9c1d23"),
		ChartID:         uuid.MustParse("5f1c2e9a-8b3d-4c6e-a7f0-2d4b6c8e0a12"),
		RecipientUserID: &clinician,
		RecordTypes:     []consent.RecordType{consent.RecordProgressNote},
		Purposes:        []consent.Purpose{consent.PurposeTreatment, consent.PurposePayment},
		EffectiveAt:     time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
		ExpirationEvent: new("end_of_treatment"),
		SignedAt:        time.Date(2026, 3, 2, 8, 55, 0, 0, time.UTC),
		Signer:          consent.SignerPatient,
		RevokedAt:       &revoked,
	}
	data, err := fhir.Consent(c)
	if err != nil {
		panic(err)
	}

	var r struct {
		Status    string
		Patient   struct{ Reference string }
		Meta      struct{ Security []struct{ Code string } }
		Provision struct {
			Type    string
			Purpose []struct{ Code string }
			Class   []struct{ Code string }
			Actor   []struct{ Reference struct{ Reference string } }
		}
	}
	if err := json.Unmarshal(data, &r); err != nil {
		panic(err)
	}
	fmt.Println(r.Status, r.Patient.Reference)
	fmt.Println(r.Meta.Security)
	fmt.Println(r.Provision.Type, r.Provision.Purpose, r.Provision.Class)
	fmt.Println(r.Provision.Actor[1].Reference.Reference)
	// Output:
	// inactive Patient/5f1c2e9a-8b3d-4c6e-a7f0-2d4b6c8e0a12
	// [{R} {ETH} {42CFRPart2} {NORDSCLCD}]
	// permit [{TREAT} {HPAYMT}] [{progress_note}]
	// Practitioner/c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8
}

// A chart's accounting of disclosures, as consent.Client.Disclosures
// returns it, exported as a Bundle of AuditEvents for the patient who
// asked for it.
func ExampleAccountingBundle() {
	org := uuid.MustParse("0d9a3b52-7c1e-4f7a-9d55-1f0c3a6b2e01")
	chart := uuid.MustParse("5f1c2e9a-8b3d-4c6e-a7f0-2d4b6c8e0a12")
	clinician := uuid.MustParse("c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8")
	payment := consent.PurposePayment
	rows := []consent.Disclosure{{
		OccurredAt:     time.Date(2026, 3, 3, 10, 1, 0, 0, time.UTC),
		Action:         "part2.record.disclosed",
		ActorUserID:    &clinician,
		OrganizationID: org,
		Purpose:        &payment,
		RecordType:     new(string(consent.RecordProgressNote)),
		Use:            new(string(consent.UseExport)),
		Basis:          new(string(consent.BasisConsent)),
	}}
	data, err := fhir.AccountingBundle(chart, rows)
	if err != nil {
		panic(err)
	}

	var b struct {
		Type  string
		Entry []struct {
			Resource struct {
				ResourceType   string
				Action         string
				Recorded       string
				Subtype        []struct{ Code string }
				PurposeOfEvent []struct{ Coding []struct{ Code string } }
				Agent          []struct{ Who struct{ Reference string } }
				Entity         []struct {
					What      struct{ Reference string }
					Type      struct{ Code string }
					Lifecycle struct{ Code string }
				}
			}
		}
	}
	if err := json.Unmarshal(data, &b); err != nil {
		panic(err)
	}
	e := b.Entry[0].Resource
	fmt.Println(b.Type, e.ResourceType, e.Action, e.Recorded, e.Subtype)
	fmt.Println(e.PurposeOfEvent[0].Coding[0].Code, e.Agent[0].Who.Reference)
	fmt.Println(e.Entity[0].What.Reference, e.Entity[1].Type.Code, e.Entity[1].Lifecycle.Code)
	// Output:
	// collection AuditEvent R 2026-03-03T10:01:00Z [{part2.record.disclosed} {export}]
	// HPAYMT Practitioner/c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8
	// Patient/5f1c2e9a-8b3d-4c6e-a7f0-2d4b6c8e0a12 progress_note disclose
}
