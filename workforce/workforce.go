package workforce

import (
	"context"
	_ "embed"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/trace"

	"github.com/encoreos/platform-go/internal/clients"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/sqlarg"
	"github.com/encoreos/platform-go/internal/telemetry"
	"github.com/encoreos/platform-go/internal/validate"
)

// Options narrow a productivity report, as the specification's
// getProviderProductivity options.
type Options struct {
	// SiteID limits the report to one site (the caller needs the
	// permission at that site); zero for the whole organization.
	SiteID uuid.UUID
	// ProviderID limits the report to one provider; zero for all.
	ProviderID uuid.UUID
	// PeriodStart and PeriodEnd bound the period asked about, [start,
	// end), between the years 1900 and 2199. The report covers the
	// smallest calendar month, quarter or year of the organization's time
	// zone that holds it (each summary says which): a period that does not
	// lie within one calendar year there is refused. Required.
	PeriodStart, PeriodEnd time.Time
}

// Minimum cell sizes an organization can set in hr_productivity_settings
// (min_cell_size, 5 to 50): the specification's threshold, which is the
// default, and CMS's cell-size policy (counts of 1 to 10 suppressed).
const (
	SeedMinCellSize = 5
	CMSMinCellSize  = 11
)

// MaxPeriod is the longest period that can lie within one calendar year.
const MaxPeriod = 366 * 24 * time.Hour

// Timeliness counts signed notes by documentation lag (session end to
// signature).
type Timeliness struct {
	Under24h, From24To48h, Over48h *int
}

// ProviderProductivitySummary is one provider's figures for the period.
// Every count carries the cell-key method's perturbation (-2 to +2); nil
// means hidden: a count whose perturbed value is under the organization's
// minimum cell size, zero included. A report has a row for every active
// clinician of the organization (or site), and for anyone else whose
// caseload is published.
type ProviderProductivitySummary struct {
	ProviderID     uuid.UUID
	SiteID         *uuid.UUID
	OrganizationID uuid.UUID
	PeriodStart    time.Time
	PeriodEnd      time.Time
	// Suppressed is true for a provider whose caseload is hidden, and
	// for a provider asked for by id who has no figures to publish
	// (unknown, inactive, another organization's): every figure is nil,
	// and so is SiteID.
	Suppressed          bool
	NotesCompletedCount *int
	// NotesCompletedPerWeek is NotesCompletedCount over the period's weeks.
	NotesCompletedPerWeek    *float64
	AvgDocumentationLagHours *float64
	DocumentationTimeliness  Timeliness
	ActiveCaseloadCount      *int
	NoShowCount              *int
	NoShowRate               *float64
	SessionCountByCategory   map[string]int
}

// Reader is what the HR service depends on; [Client] is the PostgreSQL
// implementation and workforcetest.Reader a fake.
type Reader interface {
	GetProviderProductivity(ctx context.Context, actingUser, organizationID uuid.UUID, opts Options) ([]ProviderProductivitySummary, error)
}

// DB starts transactions: a *pgxpool.Pool or *pgx.Conn connected as a role
// that is a member of `authenticated`.
type DB = dbtx.Beginner

// Client reads productivity as an acting user.
type Client struct {
	db  DB
	tel *telemetry.Telemetry
}

// Config configures a [Client]; nil means the defaults (there is nothing
// else to set yet: the report's rules are the database's).
type Config struct {
	// Now returns the current time; default time.Now. For tests.
	Now func() time.Time
	// TracerProvider receives a span per call (workforce.<Method>); default the
	// global provider (otel.GetTracerProvider) when New runs, which records
	// nothing until a host installs one.
	TracerProvider trace.TracerProvider
}

// New returns a Client over db; cfg may be nil.
func New(db DB, cfg *Config) (*Client, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	if _, err := clients.Clock("workforce", db, cfg.Now); err != nil {
		return nil, err
	}
	return &Client{db: db, tel: telemetry.New(nil, cfg.TracerProvider)}, nil
}

var _ Reader = (*Client)(nil)

// Errors. Match them with errors.Is; a *ValidationError with errors.As.
var (
	// ErrNoActingUser: the call was given no acting user.
	ErrNoActingUser = dbtx.ErrNoActingUser
	// ErrInvalid matches every *ValidationError.
	ErrInvalid = validate.ErrInvalid
	// ErrPermissionDenied: the acting user lacks hr.productivity.view in
	// the organization (or at the site). The attempt is audited.
	ErrPermissionDenied = dbtx.ErrPermissionDenied
)

// ValidationError names the input field that is wrong, never its value.
type ValidationError = validate.Error

var (
	//go:embed sql/request.sql
	requestSQL string
	//go:embed sql/productivity.sql
	productivitySQL string
)

// GetProviderProductivity returns the organization's provider productivity
// for the period, as actingUser: the specification's
// getProviderProductivity(organizationId, options).
func GetProviderProductivity(ctx context.Context, db DB, actingUser, organizationID uuid.UUID, opts Options) ([]ProviderProductivitySummary, error) {
	c, err := New(db, nil)
	if err != nil {
		return nil, err
	}
	return c.GetProviderProductivity(ctx, actingUser, organizationID, opts)
}

// Validate checks the options as every Reader does.
func (o Options) Validate() error {
	if o.PeriodStart.IsZero() || o.PeriodEnd.IsZero() {
		return validate.Errorf("PeriodStart", "and PeriodEnd are required")
	}
	if !o.PeriodEnd.After(o.PeriodStart) {
		return validate.Errorf("PeriodEnd", "must be after PeriodStart")
	}
	if o.PeriodStart.Year() < 1900 || o.PeriodEnd.Year() >= 2200 {
		return validate.Errorf("PeriodStart", "and PeriodEnd must lie between the years 1900 and 2199")
	}
	if o.PeriodEnd.Sub(o.PeriodStart) > MaxPeriod {
		return validate.Errorf("PeriodEnd", "does not lie in the same calendar year as PeriodStart")
	}
	return nil
}

type row struct {
	ProviderID               uuid.UUID  `db:"provider_id"`
	SiteID                   *uuid.UUID `db:"site_id"`
	OrganizationID           uuid.UUID  `db:"organization_id"`
	PeriodStart              time.Time  `db:"period_start"`
	PeriodEnd                time.Time  `db:"period_end"`
	Suppressed               bool       `db:"suppressed"`
	NotesCompletedCount      *int       `db:"notes_completed_count"`
	NotesCompletedPerWeek    *float64   `db:"notes_completed_per_week"`
	AvgDocumentationLagHours *float64   `db:"avg_documentation_lag_hours"`
	Under24h                 *int       `db:"timeliness_under_24h"`
	From24To48h              *int       `db:"timeliness_24_to_48h"`
	Over48h                  *int       `db:"timeliness_over_48h"`
	ActiveCaseloadCount      *int       `db:"active_caseload_count"`
	NoShowCount              *int       `db:"no_show_count"`
	NoShowRate               *float64   `db:"no_show_rate"`
	SessionCountByCategory   []byte     `db:"session_count_by_category"`
}

// GetProviderProductivity implements [Reader].
func (c *Client) GetProviderProductivity(ctx context.Context, actingUser, organizationID uuid.UUID, opts Options) (_ []ProviderProductivitySummary, err error) {
	ctx, span := c.tel.Start(ctx, "workforce.GetProviderProductivity", telemetry.Organization(organizationID))
	defer span.End(&err)
	if err := validate.Required("OrganizationID", organizationID); err != nil {
		return nil, err
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	args := pgx.NamedArgs{"organization_id": organizationID, "period_start": opts.PeriodStart,
		"period_end": opts.PeriodEnd, "site_id": sqlarg.UUID(opts.SiteID), "provider_id": sqlarg.UUID(opts.ProviderID)}
	// First the request, committed on its own: it is the call's audit row
	// (and counts toward the overlap budget), and the figures leave the
	// database only once it has committed.
	var refusal *string
	if err := dbtx.Run(ctx, c.db, actingUser, func(tx pgx.Tx) error {
		return dbtx.MapError(tx.QueryRow(ctx, requestSQL, args).Scan(&refusal))
	}); err != nil {
		return nil, err
	}
	switch {
	case refusal == nil:
	case strings.HasPrefix(*refusal, "period_"):
		return nil, validate.Errorf("PeriodEnd", "does not lie in the same calendar year as PeriodStart in the organization's time zone")
	default:
		return nil, ErrPermissionDenied
	}
	var out []ProviderProductivitySummary
	err = dbtx.Run(ctx, c.db, actingUser, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, productivitySQL, args)
		rs, err := pgx.CollectRows(rows, pgx.RowToStructByName[row])
		if err != nil {
			if dbtx.IsInvalidParameter(err) {
				return validate.Errorf("PeriodEnd", "is not a valid period")
			}
			return dbtx.MapError(err)
		}
		for _, r := range rs {
			s := ProviderProductivitySummary{ProviderID: r.ProviderID, SiteID: r.SiteID, OrganizationID: r.OrganizationID,
				PeriodStart: r.PeriodStart, PeriodEnd: r.PeriodEnd, Suppressed: r.Suppressed,
				NotesCompletedCount: r.NotesCompletedCount, NotesCompletedPerWeek: r.NotesCompletedPerWeek,
				AvgDocumentationLagHours: r.AvgDocumentationLagHours,
				DocumentationTimeliness:  Timeliness{Under24h: r.Under24h, From24To48h: r.From24To48h, Over48h: r.Over48h},
				ActiveCaseloadCount:      r.ActiveCaseloadCount, NoShowCount: r.NoShowCount, NoShowRate: r.NoShowRate}
			if r.SessionCountByCategory != nil {
				if err := json.Unmarshal(r.SessionCountByCategory, &s.SessionCountByCategory); err != nil {
					return err
				}
			}
			out = append(out, s)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
