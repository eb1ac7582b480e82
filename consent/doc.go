// Package consent enforces 42 CFR Part 2 consent (CL-11) for substance use
// disorder records.
//
// Consent is enforced twice. Inside the database, every policy over Part 2
// records calls cl_check_sud_consent(chart_id, record_type, auth.uid()), so
// a record without a covering consent is simply not there for the acting
// user. In Go, a [Checker] answers the same question before a host displays,
// saves, exports or hands data to an AI model, and every answer about a Part 2
// chart is written to the audit log.
//
// # Consents
//
// A [Consent] records what 42 CFR 2.31 asks for: who may disclose, the
// recipient (a person or an organization), the kinds of records, the purposes,
// the expiry (a date or an event), the signature, and the revocation.
// [Client.Grant] records one, [Client.Revoke] revokes it at once, [Client.List]
// lists a chart's consents. SUD counseling notes are never covered by a
// general consent: a consent that names [RecordSUDCounselingNote] names
// nothing else, and [AllRecords] does not include them.
//
// # Medical emergencies
//
// [Client.BreakGlass] opens a time-boxed access to one chart for the acting
// user (42 CFR 2.51): it needs the cl.part2.break_glass permission and a
// reason, lasts at most 24 hours, and is audited. The reason is kept with the
// access record, never in the audit log.
//
// # Accounting of disclosures
//
// Every grant, revocation, emergency access and Part 2 decision leaves an
// audit row (UUIDs and codes only). [Client.Disclosures] reads them back for
// one chart: the accounting of disclosures a patient may ask for.
//
// # No probing
//
// A user without access gets the same answer whether or not the chart, a
// consent or a record exists: [BasisDenied], an empty list, or [ErrNotFound].
//
// # Testing
//
// Package consenttest has a fake [Checker] for hosts' tests.
package consent
