// Package telehealthgroup runs CL-55 virtual and hybrid group sessions: the
// telehealth metadata of a CL-14 group session, its attendees and how each
// took part, and its lifecycle, Start and Conclude, each publishing its
// event (cl_virtual_group_started, cl_virtual_group_concluded) in the same
// transaction, with jurisdiction-resolved modifier suggestions.
//
// # Ownership
//
// PM-13 owns vendors, join URLs and the telehealth session's lifecycle;
// PM-07 owns charges. This package stores clinical documentation and
// suggestions only: it never stores a join URL, credential or recording
// URL (reference fields accept opaque identifiers only, in Go and in a
// database CHECK), and it suggests modifiers without creating charges.
//
// # Permissions and Part 2
//
// cl.group.virtual.manage configures a session and its attendees,
// cl.group.virtual.start starts it, cl.group.virtual.conclude concludes it
// (PF-30). A virtual group is itself a disclosure among its members: a
// patient whose chart is Part 2 joins only under a consent that names
// virtual group participation, checked when the attendee is added and again
// at Start.
//
// # Host seams
//
// [Scheduling] is what Start asks the host's PM-04/PM-13 layer (schedule
// context, telehealth session status), and [Notifier] the optional PF-10
// seam told of technology failures (codes, counts and times only);
// package telehealthgrouptest has fakes of both.
//
// # Recording and failures
//
// Recording-consent evidence is one row per attendee decision (granted,
// declined, withdrawn), append-only and audited; recording may be marked
// started only when every present attendee's latest decision is a grant.
// Technology failures are an append-only log per session; interruptions
// (a platform outage, a session ended or rescheduled) are taken out of the
// billable duration ([BillableMinutes]).
package telehealthgroup
