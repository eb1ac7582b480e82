package supervision

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/trace"

	"github.com/encoreos/platform-go/internal/clients"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/telemetry"
	"github.com/encoreos/platform-go/internal/validate"
)

// DB starts transactions: a *pgxpool.Pool or *pgx.Conn connected as a role
// that is a member of `authenticated`.
type DB = dbtx.Beginner

// Client records supervision and evaluates compliance, always as an acting
// user; the methods ending in Tx run inside the caller's transaction.
type Client struct {
	db  DB
	now func() time.Time
	tel *telemetry.Telemetry
}

// Config configures a [Client]; nil means the defaults.
type Config struct {
	// Now returns the current time; default time.Now. For tests.
	Now func() time.Time
	// TracerProvider receives a span per call (supervision.<Method>); default the
	// global provider (otel.GetTracerProvider) when New runs, which records
	// nothing until a host installs one.
	TracerProvider trace.TracerProvider
}

// New returns a Client over db; cfg may be nil.
func New(db DB, cfg *Config) (*Client, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	now, err := clients.Clock("supervision", db, cfg.Now)
	if err != nil {
		return nil, err
	}
	return &Client{db: db, now: now, tel: telemetry.New(nil, cfg.TracerProvider)}, nil
}

var (
	//go:embed sql/insert.sql
	insertSQL string
	//go:embed sql/get.sql
	getSQL string
	//go:embed sql/list_by_peer.sql
	listByPeerSQL string
	//go:embed sql/peers_per_supervisor.sql
	peersPerSupervisorSQL string
	//go:embed sql/certified_on.sql
	certifiedOnSQL string
	//go:embed sql/set_certified_on.sql
	setCertifiedOnSQL string
	//go:embed sql/rules.sql
	rulesSQL string
	//go:embed sql/set_rules.sql
	setRulesSQL string
)

// Record records a supervision session. The acting user needs
// cl.peer.supervision.manage.
func (c *Client) Record(ctx context.Context, actingUser uuid.UUID, p RecordParams) (*Record, error) {
	return c.record(ctx, nil, actingUser, p)
}

// RecordTx is [Client.Record] inside the caller's transaction.
func (c *Client) RecordTx(ctx context.Context, tx pgx.Tx, actingUser uuid.UUID, p RecordParams) (*Record, error) {
	if tx == nil {
		return nil, dbtx.ErrNilTx
	}
	return c.record(ctx, tx, actingUser, p)
}

func (c *Client) record(ctx context.Context, tx pgx.Tx, actingUser uuid.UUID, p RecordParams) (_ *Record, err error) {
	ctx, span := c.tel.Start(ctx, "supervision.Record", telemetry.Organization(p.OrganizationID))
	defer span.End(&err)
	if err := p.validate(c.now()); err != nil {
		return nil, err
	}
	var r *Record
	err = dbtx.In(ctx, c.db, tx, actingUser, func(tx pgx.Tx) error {
		var duration *int
		if p.DurationMinutes > 0 {
			duration = &p.DurationMinutes
		}
		var id uuid.UUID
		if err := tx.QueryRow(ctx, insertSQL, pgx.NamedArgs{"organization_id": p.OrganizationID,
			"peer_provider_id": p.PeerProviderID, "supervisor_id": p.SupervisorID, "supervision_date": day(p.SupervisionDate),
			"modality": p.Modality, "duration_minutes": duration, "notes": p.Notes}).Scan(&id); err != nil {
			return staffFields.Map(err)
		}
		rows, _ := tx.Query(ctx, getSQL, pgx.NamedArgs{"organization_id": p.OrganizationID, "id": id})
		var err error
		r, err = pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByName[Record])
		return dbtx.MapError(err)
	})
	return r, err
}

// ListByPeer returns a peer's supervision records with dates in [from, to],
// oldest first.
func (c *Client) ListByPeer(ctx context.Context, actingUser, organizationID, peerProviderID uuid.UUID, from, to time.Time) (_ []Record, err error) {
	ctx, span := c.tel.Start(ctx, "supervision.ListByPeer", telemetry.Organization(organizationID))
	defer span.End(&err)
	var out []Record
	err = c.read(ctx, actingUser, organizationID, peerProviderID, from, to, func(tx pgx.Tx, args pgx.NamedArgs) (err error) {
		out, err = listByPeer(ctx, tx, args)
		return err
	})
	return out, err
}

func listByPeer(ctx context.Context, tx pgx.Tx, args pgx.NamedArgs) ([]Record, error) {
	rows, _ := tx.Query(ctx, listByPeerSQL, args)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[Record])
	return out, dbtx.MapError(err)
}

// read validates a (peer, period) question and runs fn with its arguments.
func (c *Client) read(ctx context.Context, actingUser, org, peer uuid.UUID, from, to time.Time, fn func(pgx.Tx, pgx.NamedArgs) error) error {
	if err := validate.First(validate.Required("OrganizationID", org), validate.Required("PeerProviderID", peer)); err != nil {
		return err
	}
	if from.IsZero() || to.IsZero() || day(to).Before(day(from)) {
		return validate.Errorf("To", "must be on or after From, and both are required")
	}
	if day(to).Sub(day(from)) > 3*366*24*time.Hour {
		return validate.Errorf("To", "is more than three years after From")
	}
	args := pgx.NamedArgs{"organization_id": org, "peer_provider_id": peer, "from": day(from), "to": day(to)}
	return dbtx.Run(ctx, c.db, actingUser, func(tx pgx.Tx) error { return fn(tx, args) })
}

// SetCertifiedOn records when a peer specialist's certification began. The
// acting user needs cl.peer.certification.manage.
func (c *Client) SetCertifiedOn(ctx context.Context, actingUser, organizationID, peerProviderID uuid.UUID, certifiedOn time.Time) error {
	return c.setCertifiedOn(ctx, nil, actingUser, organizationID, peerProviderID, certifiedOn)
}

// SetCertifiedOnTx is [Client.SetCertifiedOn] inside the caller's
// transaction.
func (c *Client) SetCertifiedOnTx(ctx context.Context, tx pgx.Tx, actingUser, organizationID, peerProviderID uuid.UUID, certifiedOn time.Time) error {
	if tx == nil {
		return dbtx.ErrNilTx
	}
	return c.setCertifiedOn(ctx, tx, actingUser, organizationID, peerProviderID, certifiedOn)
}

func (c *Client) setCertifiedOn(ctx context.Context, tx pgx.Tx, actingUser, org, peer uuid.UUID, certifiedOn time.Time) (err error) {
	ctx, span := c.tel.Start(ctx, "supervision.SetCertifiedOn", telemetry.Organization(org))
	defer span.End(&err)
	if err := validate.First(validate.Required("OrganizationID", org), validate.Required("PeerProviderID", peer)); err != nil {
		return err
	}
	if certifiedOn.IsZero() || day(certifiedOn).After(day(c.now())) {
		return validate.Errorf("CertifiedOn", "is required and not in the future")
	}
	return dbtx.In(ctx, c.db, tx, actingUser, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, setCertifiedOnSQL, pgx.NamedArgs{"organization_id": org, "peer_provider_id": peer, "certified_on": day(certifiedOn)})
		return staffFields.Map(err)
	})
}

// staffFields turns the database's refusals of the staff a row names
// (cl_peer_supervision_staff_guard, the foreign keys to pf_members) into
// field errors; a refused permission is ErrPermissionDenied.
var staffFields = dbtx.Fields{
	"peer_provider_id": {Name: "PeerProviderID", Reason: "is not an active peer specialist of the organization"},
	"supervisor_id":    {Name: "SupervisorID", Reason: "may not supervise peers in the organization"},
	"cl_peer_supervision_organization_id_peer_provider_id_fkey":    {Name: "PeerProviderID", Reason: "is not a member of the organization"},
	"cl_peer_supervision_organization_id_supervisor_id_fkey":       {Name: "SupervisorID", Reason: "is not a member of the organization"},
	"cl_peer_certifications_organization_id_peer_provider_id_fkey": {Name: "PeerProviderID", Reason: "is not a member of the organization"},
}

// SetRules stores the organization's rule set after validating it. The
// acting user needs cl.peer.supervision.manage.
func (c *Client) SetRules(ctx context.Context, actingUser, organizationID uuid.UUID, rules RuleSet) error {
	return c.setRules(ctx, nil, actingUser, organizationID, rules)
}

// SetRulesTx is [Client.SetRules] inside the caller's transaction.
func (c *Client) SetRulesTx(ctx context.Context, tx pgx.Tx, actingUser, organizationID uuid.UUID, rules RuleSet) error {
	if tx == nil {
		return dbtx.ErrNilTx
	}
	return c.setRules(ctx, tx, actingUser, organizationID, rules)
}

func (c *Client) setRules(ctx context.Context, tx pgx.Tx, actingUser, org uuid.UUID, rules RuleSet) (err error) {
	ctx, span := c.tel.Start(ctx, "supervision.SetRules", telemetry.Organization(org))
	defer span.End(&err)
	if err := validate.Required("OrganizationID", org); err != nil {
		return err
	}
	if err := rules.Validate(); err != nil {
		return &ValidationError{Field: "Rules", Reason: err.Error()}
	}
	raw, err := json.Marshal(rules)
	if err != nil {
		return err
	}
	return dbtx.In(ctx, c.db, tx, actingUser, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, setRulesSQL, pgx.NamedArgs{"organization_id": org, "rules": raw})
		return dbtx.MapError(err)
	})
}

// Rules returns the organization's rule set (the zero RuleSet, every rule
// off, when none is stored).
func (c *Client) Rules(ctx context.Context, actingUser, organizationID uuid.UUID) (_ RuleSet, err error) {
	ctx, span := c.tel.Start(ctx, "supervision.Rules", telemetry.Organization(organizationID))
	defer span.End(&err)
	var rules RuleSet
	err = dbtx.Run(ctx, c.db, actingUser, func(tx pgx.Tx) (err error) {
		rules, err = loadRules(ctx, tx, organizationID)
		return err
	})
	return rules, err
}

func loadRules(ctx context.Context, tx pgx.Tx, org uuid.UUID) (RuleSet, error) {
	var raw []byte
	var rules RuleSet
	err := tx.QueryRow(ctx, rulesSQL, pgx.NamedArgs{"organization_id": org}).Scan(&raw)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return rules, nil
	case err != nil:
		return rules, dbtx.MapError(err)
	}
	if err := json.Unmarshal(raw, &rules); err != nil {
		return rules, fmt.Errorf("supervision: stored rules are not valid: %w", err)
	}
	return rules, rules.Validate()
}

// Compliance evaluates the organization's rules for one peer over [from,
// to] (inclusive dates, at most three years).
func (c *Client) Compliance(ctx context.Context, actingUser, organizationID, peerProviderID uuid.UUID, from, to time.Time) (_ *Summary, err error) {
	ctx, span := c.tel.Start(ctx, "supervision.Compliance", telemetry.Organization(organizationID))
	defer span.End(&err)
	var s Summary
	err = c.read(ctx, actingUser, organizationID, peerProviderID, from, to, func(tx pgx.Tx, args pgx.NamedArgs) error {
		in := Input{PeerProviderID: peerProviderID, From: from, To: to, PeersPerSupervisor: map[uuid.UUID]int{}}
		var err error
		if in.Rules, err = loadRules(ctx, tx, organizationID); err != nil {
			return err
		}
		if in.Records, err = listByPeer(ctx, tx, args); err != nil {
			return err
		}
		var certified time.Time
		switch err := tx.QueryRow(ctx, certifiedOnSQL, args).Scan(&certified); {
		case err == nil:
			in.CertifiedOn = certified
		case !errors.Is(err, pgx.ErrNoRows):
			return dbtx.MapError(err)
		}
		rows, _ := tx.Query(ctx, peersPerSupervisorSQL, args)
		var sup uuid.UUID
		var n int
		if _, err := pgx.ForEachRow(rows, []any{&sup, &n}, func() error { in.PeersPerSupervisor[sup] = n; return nil }); err != nil {
			return dbtx.MapError(err)
		}
		s = Evaluate(in)
		return dbtx.MapError(tx.QueryRow(ctx, `SELECT cosigned, finalized FROM public.cl_peer_cosigns(@organization_id,
			@peer_provider_id, @from, @to)`, args).Scan(&s.CosignedEncounters, &s.FinalizedEncounters))
	})
	if err != nil {
		return nil, err
	}
	return &s, nil
}
