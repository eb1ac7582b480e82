// Package billing holds the billing facts the clinical packages share: the
// PF-70 HCPCS codes the library knows (H0038, H2017) and the rules that
// turn a timed service's minutes into billable units.
//
// # Codes
//
// [Standard] lists the national codes with their descriptors and unit
// length; organizations add their own (state or local codes) in the
// pf_org_billing_codes table. A code is valid for an organization on a date
// when it is a standard code or one of the organization's codes, and the
// date is within its effective range.
//
// # Units
//
// A [UnitsRule] turns minutes into units. Two rules are common and a
// jurisdiction profile picks one: the CMS 8-minute rule ([CMS8Minute]) and
// a per-unit threshold ([PerUnitThreshold]) as many Medicaid programs use
// (a remainder counts when it reaches the threshold, often 8 minutes, some
// programs 15). Both are computed in [Units] and nowhere else.
//
// # Jurisdiction profiles
//
// A [Profile] (PF-96) is a payer's or state's billing conventions as data
// the database holds (pf_jurisdiction_profiles, pf_jurisdiction_rules,
// pf_jurisdiction_daily_caps): dated rules that turn a service's delivery
// (in person, video, audio only, store and forward), group or individual,
// and where a remote patient was, into modifier suggestions and a
// telehealth place of service, plus a units rule and daily unit caps. The
// database refuses a load that contradicts itself (an unknown modifier, 95
// with GT, two places of service for one service, a telehealth modifier on
// an in-person service) when it commits, and computes from the profiles
// every figure the library publishes to charge capture; [LoadProfiles] and
// [Suggest] read the same rows. [ProfileDefault], [ProfileArizonaAHCCCS]
// (whose virtual group yields 95 and HQ, as the CL-55 specification says)
// and [ProfileMedicare] ship with the migrations; a host adds its payers'
// with rows, not with a release. Suggestions only: PM-07 owns charges.
package billing
