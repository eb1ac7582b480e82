// Package events carries the library's domain events from the transaction
// that caused them to the host's message broker.
//
// # Contracts
//
// Each event is a Go type whose JSON is the payload the specifications give
// (peer_encounter_finalized, cl_virtual_group_started,
// cl_virtual_group_concluded), with the common fields of [Header]. Payloads
// hold only UUIDs, codes, counts, durations and timestamps: never PHI.
//
// # Envelope
//
// On the wire every event travels in an [Envelope], a CloudEvents 1.0
// structured-mode JSON document: a consumer using any CloudEvents SDK reads
// it without glue. The event id is stable across redeliveries, so consumers
// deduplicate by it.
//
// # Publishing
//
// A [Publisher] writes an event inside the caller's transaction, so the
// event exists if and only if the change that caused it commits. [Outbox]
// is the implementation: it stores events in the cl_pm_events table, once
// per idempotency key and organization.
//
// # Delivering
//
// A [Relay] drains the outbox to a [Sink] (events/natsjs for NATS
// JetStream; [SinkFunc] for anything else): batches claimed with FOR UPDATE
// SKIP LOCKED, in order per aggregate, woken by NOTIFY, retried with backoff
// and dead-lettered after the last attempt. Delivery is at least once;
// consumers deduplicate by the envelope's id. [DeadLetters] lists,
// inspects and requeues dead-lettered events without a running relay (the
// operator's CLI, cmd/platform, does it with platform dead).
//
// # Observability
//
// Through the OpenTelemetry API only: [RelayConfig.MeterProvider] gets
// the relay's counters (delivered, retried, dead-lettered, batches, the
// same figures as [Relay.Metrics]), its lag and its batch durations;
// [RelayConfig.TracerProvider] a span per batch, in which the sink runs.
// Nothing is recorded until a host installs providers (the defaults are
// the global ones). Attributes are ids and codes: an error is recorded as
// its [ErrorKind].
//
// # Testing
//
// Package eventstest has a recording fake sink, assertions on the outbox
// (RequirePublished, RequirePublishedTx) and the conformance suite every
// sink passes.
package events
