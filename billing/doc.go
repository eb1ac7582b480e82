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
package billing
