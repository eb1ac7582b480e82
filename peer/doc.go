// Package peer records CL-19 peer recovery support encounters: the work of
// peer specialists and recovery coaches, billed with HCPCS H0038 or H2017
// (or an organization's own codes) and sent to charge capture (PM-07) when
// finalized.
//
// # Encounters
//
// A [Client] creates, reads, edits and lists encounters, always as an acting
// user. Peer encounters are their own document type (not CL-04 progress
// notes) and appear on the patient's chart ([Client.ListByChart]). Every
// read and write passes the seed's row-level security policy:
//
//	cl_has_org_access(organization_id)
//	  AND cl_check_sud_consent(chart_id, 'peer_encounter', auth.uid())
//
// so a Part 2 chart's encounters exist for a user only under a consent.
//
// # Drafts, finalization and amendments
//
// An encounter is a draft until [Client.Finalize] checks it is complete,
// finalizes it and publishes peer_encounter_finalized to the outbox in the
// same transaction. Finalizing twice, even concurrently, leaves one
// finalized encounter and one event. A finalized encounter never changes;
// corrections are amendments ([Client.Amend]), kept as history.
//
// # Service types
//
// An organization uses either the PF-15 peer_encounter_type values (Peer
// support, Recovery coaching, Crisis peer) or its own
// cl_peer_service_types, by its use_pf15 setting. One resolver in the
// database (cl_peer_service_types_for) decides for every read and write.
// An encounter remembers which source its type came from, so switching the
// flag never changes the meaning of recorded encounters; a new or edited
// service type must come from the source in force.
package peer
