package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/encoreos/platform-go/events"
)

const relayRole = "the relay's login role (a member of cl_event_relay)"

const deadNeeds = `
Needs DATABASE_URL for the relay's login role: a member of cl_event_relay,
which reads and updates the outbox and nothing else. No relay needs to be
running.
`

var deadListCommand = &command{
	name:    "dead list",
	summary: "list dead-lettered events (ids, types, attempts, error kinds)",
	help: `
Lists the events the relay dead-lettered after its last attempt, oldest first:
organization, event id, type, record (aggregate) and the event's place among
its events, attempts, the kind of the last error, when it was published, and
how many later events of the same record it holds back (they wait until it
is retried). Ids and codes only: never payload content.
` + deadNeeds + `
Example:
  DATABASE_URL=postgres://relay@db:5432/clinic platform dead list -org 6f1c…
`,
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
		url := databaseFlag(fs)
		org := uuidVar(fs, "org", "only this organization's events (a `uuid`)")
		limit := fs.Int("limit", 100, "at most this many events (1 to 10000)")
		return func(ctx context.Context, c *cli) int {
			if len(c.args) > 0 {
				return c.usage("unexpected argument %q", c.args[0])
			}
			return withDeadLetters(ctx, c, *url, func(dead *events.DeadLetters) int {
				list, err := dead.List(ctx, &events.DeadLetterListOpts{OrganizationID: org.id, Limit: *limit})
				if err != nil {
					return c.fail(err)
				}
				if len(list) == 0 {
					c.printf("no dead-lettered events\n")
					return exitOK
				}
				tw := c.table()
				fmt.Fprintln(tw, "ORGANIZATION\tEVENT\tTYPE\tAGGREGATE\tSEQ\tATTEMPTS\tLAST_ERROR\tCREATED\tHELD_BACK")
				for _, d := range list {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%d\n", d.OrganizationID, d.ID, d.EventType, d.AggregateID,
						d.AggregateSeq, d.Attempts, d.LastError, d.CreatedAt.UTC().Format(time.RFC3339), d.HeldBack)
				}
				tw.Flush()
				return exitOK
			})
		}
	},
}

// eventFlags adds -org and -event, both required.
func eventFlags(fs *flag.FlagSet) (org, event *uuidFlag) {
	return uuidVar(fs, "org", "the event's organization (a `uuid`; required)"), uuidVar(fs, "event", "the event's id (a `uuid`; required)")
}

// checkEvent reports a usage error when -org or -event is missing.
func checkEvent(c *cli, org, event *uuidFlag) (int, bool) {
	switch {
	case len(c.args) > 0:
		return c.usage("unexpected argument %q (give the event with -org and -event)", c.args[0]), false
	case org.id == uuid.Nil:
		return c.usage("-org is required"), false
	case event.id == uuid.Nil:
		return c.usage("-event is required"), false
	}
	return 0, true
}

var deadInspectCommand = &command{
	name:    "dead inspect",
	summary: "show one dead-lettered event: header, delivery history and code-only data",
	help: `
Shows one dead-lettered event: what dead list shows, the CloudEvents header
(source, subject, time, correlation id) and the event's data. The outbox
admits only UUIDs, codes, counts and timestamps as data, so nothing else can
be printed.
` + deadNeeds + `
Example:
  DATABASE_URL=postgres://relay@db:5432/clinic platform dead inspect -org 6f1c… -event 0193…
`,
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
		url := databaseFlag(fs)
		org, event := eventFlags(fs)
		return func(ctx context.Context, c *cli) int {
			if code, ok := checkEvent(c, org, event); !ok {
				return code
			}
			return withDeadLetters(ctx, c, *url, func(dead *events.DeadLetters) int {
				d, err := dead.Get(ctx, org.id, event.id)
				if errors.Is(err, events.ErrNotFound) {
					return c.fail(fmt.Errorf("no dead-lettered event %s in organization %s", event.id, org.id))
				}
				if err != nil {
					return c.fail(err)
				}
				return printDeadLetter(c, d)
			})
		}
	},
}

func printDeadLetter(c *cli, d *events.DeadLetter) int {
	var data map[string]json.RawMessage
	if err := json.Unmarshal(d.Envelope.Data, &data); err != nil {
		return c.fail(fmt.Errorf("event %s: its data is not a JSON object", d.ID))
	}
	tw := c.table()
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	row("organization", d.OrganizationID)
	row("event", d.ID)
	row("type", d.EventType)
	row("aggregate", d.AggregateID)
	row("aggregate_seq", d.AggregateSeq)
	row("attempts", d.Attempts)
	row("last_error", d.LastError)
	row("created", d.CreatedAt.UTC().Format(time.RFC3339Nano))
	row("held_back", d.HeldBack)
	row("source", d.Envelope.Source)
	row("subject", d.Envelope.Subject)
	row("time", d.Envelope.Time.UTC().Format(time.RFC3339Nano))
	if d.Envelope.CorrelationID != "" {
		row("correlation_id", d.Envelope.CorrelationID)
	}
	for _, k := range slices.Sorted(maps.Keys(data)) {
		row("data."+k, string(data[k]))
	}
	tw.Flush()
	return exitOK
}

var deadRetryCommand = &command{
	name:    "dead retry",
	summary: "requeue dead-lettered events once their cause is fixed",
	help: `
Puts a dead-lettered event back in the queue with its attempts reset, after
the cause (a stream missing, the broker down) is fixed; a running relay then
delivers it and the later events of its record it held back. With -all,
requeues every dead-lettered event (of -org, when given), up to 10000.
` + deadNeeds + `
Example:
  DATABASE_URL=postgres://relay@db:5432/clinic platform dead retry -org 6f1c… -event 0193…
  DATABASE_URL=postgres://relay@db:5432/clinic platform dead retry -all
`,
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
		url := databaseFlag(fs)
		org, event := eventFlags(fs)
		all := fs.Bool("all", false, "requeue every dead-lettered event (of -org when given) instead of one")
		return func(ctx context.Context, c *cli) int {
			if *all {
				if len(c.args) > 0 || event.id != uuid.Nil {
					return c.usage("-all takes no -event and no argument")
				}
			} else if code, ok := checkEvent(c, org, event); !ok {
				return code
			}
			return withDeadLetters(ctx, c, *url, func(dead *events.DeadLetters) int {
				targets := []events.DeadLetter{{OrganizationID: org.id, ID: event.id}}
				if *all {
					var err error
					if targets, err = dead.List(ctx, &events.DeadLetterListOpts{OrganizationID: org.id, Limit: 10000}); err != nil {
						return c.fail(err)
					}
				}
				requeued := 0
				for _, d := range targets {
					ok, err := dead.Retry(ctx, d.OrganizationID, d.ID)
					if err != nil {
						return c.fail(err)
					}
					if ok {
						requeued++
						c.printf("requeued %s (organization %s)\n", d.ID, d.OrganizationID)
					} else if !*all {
						return c.fail(fmt.Errorf("no dead-lettered event %s in organization %s", d.ID, d.OrganizationID))
					}
				}
				c.printf("%d events requeued\n", requeued)
				return exitOK
			})
		}
	},
}

func withDeadLetters(ctx context.Context, c *cli, url string, fn func(*events.DeadLetters) int) int {
	return c.withPool(ctx, url, relayRole, func(pool *pgxpool.Pool) int {
		dead, err := events.NewDeadLetters(pool)
		if err != nil {
			return c.fail(err)
		}
		return fn(dead)
	})
}
