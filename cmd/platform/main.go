// Command platform is the operator's tool for a database and broker that
// run github.com/encoreos/platform-go: it applies and verifies the
// migrations, checks a host's database for what would make it unsafe
// (doctor), runs the event relay to NATS JetStream, lists, inspects and
// retries dead-lettered events, and prints a chart's accounting of
// disclosures.
//
//	go run ./cmd/platform help
//	go run ./cmd/platform doctor -help
//
// It prints identifiers, codes, counts and times only, never PHI.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal ends the process at once, not gracefully
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK       = 0 // done; nothing wrong found
	exitProblems = 1 // the command ran and found something wrong, or failed
	exitUsage    = 2 // the command line is wrong
)

// command is one subcommand.
type command struct {
	name    string
	summary string // one line for the command list
	// help says what it does, what it needs and an example; the flags
	// follow it.
	help  string
	flags func(fs *flag.FlagSet) func(ctx context.Context, c *cli) int
}

// cli is what a running subcommand writes to.
type cli struct {
	name           string // the command's, e.g. "dead list"
	stdout, stderr io.Writer
	args           []string // the arguments left after the flags
}

func (c *cli) printf(format string, args ...any) { fmt.Fprintf(c.stdout, format, args...) }

// fail reports err on stderr and returns exitProblems.
func (c *cli) fail(err error) int {
	fmt.Fprintln(c.stderr, "platform:", err)
	return exitProblems
}

// table writes aligned columns to stdout.
func (c *cli) table() *tabwriter.Writer { return tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0) }

var commands []*command // filled in by init, in the order help lists them

func init() {
	commands = []*command{migrateCommand, versionCommand, verifyCommand, doctorCommand, relayCommand,
		deadListCommand, deadInspectCommand, deadRetryCommand, accountingCommand}
}

const overview = `platform: the operator's tool for github.com/encoreos/platform-go.

Usage:
  platform <command> [flags] [arguments]
  platform help <command>     (or platform <command> -help)

Commands:
`

const overviewEnd = `
Every command reads the connection string from DATABASE_URL (or -database-url).
Which role to connect as differs: migrate, version, verify and doctor need the
migrating role (a superuser, or BYPASSRLS on Supabase); relay and dead need
the relay's login role (a member of cl_event_relay); accounting needs the
application's login role (a member of authenticated) and acts as a user.

Exit status: 0 done and nothing wrong, 1 something wrong found or failed,
2 a wrong command line.
`

func printOverview(w io.Writer) {
	fmt.Fprint(w, overview)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprint(w, overviewEnd)
}

// run runs the command line args (without the program's name) and returns
// the exit status. ctx's cancellation stops a running relay.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printOverview(stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) == 1 {
			printOverview(stdout)
			return exitOK
		}
		cmd, _ := find(args[1:])
		if cmd == nil {
			fmt.Fprintf(stderr, "platform: no command %q; run platform help\n", strings.Join(args[1:], " "))
			return exitUsage
		}
		return runCommand(ctx, cmd, []string{"-help"}, stdout, stderr)
	}
	cmd, n := find(args)
	if cmd == nil {
		fmt.Fprintf(stderr, "platform: no command %q; run platform help\n", strings.Join(args[:min(2, len(args))], " "))
		return exitUsage
	}
	return runCommand(ctx, cmd, args[n:], stdout, stderr)
}

// find returns the command args begin with ("dead list" is two words)
// and how many words named it.
func find(args []string) (*command, int) {
	for _, c := range commands {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			return c, len(words)
		}
	}
	return nil, 0
}

func runCommand(ctx context.Context, cmd *command, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("platform "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors and help are printed below
	body := cmd.flags(fs)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stdout, "Usage: platform %s [flags]\n\n%s\nFlags:\n", cmd.name, strings.TrimLeft(cmd.help, "\n"))
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "platform %s: %v\nRun platform %s -help for its usage.\n", cmd.name, err, cmd.name)
		return exitUsage
	}
	return body(ctx, &cli{name: cmd.name, stdout: stdout, stderr: stderr, args: fs.Args()})
}

// usageError is a wrong command line found after parsing.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usage reports a wrong command line and returns exitUsage.
func (c *cli) usage(format string, args ...any) int {
	fmt.Fprintf(c.stderr, "platform %s: %s\nRun platform %s -help for its usage.\n", c.name, fmt.Sprintf(format, args...), c.name)
	return exitUsage
}

// databaseFlag adds -database-url to fs. Its default, $DATABASE_URL, is
// read when the command runs (connect), so that help never prints it: it
// may hold a password.
func databaseFlag(fs *flag.FlagSet) *string {
	return fs.String("database-url", "", "PostgreSQL connection string (default $DATABASE_URL; prefer it: arguments are visible to the machine's other users)")
}

// connect opens a pool on url; who says which role the command needs, for
// the message when url is empty.
func connect(ctx context.Context, url, who string) (*pgxpool.Pool, error) {
	if url = firstOf(url, os.Getenv("DATABASE_URL")); strings.TrimSpace(url) == "" {
		return nil, &usageError{"DATABASE_URL is not set (nor -database-url): set it to a connection string for " + who}
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting: %w", err)
	}
	return pool, nil
}

// withPool connects, runs fn and closes the pool, turning a missing
// connection string into a usage error.
func (c *cli) withPool(ctx context.Context, url, who string, fn func(*pgxpool.Pool) int) int {
	pool, err := connect(ctx, url, who)
	var uerr *usageError
	if errors.As(err, &uerr) {
		return c.usage("%s", uerr.msg)
	}
	if err != nil {
		return c.fail(err)
	}
	defer pool.Close()
	return fn(pool)
}

// uuidFlag is a flag holding a UUID; the zero UUID when not given.
type uuidFlag struct{ id uuid.UUID }

func (f *uuidFlag) String() string {
	if f.id == uuid.Nil {
		return ""
	}
	return f.id.String()
}

func (f *uuidFlag) Set(s string) error {
	id, err := uuid.Parse(s)
	if err != nil {
		return errors.New("not a UUID")
	}
	f.id = id
	return nil
}

func uuidVar(fs *flag.FlagSet, name, usage string) *uuidFlag {
	f := &uuidFlag{}
	fs.Var(f, name, usage)
	return f
}
