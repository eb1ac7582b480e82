// Package workforce is HR's read layer over clinical work (003): aggregate,
// non-PHI provider productivity from CL-04 notes and PM-03 appointments.
//
// [GetProviderProductivity] calls the SECURITY DEFINER SQL function
// get_provider_productivity, which checks the hr.productivity.view
// permission (at the site, when one is asked for), aggregates server-side,
// suppresses small cells (see the function's comment in migration
// 0010_provider_productivity.up.sql and docs/privacy-impact-assessment.md),
// and writes one audit row per call, denied calls included.
//
// Package workforcetest has a fake [Reader] for the HR service's tests.
package workforce
