// Package supervision records the supervision of peer specialists (CL-19)
// and tells supervisors whether each peer's supervision meets the rules
// their state sets.
//
// # Records
//
// A supervision record names the peer, the supervisor (a member with the
// peer_supervisor role, never the peer), the date, the modality and,
// optionally, the duration. As the specification's MVP says, records have
// no chart and are treated as non-SUD: they are organization-scoped by
// cl_has_org_access. The Phase 2 seam (a chart_id or notes_sud_flag with
// the Part 2 consent check) is described in the migration
// 0008_peer_supervision.up.sql.
//
// # Compliance
//
// A [RuleSet], configured per organization, expresses rules such as Texas's
// (weekly supervision during initial certification, monthly after) and the
// District of Columbia's (at least one hour face to face each week, at most
// seven peers per supervisor). [Client.Compliance] evaluates every rule for
// one peer and period to met or not met, with the figures behind it;
// [Evaluate] is the same evaluation over data the caller supplies.
package supervision
