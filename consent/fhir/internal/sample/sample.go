// Package sample holds the consents and accounting rows, with fixed ids and
// times, that the tests of package fhir and of its conformance check share.
package sample

import (
	"time"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/consent"
)

// Fixed ids, so that golden files are stable.
var (
	Org       = uuid.MustParse("0d9a3b52-7c1e-4f7a-9d55-1f0c3a6b2e01")
	Chart     = uuid.MustParse("5f1c2e9a-8b3d-4c6e-a7f0-2d4b6c8e0a12")
	Consent   = uuid.MustParse("a3e5c7b9-1d2f-4a6b-8c0e-3f5a7b9c1d23")
	Clinician = uuid.MustParse("c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8")
	Officer   = uuid.MustParse("e0f1a2b3-c4d5-4e6f-9a0b-1c2d3e4f5a6b")
	Partner   = uuid.MustParse("b7c8d9e0-f1a2-4b3c-8d4e-5f6a7b8c9d0e")
	Site      = uuid.MustParse("9e8d7c6b-5a49-4382-b1a0-f9e8d7c6b5a4")
	Emergency = uuid.MustParse("f4e3d2c1-b0a9-4887-9665-544332211009")
)

// At parses an RFC 3339 time; it panics on a malformed one.
func At(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TreatmentAndPayment is a consent to disclose peer encounters and progress
// notes to one clinician, for treatment and payment, for a year.
func TreatmentAndPayment() consent.Consent {
	return consent.Consent{
		OrganizationID:           Org,
		ID:                       Consent,
		ChartID:                  Chart,
		DisclosingOrganizationID: Org,
		RecipientUserID:          new(Clinician),
		RecordTypes:              []consent.RecordType{consent.RecordPeerEncounter, consent.RecordProgressNote},
		Purposes:                 []consent.Purpose{consent.PurposeTreatment, consent.PurposePayment},
		EffectiveAt:              At("2026-03-02T09:00:00Z"),
		ExpiresAt:                new(At("2027-03-02T09:00:00Z")),
		SignedAt:                 At("2026-03-01T15:30:12.345678Z"),
		Signer:                   consent.SignerPatient,
		RecordedBy:               Officer,
		RecordedAt:               At("2026-03-01T15:41:00.5Z"),
	}
}

// RevokedToOrganization is a consent to disclose every record (counseling
// notes aside) to a partner organization for operations, until the end of
// treatment, signed by a personal representative, then revoked.
func RevokedToOrganization() consent.Consent {
	return consent.Consent{
		OrganizationID:          Org,
		ID:                      Consent,
		ChartID:                 Chart,
		RecipientOrganizationID: new(Partner),
		RecordTypes:             []consent.RecordType{consent.AllRecords},
		Purposes:                []consent.Purpose{consent.PurposeOperations},
		EffectiveAt:             At("2026-01-05T00:00:00Z"),
		ExpirationEvent:         new("end_of_treatment"),
		SignedAt:                At("2026-01-04T18:00:00Z"),
		Signer:                  consent.SignerPersonalRepresentative,
		RecordedBy:              Officer,
		RecordedAt:              At("2026-01-04T18:05:00Z"),
		RevokedAt:               new(At("2026-02-10T11:12:13Z")),
		RevokedBy:               new(Officer),
	}
}

// EveryAction is an accounting with a row of every action the library
// writes, every use, and a purpose of use or none.
func EveryAction() []consent.Disclosure {
	treat, research, etreat := consent.PurposeTreatment, consent.PurposeResearch, consent.PurposeEmergencyTreatment
	return []consent.Disclosure{
		{OccurredAt: At("2026-03-01T15:41:00.5Z"), Action: "part2.consent.granted", ActorUserID: new(Officer), OrganizationID: Org,
			ConsentID: new(Consent)},
		{OccurredAt: At("2026-03-03T10:00:00.000001Z"), Action: "part2.access.denied", ActorUserID: new(Clinician), OrganizationID: Org,
			SiteID: new(Site), Purpose: &research, RecordType: new("progress_note"), Use: new("export"), Basis: new("denied")},
		{OccurredAt: At("2026-03-03T10:01:00Z"), Action: "part2.access.allowed", ActorUserID: new(Clinician), OrganizationID: Org,
			SiteID: new(Site), Purpose: &treat, RecordType: new("progress_note"), Use: new("display"), Basis: new("consent")},
		{OccurredAt: At("2026-03-03T10:01:00.25Z"), Action: "part2.record.disclosed", ActorUserID: new(Clinician), OrganizationID: Org,
			SiteID: new(Site), Purpose: &treat, RecordType: new("peer_encounter"), Use: new("save"), Basis: new("consent")},
		{OccurredAt: At("2026-03-04T02:00:00Z"), Action: "part2.emergency_access.opened", ActorUserID: new(Clinician), OrganizationID: Org,
			SiteID: new(Site), Purpose: &etreat, EmergencyAccessID: new(Emergency)},
		{OccurredAt: At("2026-03-04T02:00:01Z"), Action: "part2.record.disclosed", ActorUserID: new(Clinician), OrganizationID: Org,
			SiteID: new(Site), Purpose: &etreat, RecordType: new("multi_party_encounter"), Use: new("display"), Basis: new("emergency")},
		{OccurredAt: At("2026-03-05T08:00:00Z"), Action: "part2.access.allowed", ActorUserID: new(Clinician), OrganizationID: Org,
			Purpose: &treat, RecordType: new("appointment"), Use: new("ai"), Basis: new("consent")},
		{OccurredAt: At("2026-03-06T09:30:00Z"), Action: "part2.consent.revoked", ActorUserID: new(Officer), OrganizationID: Org,
			ConsentID: new(Consent)},
	}
}
