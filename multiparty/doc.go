// Package multiparty records CL-55 multi-party clinical encounters:
// crisis, family, interpreter and care-team sessions with any number of
// participants.
//
// A participant is a patient (linked to a chart), a family or support
// person, an interpreter (with a language), a staff member (a member of the
// organization) or an external professional. Only patients carry a chart:
// the others are described by codes (a relationship, a role, a language),
// never by a name or a chart.
//
// Adding a patient needs that chart's Part 2 consent for multi-party
// encounters, and an encounter's content is visible only to users with
// cl.multi_party.view who have consent for every patient in it: one Part 2
// patient without consent hides the whole encounter. Writing needs
// cl.multi_party.manage. Row-level security is forced on both tables and
// every UPDATE policy has WITH CHECK.
package multiparty
