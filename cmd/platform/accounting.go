package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/encoreos/platform-go/consent"
)

var accountingCommand = &command{
	name:    "accounting",
	summary: "print a chart's accounting of disclosures (42 CFR 2.24), as a privacy officer",
	help: `
Prints the accounting of disclosures of one Part 2 chart since a time
(consent.Client.Disclosures): every consent granted or revoked, every
medical-emergency access, every access decision and every disclosure of its
records, oldest first, with who acted, the purpose, record type, use, basis,
and the consent or emergency access behind it. Ids, codes and times only.

It acts as the user -as, through the library's acting-user transaction, so
row-level security decides what it sees: the user needs pf.audit.view in the
organization (a privacy officer); anyone else, or another organization's
chart, gets an empty accounting, exactly as if nothing had happened.

Needs DATABASE_URL for the application's login role (a member of
authenticated), never a superuser or a role that bypasses row-level
security.

Example:
  DATABASE_URL=postgres://app@db:5432/clinic platform accounting \
    -as 3b0e… -org 6f1c… -chart 9a47… -since 2024-01-01
`,
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
		url := databaseFlag(fs)
		as := uuidVar(fs, "as", "the acting user, who needs pf.audit.view (a `uuid`; required)")
		org := uuidVar(fs, "org", "the chart's organization (a `uuid`; required)")
		chart := uuidVar(fs, "chart", "the chart (a `uuid`; required)")
		since := fs.String("since", "", "from this date (2006-01-02) or time (RFC 3339); default three years ago")
		return func(ctx context.Context, c *cli) int {
			if len(c.args) > 0 {
				return c.usage("unexpected argument %q", c.args[0])
			}
			for _, f := range []struct {
				name string
				v    *uuidFlag
			}{{"as", as}, {"org", org}, {"chart", chart}} {
				if f.v.id == uuid.Nil {
					return c.usage("-%s is required", f.name)
				}
			}
			from, err := parseSince(*since, time.Now())
			if err != nil {
				return c.usage("-since: %v", err)
			}
			return c.withPool(ctx, *url, "the application's login role (a member of authenticated)", func(pool *pgxpool.Pool) int {
				client, err := consent.New(pool, nil)
				if err != nil {
					return c.fail(err)
				}
				rows, err := client.Disclosures(ctx, as.id, org.id, chart.id, from)
				if err != nil {
					return c.fail(err)
				}
				if len(rows) == 0 {
					c.printf("no disclosures of chart %s since %s that user %s may see (the accounting needs pf.audit.view in the organization)\n",
						chart.id, from.UTC().Format(time.RFC3339), as.id)
					return exitOK
				}
				tw := c.table()
				fmt.Fprintln(tw, "OCCURRED_AT\tACTION\tACTOR\tPURPOSE\tRECORD_TYPE\tUSE\tBASIS\tCONSENT\tEMERGENCY_ACCESS\tSITE")
				for _, d := range rows {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.OccurredAt.UTC().Format(time.RFC3339), d.Action,
						orDash(d.ActorUserID), orDash(d.Purpose), orDash(d.RecordType), orDash(d.Use), orDash(d.Basis),
						orDash(d.ConsentID), orDash(d.EmergencyAccessID), orDash(d.SiteID))
				}
				tw.Flush()
				return exitOK
			})
		}
	},
}

// parseSince reads -since: a date, a time, or "" for three years before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return now.AddDate(-3, 0, 0), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a date (2006-01-02) nor an RFC 3339 time", s)
	}
	return t, nil
}

// orDash prints a value that may be absent.
func orDash[T any](p *T) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}
