package consent

import (
	"context"
	_ "embed"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/encoreos/platform-go/internal/clients"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/sqlarg"
	"github.com/encoreos/platform-go/internal/telemetry"
	"github.com/encoreos/platform-go/internal/validate"
)

// DB starts transactions: a *pgxpool.Pool or a *pgx.Conn connected as a
// role that is a member of `authenticated`.
type DB = dbtx.Beginner

// Client records consents and answers consent questions in PostgreSQL. It
// implements [Checker]. Every method acts as the acting user it is given;
// the methods ending in Tx run inside the caller's transaction instead of
// their own.
type Client struct {
	db        DB
	now       func() time.Time
	tel       *telemetry.Telemetry
	decisions metric.Int64Counter
}

// Config configures a [Client]; nil means the defaults.
type Config struct {
	// Now returns the current time; default time.Now. For tests.
	Now func() time.Time
	// MeterProvider receives the count of consent decisions
	// (platform.consent.decisions); default the global provider
	// (otel.GetMeterProvider) when New runs, which records nothing until a
	// host installs one.
	MeterProvider metric.MeterProvider
	// TracerProvider receives a span per call (consent.Check, ...);
	// default the global provider (otel.GetTracerProvider) when New runs.
	TracerProvider trace.TracerProvider
}

// New returns a Client over db; cfg may be nil.
func New(db DB, cfg *Config) (*Client, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	now, err := clients.Clock("consent", db, cfg.Now)
	if err != nil {
		return nil, err
	}
	c := &Client{db: db, now: now, tel: telemetry.New(cfg.MeterProvider, cfg.TracerProvider)}
	c.instrument()
	return c, nil
}

var _ Checker = (*Client)(nil)

var (
	//go:embed sql/grant.sql
	grantSQL string
	//go:embed sql/revoke.sql
	revokeSQL string
	//go:embed sql/get.sql
	getSQL string
	//go:embed sql/get_for_update.sql
	getForUpdateSQL string
	//go:embed sql/list.sql
	listSQL string
	//go:embed sql/break_glass.sql
	breakGlassSQL string
	//go:embed sql/disclosures.sql
	disclosuresSQL string
)

// Grant records a signed consent. The acting user needs cl.consent.manage
// in the organization.
func (s *Client) Grant(ctx context.Context, actingUser uuid.UUID, p GrantParams) (*Consent, error) {
	return s.grant(ctx, nil, actingUser, p)
}

// GrantTx is [Client.Grant] inside the caller's transaction.
func (s *Client) GrantTx(ctx context.Context, tx pgx.Tx, actingUser uuid.UUID, p GrantParams) (*Consent, error) {
	if tx == nil {
		return nil, dbtx.ErrNilTx
	}
	return s.grant(ctx, tx, actingUser, p)
}

func (s *Client) grant(ctx context.Context, tx pgx.Tx, actingUser uuid.UUID, p GrantParams) (_ *Consent, err error) {
	ctx, span := s.tel.Start(ctx, "consent.Grant", telemetry.Organization(p.OrganizationID))
	defer span.End(&err)
	if err := p.validate(s.now()); err != nil {
		return nil, err
	}
	disclosing := p.DisclosingOrganizationID
	if disclosing == uuid.Nil {
		disclosing = p.OrganizationID
	}
	args := pgx.NamedArgs{
		"organization_id":            p.OrganizationID,
		"chart_id":                   p.ChartID,
		"disclosing_organization_id": disclosing,
		"recipient_user_id":          sqlarg.UUID(p.Recipient.UserID),
		"recipient_organization_id":  sqlarg.UUID(p.Recipient.OrganizationID),
		"record_types":               p.RecordTypes,
		"purposes":                   p.Purposes,
		"effective_at":               sqlarg.Time(p.EffectiveAt),
		"expires_at":                 sqlarg.Time(p.ExpiresAt),
		"expiration_event":           sqlarg.String(p.ExpirationEvent),
		"signed_at":                  p.SignedAt,
		"signer":                     p.Signer,
	}
	var c *Consent
	err = dbtx.In(ctx, s.db, tx, actingUser, func(tx pgx.Tx) (err error) {
		c, err = collectOne(tx.Query(ctx, grantSQL, args))
		return err
	})
	if dbtx.IsForeignKeyViolation(err) {
		// The chart or an organization does not exist: say no more than that.
		return nil, validate.Errorf("ChartID", "does not name a chart of the organization")
	}
	if err == nil {
		span.Set(telemetry.ID(consentIDKey, c.ID))
	}
	return c, err
}

// Revoke revokes a consent at once. The acting user needs
// cl.consent.manage. A consent can be revoked only once.
func (s *Client) Revoke(ctx context.Context, actingUser, organizationID, consentID uuid.UUID) (*Consent, error) {
	return s.revoke(ctx, nil, actingUser, organizationID, consentID)
}

// RevokeTx is [Client.Revoke] inside the caller's transaction.
func (s *Client) RevokeTx(ctx context.Context, tx pgx.Tx, actingUser, organizationID, consentID uuid.UUID) (*Consent, error) {
	if tx == nil {
		return nil, dbtx.ErrNilTx
	}
	return s.revoke(ctx, tx, actingUser, organizationID, consentID)
}

func (s *Client) revoke(ctx context.Context, tx pgx.Tx, actingUser, organizationID, consentID uuid.UUID) (_ *Consent, err error) {
	ctx, span := s.tel.Start(ctx, "consent.Revoke", telemetry.Organization(organizationID), telemetry.ID(consentIDKey, consentID))
	defer span.End(&err)
	if err := validate.First(validate.Required("OrganizationID", organizationID), validate.Required("ConsentID", consentID)); err != nil {
		return nil, err
	}
	var c *Consent
	err = dbtx.In(ctx, s.db, tx, actingUser, func(tx pgx.Tx) error {
		args := pgx.NamedArgs{"organization_id": organizationID, "id": consentID}
		if _, err := collectOne(tx.Query(ctx, getSQL, args)); err != nil {
			return err
		}
		// The lock makes concurrent revocations queue up; a consent the
		// user may see but not manage is not locked for it.
		current, err := collectOne(tx.Query(ctx, getForUpdateSQL, args))
		if errors.Is(err, ErrNotFound) {
			return ErrPermissionDenied
		}
		if err != nil {
			return err
		}
		if current.RevokedAt != nil {
			return ErrAlreadyRevoked
		}
		c, err = collectOne(tx.Query(ctx, revokeSQL, args))
		return err
	})
	return c, err
}

// List returns a chart's consents, newest first. Users without
// cl.consent.view or cl.consent.manage get an empty list, as for a chart
// with no consents.
func (s *Client) List(ctx context.Context, actingUser, organizationID, chartID uuid.UUID) (_ []Consent, err error) {
	ctx, span := s.tel.Start(ctx, "consent.List", telemetry.Organization(organizationID))
	defer span.End(&err)
	if err := validate.First(validate.Required("OrganizationID", organizationID), validate.Required("ChartID", chartID)); err != nil {
		return nil, err
	}
	var out []Consent
	err = dbtx.Run(ctx, s.db, actingUser, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, listSQL, pgx.NamedArgs{"organization_id": organizationID, "chart_id": chartID})
		var err error
		out, err = pgx.CollectRows(rows, pgx.RowToStructByName[Consent])
		return dbtx.MapError(err)
	})
	return out, err
}

// BreakGlass opens a medical-emergency access (42 CFR 2.51) to one chart for
// the acting user, who needs cl.part2.break_glass in the chart's
// organization. It is audited as part2.emergency_access.opened.
func (s *Client) BreakGlass(ctx context.Context, actingUser uuid.UUID, p BreakGlassParams) (*EmergencyAccess, error) {
	return s.breakGlass(ctx, nil, actingUser, p)
}

// BreakGlassTx is [Client.BreakGlass] inside the caller's transaction.
func (s *Client) BreakGlassTx(ctx context.Context, tx pgx.Tx, actingUser uuid.UUID, p BreakGlassParams) (*EmergencyAccess, error) {
	if tx == nil {
		return nil, dbtx.ErrNilTx
	}
	return s.breakGlass(ctx, tx, actingUser, p)
}

func (s *Client) breakGlass(ctx context.Context, tx pgx.Tx, actingUser uuid.UUID, p BreakGlassParams) (_ *EmergencyAccess, err error) {
	ctx, span := s.tel.Start(ctx, "consent.BreakGlass")
	defer span.End(&err)
	if err := p.validate(); err != nil {
		return nil, err
	}
	if p.Duration == 0 {
		p.Duration = DefaultBreakGlassDuration
	}
	var e *EmergencyAccess
	err = dbtx.In(ctx, s.db, tx, actingUser, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, breakGlassSQL, pgx.NamedArgs{"chart_id": p.ChartID, "reason": p.Reason, "duration": p.Duration})
		var err error
		e, err = pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByName[EmergencyAccess])
		return dbtx.MapError(err)
	})
	if err == nil {
		span.Set(telemetry.Organization(e.OrganizationID), telemetry.ID(emergencyAccessIDKey, e.ID))
	}
	return e, err
}

// Check answers req and, for a Part 2 chart, writes the decision to the
// audit log in the same transaction.
func (s *Client) Check(ctx context.Context, req Request) (Decision, error) {
	return s.check(ctx, nil, req)
}

// CheckTx is [Client.Check] inside the caller's transaction, so that the
// audit row commits or rolls back with the host's work.
func (s *Client) CheckTx(ctx context.Context, tx pgx.Tx, req Request) (Decision, error) {
	if tx == nil {
		return Decision{}, dbtx.ErrNilTx
	}
	return s.check(ctx, tx, req)
}

func (s *Client) check(ctx context.Context, tx pgx.Tx, req Request) (_ Decision, err error) {
	ctx, span := s.tel.Start(ctx, "consent.Check")
	defer span.End(&err)
	if err := req.Validate(); err != nil {
		return Decision{}, err
	}
	var basis Basis
	err = dbtx.In(ctx, s.db, tx, req.ActingUser, func(tx pgx.Tx) error {
		return dbtx.MapError(tx.QueryRow(ctx, `SELECT public.cl_part2_decide($1, $2, $3, $4)`,
			req.ChartID, req.RecordType, req.Purpose, req.Use).Scan(&basis))
	})
	if err != nil {
		return Decision{}, err
	}
	d := decision(basis)
	attrs := decisionAttributes(&req, d)
	span.Set(attrs...)
	s.decisions.Add(ctx, 1, metric.WithAttributes(attrs...))
	return d, nil
}

// Disclosures returns the accounting of disclosures for a chart since a
// time (patients may ask for three years). The acting user needs
// pf.audit.view; others get an empty list.
func (s *Client) Disclosures(ctx context.Context, actingUser, organizationID, chartID uuid.UUID, since time.Time) (_ []Disclosure, err error) {
	ctx, span := s.tel.Start(ctx, "consent.Disclosures", telemetry.Organization(organizationID))
	defer span.End(&err)
	if err := validate.First(validate.Required("OrganizationID", organizationID), validate.Required("ChartID", chartID)); err != nil {
		return nil, err
	}
	var out []Disclosure
	err = dbtx.Run(ctx, s.db, actingUser, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, disclosuresSQL, pgx.NamedArgs{"organization_id": organizationID, "chart_id": chartID, "since": since})
		var err error
		out, err = pgx.CollectRows(rows, pgx.RowToStructByName[Disclosure])
		return dbtx.MapError(err)
	})
	return out, err
}

func collectOne(rows pgx.Rows, err error) (*Consent, error) {
	if err != nil {
		return nil, dbtx.MapError(err)
	}
	c, err := pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByName[Consent])
	return c, dbtx.MapError(err)
}
