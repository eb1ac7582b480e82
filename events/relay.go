package events

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/encoreos/platform-go/internal/telemetry"
)

// RelayRole is the database role the relay acts as: it may read and update
// every organization's outbox rows, and nothing else. The relay's login
// role must be a member of it.
const RelayRole = "cl_event_relay"

// RelayConfig configures a [Relay]. Pool and Sink are required.
type RelayConfig struct {
	// Pool connects as a role that is a member of RelayRole. The relay
	// holds one connection for LISTEN and uses one more per worker.
	Pool *pgxpool.Pool
	// Sink receives the events.
	Sink Sink
	// BatchSize is how many events one claim takes: 1 to 10000, default 100.
	BatchSize int
	// Workers is how many batches the relay has in hand at once, each
	// claimed, delivered and marked in its own transaction: 1 to 16,
	// default 2. With two, one batch is claimed and marked in the database
	// while another waits for the sink, instead of each waiting for the
	// other (measured on a 100,000-event backlog to JetStream, 2 cores
	// shared with other work: 19,500 to 21,300 events/s against 7,000 to
	// 12,000 with one). Per-aggregate order holds for any number, as it
	// does for several relays: a claim takes only the first undelivered
	// event of each aggregate, and an event in another worker's batch is
	// undelivered until that worker commits.
	Workers int
	// MaxAttempts is how many failed deliveries dead-letter an event: 1 to
	// 1000, default 10. A dead-lettered event holds back the later events
	// of its aggregate until [Relay.Retry] requeues it.
	MaxAttempts int
	// RetryBackoff is the wait before the first retry, doubled for each
	// further attempt, with jitter: default 1s.
	RetryBackoff time.Duration
	// MaxRetryBackoff caps the wait: default 10m.
	MaxRetryBackoff time.Duration
	// PollInterval is how often the relay looks for due events when no
	// notification wakes it (retries, a lost LISTEN connection): default 2s.
	PollInterval time.Duration
	// PollOnly turns LISTEN off: the relay wakes every PollInterval only.
	// For Citus, where a NOTIFY is heard only on the worker that holds the
	// row's shard (the Citus profile drops the notify trigger).
	PollOnly bool
	// Retention is how long delivered events keep their payload before the
	// relay compacts them to tombstones (the event's keys, type and record
	// stay, so that the same event is never stored, nor charged, twice;
	// pending and dead-lettered events are never compacted); zero keeps
	// them whole forever. Run compacts once at start and then hourly.
	Retention time.Duration
	// Logger receives the relay's logs (event ids, types and error kinds
	// only, never payload content): default slog.Default().
	Logger *slog.Logger
	// MeterProvider receives the relay's instruments (delivered, retried,
	// dead-lettered, batches, lag, batch duration); default the global
	// provider (otel.GetMeterProvider) when NewRelay runs, which records
	// nothing until a host installs one.
	MeterProvider metric.MeterProvider
	// TracerProvider receives a span per batch that found events; default
	// the global provider (otel.GetTracerProvider) when NewRelay runs.
	TracerProvider trace.TracerProvider
}

// Relay delivers the outbox's events to a [Sink]. Run it in the host's
// process; several relays may run against one outbox (in one process or
// many): they never claim the same event at once.
type Relay struct {
	cfg           RelayConfig
	discoverSQL   string
	metrics       *relayMetrics
	tel           *telemetry.Telemetry
	batchDuration metric.Float64Histogram
}

// Metrics is a snapshot of a relay's counters since it was created.
type Metrics struct {
	Delivered    int64 // events handed to the sink and marked delivered
	Retried      int64 // failed deliveries that will be retried
	DeadLettered int64 // events moved to the dead-letter state
	Batches      int64 // claims that found events
	// Lag is the age of the oldest event in the last batch when it was
	// claimed: how far behind the relay is.
	Lag time.Duration
}

var (
	//go:embed sql/discover.sql
	discoverTemplate string
	//go:embed sql/claim.sql
	claimSQL string
	//go:embed sql/mark_delivered.sql
	markDeliveredSQL string
	//go:embed sql/mark_failed.sql
	markFailedSQL string
	//go:embed sql/mark_dead.sql
	markDeadSQL string
	//go:embed sql/retry.sql
	retrySQL string
)

// NewRelay checks cfg and returns a Relay.
func NewRelay(cfg *RelayConfig) (*Relay, error) {
	if cfg == nil || cfg.Pool == nil || cfg.Sink == nil {
		return nil, errors.New("events: RelayConfig needs a Pool and a Sink")
	}
	c := *cfg
	if c.BatchSize == 0 {
		c.BatchSize = 100
	}
	if c.BatchSize < 1 || c.BatchSize > 10000 {
		return nil, errors.New("events: RelayConfig.BatchSize must be between 1 and 10000")
	}
	if c.Workers == 0 {
		c.Workers = 2
	}
	if c.Workers < 1 || c.Workers > 16 {
		return nil, errors.New("events: RelayConfig.Workers must be between 1 and 16")
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 10
	}
	if c.MaxAttempts < 1 || c.MaxAttempts > 1000 {
		return nil, errors.New("events: RelayConfig.MaxAttempts must be between 1 and 1000")
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = time.Second
	}
	if c.MaxRetryBackoff <= 0 {
		c.MaxRetryBackoff = 10 * time.Minute
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	r := &Relay{cfg: c, discoverSQL: strings.ReplaceAll(discoverTemplate, "{{batch_size}}", strconv.Itoa(c.BatchSize)),
		metrics: &relayMetrics{}, tel: telemetry.New(c.MeterProvider, c.TracerProvider)}
	r.instrument()
	return r, nil
}

// Metrics returns the relay's counters: the figures its OpenTelemetry
// instruments report too.
func (r *Relay) Metrics() Metrics { return r.metrics.snapshot() }

// Run delivers events until ctx is cancelled, then returns nil. It wakes on
// NOTIFY cl_pm_events when an event commits and polls every PollInterval as
// the fallback. A stop is graceful: what the sink accepted before the
// cancellation is still recorded as delivered (for up to recordTimeout),
// so that it is not delivered again; a batch not yet handed to the sink is
// rolled back, and its events are delivered by the next relay to run
// (consumers deduplicate by event id in any case).
func (r *Relay) Run(ctx context.Context) error {
	wake := make(chan struct{}, 1)
	var wg sync.WaitGroup
	if !r.cfg.PollOnly {
		wg.Go(func() { r.listen(ctx, wake) })
	}
	defer wg.Wait()

	ticker := time.NewTicker(r.cfg.PollInterval)
	defer ticker.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	r.pruneAndLog(ctx)
	for {
		if err := r.Drain(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, ErrDeliveryFailed) {
			r.cfg.Logger.WarnContext(ctx, "event relay: batch failed; will retry", "error_kind", ErrorKind(err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-ticker.C:
		case <-prune.C:
			r.pruneAndLog(ctx)
		}
	}
}

//go:embed sql/prune.sql
var pruneSQL string

// Prune compacts delivered events older than RelayConfig.Retention (none
// when it is zero) to tombstones, in chunks, and returns how many it
// compacted.
func (r *Relay) Prune(ctx context.Context) (int64, error) {
	if r.cfg.Retention <= 0 {
		return 0, nil
	}
	var total int64
	for {
		var n int64
		err := r.asRelay(ctx, func(tx pgx.Tx, now time.Time) error {
			tag, err := tx.Exec(ctx, pruneSQL, pgx.NamedArgs{"before": now.Add(-r.cfg.Retention), "compacted_at": now})
			n = tag.RowsAffected()
			return err
		})
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

func (r *Relay) pruneAndLog(ctx context.Context) {
	if n, err := r.Prune(ctx); err != nil && ctx.Err() == nil {
		r.cfg.Logger.WarnContext(ctx, "event relay: pruning delivered events failed", "error_kind", ErrorKind(err))
	} else if n > 0 {
		r.cfg.Logger.InfoContext(ctx, "event relay: pruned delivered events", "count", n)
	}
}

// asRelay runs fn in a transaction as RelayRole, with the database's clock
// at its start (the relay's statements take their times as arguments).
func (r *Relay) asRelay(ctx context.Context, fn func(tx pgx.Tx, now time.Time) error) error {
	tx, err := r.cfg.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	// Every relay statement is an index walk that stops early (the claim
	// walks the due index in order up to the batch size, the mark and the
	// head-of-aggregate test probe keys), and none may depend on the
	// statistics of the moment: with a large backlog, or statistics that lag
	// behind a table that grew since the last ANALYZE, the planner may
	// prefer to collect and sort every pending row (measured: 100,000
	// pending events drained at 1,900/s that way) or to mark a batch by
	// scanning the table (measured: a steady producer of 5,000 events/s,
	// no ANALYZE yet, 1,500 sequential scans in 10 s and a lag p99 of 2 to
	// 20 s). These settings, local to the transaction, leave the planner
	// only the index paths.
	var now time.Time
	// JIT off: the head-of-aggregate sub-query makes a claim look costly
	// enough to compile, and compiling took 150 ms of a 5 ms claim.
	if err := tx.QueryRow(ctx, `SELECT pg_catalog.clock_timestamp(), pg_catalog.set_config('role', $1, true),
		pg_catalog.set_config('enable_sort', 'off', true), pg_catalog.set_config('enable_incremental_sort', 'off', true),
		pg_catalog.set_config('enable_bitmapscan', 'off', true), pg_catalog.set_config('enable_seqscan', 'off', true),
		pg_catalog.set_config('jit', 'off', true)`,
		RelayRole).Scan(&now, nil, nil, nil, nil, nil, nil); err != nil {
		return fmt.Errorf("events: the relay's role must be a member of %s: %w", RelayRole, err)
	}
	if err := fn(tx, now); err != nil {
		return err
	}
	// Once fn has run, what it did is recorded even if ctx was cancelled
	// meanwhile (a stop must not undo a delivery the sink accepted).
	rec, cancel := recording(ctx)
	defer cancel()
	return tx.Commit(rec)
}

// recordTimeout bounds how long a stopping relay takes to record what the
// sink has already accepted.
const recordTimeout = 10 * time.Second

// recording returns a context for recording an outcome: ctx's values
// without its cancellation, for at most recordTimeout.
func recording(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
}

// Drain delivers batches, RelayConfig.Workers at a time, until no due
// event is left, or until a delivery or the database fails; then it
// returns the first failure, once the other workers' batches are recorded.
func (r *Relay) Drain(ctx context.Context) error {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed error
	)
	stopped := func() bool { mu.Lock(); defer mu.Unlock(); return failed != nil }
	for range r.cfg.Workers {
		wg.Go(func() {
			// Loop until a claim finds nothing: a batch holds at most one
			// event per aggregate, so a full batch is not the only sign of
			// more work. A worker that finds nothing while another still
			// holds a batch stops; the last one stops only when nothing due
			// is left (or held back by an undelivered earlier event).
			for !stopped() {
				n, err := r.RunOnce(ctx)
				if err != nil {
					mu.Lock()
					failed = cmp.Or(failed, err)
					mu.Unlock()
				}
				if err != nil || n == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	return failed
}

type claimed struct {
	OrganizationID uuid.UUID `db:"organization_id"`
	ID             uuid.UUID `db:"id"`
	Attempts       int       `db:"attempts"`
	Envelope       []byte    `db:"envelope"`
	CreatedAt      time.Time `db:"created_at"`
}

// RunOnce claims one batch, delivers it and records the outcome, in one
// transaction. It returns how many events it claimed, and
// ErrDeliveryFailed (wrapped) when the sink failed part of the batch.
//
// A batch that found events is a span, events.relay.batch, whose context
// the sink receives, and a measurement of platform.relay.batch.duration.
func (r *Relay) RunOnce(ctx context.Context) (int, error) {
	started := time.Now()
	var out outcome
	var span telemetry.Span
	found := false
	err := r.asRelay(ctx, func(tx pgx.Tx, now time.Time) error {
		batch, err := r.claim(ctx, tx, now)
		if err != nil || len(batch) == 0 {
			return err
		}
		found = true
		var bctx context.Context
		bctx, span = r.tel.StartAt(ctx, spanBatch, started, telemetry.BatchSizeKey.Int(len(batch)))
		out, err = r.deliver(bctx, tx, now, started, batch)
		return err
	})
	if err == nil {
		r.metrics.delivered.Add(int64(out.delivered))
		span.Set(telemetry.DeliveredKey.Int(out.delivered))
		if out.failed != nil {
			err = r.failed(ctx, span, &out)
		}
	}
	if found {
		r.recordBatch(ctx, span, started, err)
	}
	if err != nil && !errors.Is(err, ErrDeliveryFailed) {
		return 0, err
	}
	return out.claimed, err
}

// failed counts, logs and traces the event a batch failed on, and returns
// the batch's ErrDeliveryFailed.
func (r *Relay) failed(ctx context.Context, span telemetry.Span, out *outcome) error {
	attrs := []any{"event_id", out.failed.ID, "event_type", out.failedType, "attempt", out.failed.Attempts + 1, "error_kind", out.errorKind}
	if out.dead {
		r.metrics.deadLettered.Add(1)
		r.cfg.Logger.ErrorContext(ctx, "event relay: event dead-lettered", attrs...)
	} else {
		r.metrics.retried.Add(1)
		r.cfg.Logger.WarnContext(ctx, "event relay: delivery failed; will retry", attrs...)
	}
	span.Set(telemetry.EventIDKey.String(out.failed.ID.String()), telemetry.EventTypeKey.String(out.failedType),
		telemetry.DeadLetteredKey.Bool(out.dead))
	return &deliveryError{kind: out.errorKind}
}

// deliveryError is ErrDeliveryFailed with the kind of the sink's error.
type deliveryError struct{ kind string }

func (e *deliveryError) Error() string        { return ErrDeliveryFailed.Error() + ": " + e.kind }
func (e *deliveryError) Kind() string         { return e.kind }
func (e *deliveryError) Is(target error) bool { return target == ErrDeliveryFailed }

// outcome is what one batch did.
type outcome struct {
	claimed, delivered int
	failed             *claimed // the event the sink failed on, if any
	failedType         string
	errorKind          string
	dead               bool
}

// claim takes up to BatchSize due events in tx, organization by
// organization (the organizations of the oldest due events first).
func (r *Relay) claim(ctx context.Context, tx pgx.Tx, now time.Time) ([]claimed, error) {
	rows, _ := tx.Query(ctx, r.discoverSQL, pgx.NamedArgs{"now": now})
	orgs, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, err
	}
	var batch []claimed
	for _, org := range orgs {
		left := r.cfg.BatchSize - len(batch)
		if left == 0 {
			break
		}
		rows, _ := tx.Query(ctx, claimSQL, pgx.NamedArgs{"organization_id": org, "now": now, "limit": left})
		got, err := pgx.CollectRows(rows, pgx.RowToStructByName[claimed])
		if err != nil {
			return nil, err
		}
		batch = append(batch, got...)
	}
	return batch, nil
}

// markDelivered marks the first n events of batch delivered, one statement
// per organization, pipelined.
func markDelivered(ctx context.Context, tx pgx.Tx, batch []claimed, at time.Time) error {
	ids := map[uuid.UUID][]uuid.UUID{}
	var orgs []uuid.UUID
	for _, c := range batch {
		if _, ok := ids[c.OrganizationID]; !ok {
			orgs = append(orgs, c.OrganizationID)
		}
		ids[c.OrganizationID] = append(ids[c.OrganizationID], c.ID)
	}
	var b pgx.Batch
	for _, org := range orgs {
		b.Queue(markDeliveredSQL, pgx.NamedArgs{"organization_id": org, "ids": ids[org], "delivered_at": at})
	}
	return tx.SendBatch(ctx, &b).Close()
}

// deliver hands a batch claimed in tx to the sink and records the outcome
// in tx. now is the database's clock at the start of tx, started this
// process's.
func (r *Relay) deliver(ctx context.Context, tx pgx.Tx, now, started time.Time, batch []claimed) (outcome, error) {
	r.metrics.batches.Add(1)
	r.metrics.lagNanos.Store(int64(time.Since(batch[0].CreatedAt)))

	out := outcome{claimed: len(batch)}
	envs := make([]Envelope, len(batch))
	for i, c := range batch {
		if err := json.Unmarshal(c.Envelope, &envs[i]); err != nil {
			// It can never be delivered: dead-letter it, deliver the events
			// before it, and let the rest wait for the next claim.
			if _, err := tx.Exec(ctx, markDeadSQL, pgx.NamedArgs{"organization_id": c.OrganizationID, "id": c.ID,
				"last_error": "invalid_envelope"}); err != nil {
				return outcome{}, err
			}
			r.metrics.deadLettered.Add(1)
			r.cfg.Logger.ErrorContext(ctx, "event relay: undecodable event dead-lettered", "event_id", c.ID)
			batch, envs = batch[:i], envs[:i]
			break
		}
	}
	if len(batch) == 0 {
		return out, nil
	}
	delivered, sinkErr := r.cfg.Sink.Deliver(ctx, envs)
	out.delivered = max(0, min(delivered, len(batch)))
	if out.delivered == 0 && ctx.Err() != nil {
		return outcome{}, ctx.Err() // stopped before anything was handed over: roll back, count no attempt
	}
	// A stop after the hand-over records what was delivered, and nothing
	// as failed: the rest stays pending without spending an attempt.
	stopped := ctx.Err() != nil
	ctx, cancel := recording(ctx)
	defer cancel()
	// The database's clock now: its reading at the start, plus the time
	// since on this process's monotonic clock.
	dbNow := now.Add(time.Since(started))
	if out.delivered > 0 {
		if err := markDelivered(ctx, tx, batch[:out.delivered], dbNow); err != nil {
			return outcome{}, err
		}
	}
	if out.delivered == len(batch) || stopped {
		return out, nil
	}
	if sinkErr == nil {
		sinkErr = errors.New("sink delivered part of a batch without an error")
	}
	out.failed, out.failedType, out.errorKind = &batch[out.delivered], envs[out.delivered].Type, ErrorKind(sinkErr)
	var status string
	if err := tx.QueryRow(ctx, markFailedSQL, pgx.NamedArgs{
		"organization_id": out.failed.OrganizationID, "id": out.failed.ID, "last_error": out.errorKind,
		"next_attempt_at": dbNow.Add(r.backoff(out.failed.Attempts + 1)), "max_attempts": r.cfg.MaxAttempts,
	}).Scan(&status); err != nil {
		return outcome{}, err
	}
	out.dead = status == "dead"
	return out, nil
}

// ErrDeliveryFailed is returned by [Relay.RunOnce] when the sink failed part
// of a batch: what was delivered is recorded, the failed event will be
// retried, and the rest stay pending.
var ErrDeliveryFailed = telemetry.NewError("delivery_failed", "events: delivery failed")

// backoff is the wait before attempt n+1: RetryBackoff * 2^(n-1), capped
// at MaxRetryBackoff (doubling stops at the cap, so it never overflows),
// with "equal jitter" (between half and all of it) so that relays and
// events do not retry in lockstep.
func (r *Relay) backoff(attempt int) time.Duration {
	d := min(r.cfg.RetryBackoff, r.cfg.MaxRetryBackoff)
	for i := 1; i < attempt && d < r.cfg.MaxRetryBackoff; i++ {
		d = min(2*d, r.cfg.MaxRetryBackoff)
	}
	return d/2 + rand.N(d/2+1)
}

// Retry requeues a dead-lettered event for delivery (after the cause is
// fixed); the later events of its aggregate, held back meanwhile, follow
// it. It reports whether there was such a dead event.
func (r *Relay) Retry(ctx context.Context, organizationID, eventID uuid.UUID) (_ bool, err error) {
	ctx, span := r.tel.Start(ctx, "events.Relay.Retry", telemetry.Organization(organizationID),
		telemetry.EventIDKey.String(eventID.String()))
	defer span.End(&err)
	var n int64
	err = r.asRelay(ctx, func(tx pgx.Tx, now time.Time) error {
		tag, err := tx.Exec(ctx, retrySQL, pgx.NamedArgs{"organization_id": organizationID, "id": eventID, "now": now})
		n = tag.RowsAffected()
		return err
	})
	return n == 1, err
}

// listen wakes the relay on NOTIFY cl_pm_events until ctx ends, reconnecting
// after a lost connection (polling covers the gap).
func (r *Relay) listen(ctx context.Context, wake chan<- struct{}) {
	for ctx.Err() == nil {
		err := r.listenOnce(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		r.cfg.Logger.WarnContext(ctx, "event relay: LISTEN connection lost; polling until it is back", "error_kind", ErrorKind(err))
		select {
		case <-ctx.Done():
		case <-time.After(r.cfg.PollInterval):
		}
	}
}

func (r *Relay) listenOnce(ctx context.Context, wake chan<- struct{}) error {
	conn, err := r.cfg.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection leaves the pool for good: it still LISTENs.
	c := conn.Hijack()
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, "LISTEN "+Channel); err != nil {
		return err
	}
	for {
		if _, err := c.WaitForNotification(ctx); err != nil {
			return err
		}
		select {
		case wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}
