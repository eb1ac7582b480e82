// Package conformance checks the resources of package fhir with an
// independent FHIR R4 implementation, Google's FHIR Go library, whose R4
// JSON parser validates: required elements and cardinality, the closed code
// sets of required bindings, reference target types, primitive formats,
// unknown elements. It holds tests only (golden files, fuzz tests, the
// accounting of real rows written through the library in PostgreSQL, and
// the proof that the parser refuses broken resources), in a package of
// its own so that hosts, which import package fhir, never load Google's
// library or protobuf, not even in their go.sum.
package conformance
