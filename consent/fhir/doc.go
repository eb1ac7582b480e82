// Package fhir exports Part 2 consents and a chart's accounting of
// disclosures as FHIR R4 resources in JSON, for a patient's request, a
// health information exchange or an auditor.
//
// [Consent] writes a [consent.Consent] as a FHIR Consent under 42 CFR Part 2
// with the HL7 DS4P security labels; [AccountingBundle] writes what
// [consent.Client.Disclosures] returns as a Bundle of AuditEvents. Both are
// pure functions: the caller reads the rows (as a user allowed to see them)
// and decides where the JSON goes. References are by UUID only
// (Patient/<chart id>, Practitioner/<user id>, Organization/<id>,
// Consent/<id>): the resources hold no names, no reasons and no clinical
// text, only UUIDs, codes and times.
//
// The library's own vocabularies (record types, uses, audit actions) have
// code systems of their own ([RecordTypeSystem], [UseSystem],
// [ActionSystem]); everything else uses HL7, LOINC and DICOM codes.
//
// The test suite parses every resource it writes with an independent FHIR
// implementation, Google's FHIR Go library, whose R4 parser checks required
// elements, cardinality, closed code sets, reference targets and primitive
// formats.
package fhir
