package peer

import (
	"context"
	_ "embed"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/trace"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/internal/clients"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/sqlarg"
	"github.com/encoreos/platform-go/internal/telemetry"
	"github.com/encoreos/platform-go/internal/validate"
)

// encounterIDKey is the span attribute of a peer encounter's id.
const encounterIDKey = "platform.peer_encounter.id"

// DB starts transactions: a *pgxpool.Pool or *pgx.Conn connected as a role
// that is a member of `authenticated`.
type DB = dbtx.Beginner

// Config configures a [Client]; nil means the defaults.
type Config struct {
	// Outbox shapes peer_encounter_finalized (its CloudEvents source);
	// default events.NewOutbox(nil). The event enters the outbox through
	// cl_peer_encounter_finalize, which checks it against the encounter.
	Outbox *events.Outbox
	// Now returns the current time; default time.Now. For tests.
	Now func() time.Time
	// TracerProvider receives a span per call (peer.Finalize, ...);
	// default the global provider (otel.GetTracerProvider) when New runs,
	// which records nothing until a host installs one.
	TracerProvider trace.TracerProvider
}

// Client records peer encounters. Every method acts as the acting user it
// is given; the methods ending in Tx run inside the caller's transaction.
type Client struct {
	db     DB
	outbox *events.Outbox
	now    func() time.Time
	tel    *telemetry.Telemetry
}

// New returns a Client over db; cfg may be nil.
func New(db DB, cfg *Config) (*Client, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	now, err := clients.Clock("peer", db, cfg.Now)
	if err != nil {
		return nil, err
	}
	c := &Client{db: db, outbox: cfg.Outbox, now: now, tel: telemetry.New(nil, cfg.TracerProvider)}
	if c.outbox == nil {
		c.outbox = events.NewOutbox(nil)
	}
	return c, nil
}

var (
	//go:embed sql/create.sql
	createSQL string
	//go:embed sql/insert.sql
	insertSQL string
	//go:embed sql/update.sql
	updateSQL string
	//go:embed sql/get.sql
	getSQL string
	//go:embed sql/disclose.sql
	discloseSQL string
	//go:embed sql/get_for_update.sql
	getForUpdateSQL string
	//go:embed sql/finalize.sql
	finalizeSQL string
	//go:embed sql/list.sql
	listByProviderSQL string
	//go:embed sql/list_by_chart.sql
	listByChartSQL string
	//go:embed sql/service_types.sql
	serviceTypesSQL string
	//go:embed sql/amend.sql
	amendSQL string
	//go:embed sql/correct.sql
	correctSQL string
	//go:embed sql/amendments.sql
	amendmentsSQL string
)

// Create records a draft encounter.
func (c *Client) Create(ctx context.Context, actingUser uuid.UUID, p CreateParams) (*Encounter, error) {
	return c.create(ctx, nil, actingUser, p)
}

// CreateTx is [Client.Create] inside the caller's transaction.
func (c *Client) CreateTx(ctx context.Context, tx pgx.Tx, actingUser uuid.UUID, p CreateParams) (*Encounter, error) {
	if tx == nil {
		return nil, dbtx.ErrNilTx
	}
	return c.create(ctx, tx, actingUser, p)
}

func (c *Client) create(ctx context.Context, tx pgx.Tx, actingUser uuid.UUID, p CreateParams) (_ *Encounter, err error) {
	ctx, span := c.tel.Start(ctx, "peer.Create", telemetry.Organization(p.OrganizationID))
	defer span.End(&err)
	if err := validate.First(validate.Required("OrganizationID", p.OrganizationID), validate.Required("ChartID", p.ChartID)); err != nil {
		return nil, err
	}
	if err := p.validate(c.now()); err != nil {
		return nil, err
	}
	// Writing on a Part 2 chart is a use of its records: accounted for,
	// and committed, first (which opens the chart's rows to the user).
	args := fieldArgs(p.OrganizationID, &p.Fields)
	args["chart_id"] = p.ChartID
	account := func() []dbtx.Statement {
		return []dbtx.Statement{dbtx.Accounting(p.OrganizationID, []uuid.UUID{p.ChartID}, string(consent.RecordPeerEncounter),
			string(consent.PurposeTreatment), string(consent.UseSave))}
	}
	var e *Encounter
	if tx != nil {
		// In the caller's transaction the draft is the caller's own insert
		// (the insert policy), read back by RETURNING: Citus refuses a
		// transaction in which two users write one organization's rows,
		// and the caller's may go on writing.
		args["acting_user"] = actingUser
		err = dbtx.InAfter(ctx, c.db, tx, actingUser, account(), written(insertSQL, args, p.FocusNotes, &e))
	} else {
		// Alone, one call of cl_peer_encounter_create (the insert policy's
		// rule asked once); a Part 2 chart's is refused until this call's
		// accounting has committed, and asked again with it, so a chart
		// that is not Part 2 costs no accounting transaction.
		e, err = accountedWrite(func(accounted bool) (*Encounter, error) {
			args["accounted"] = accounted
			var first []dbtx.Statement
			if accounted {
				first = account()
			}
			var e *Encounter
			err := dbtx.InAfter(ctx, c.db, nil, actingUser, first, dbtx.Statement{SQL: createSQL, Args: []any{args},
				Rows: func(rows pgx.Rows) (err error) {
					e, err = pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByName[Encounter])
					return err
				}})
			return e, err
		})
	}
	if err != nil {
		return nil, mapWritten(err)
	}
	return e, nil
}

// accountedWrite runs a write that a Part 2 chart refuses until the
// call's accounting has committed (SQLSTATE PAC01): once without the
// accounting, and, when refused so, again after it. A chart that is not
// Part 2 costs one round of the work.
func accountedWrite(write func(accounted bool) (*Encounter, error)) (*Encounter, error) {
	e, err := write(false)
	if dbtx.IsAccountFirst(err) {
		e, err = write(true)
	}
	return e, err
}

// Get returns an encounter the acting user may see.
func (c *Client) Get(ctx context.Context, actingUser, organizationID, id uuid.UUID) (_ *Encounter, err error) {
	ctx, span := c.tel.Start(ctx, "peer.Get", telemetry.Organization(organizationID), telemetry.ID(encounterIDKey, id))
	defer span.End(&err)
	if err := validate.First(validate.Required("OrganizationID", organizationID), validate.Required("ID", id)); err != nil {
		return nil, err
	}
	// The read accounts for itself (cl_peer_encounter_get): one transaction.
	found, err := dbtx.CollectAccounted[Encounter](ctx, c.db, actingUser, organizationID, nil, getSQL,
		pgx.NamedArgs{"organization_id": organizationID, "id": id})
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, ErrNotFound
	}
	return &found[0], nil
}

// disclose commits the accounting of a read or write of encounters (by
// id) before it happens: for Part 2 charts, the line that opens their rows
// (cl_peer_encounters_disclose). From a ...Tx method it commits on a
// connection of its own, so the line stands whatever the caller's
// transaction does.
func (c *Client) disclose(ctx context.Context, actingUser, org uuid.UUID, use consent.Use, ids ...uuid.UUID) error {
	return dbtx.MapError(dbtx.Pipeline(ctx, c.db, actingUser, disclosure(org, use, ids...)))
}

// disclosure is the transaction that accounts for a read or write of
// encounters (by id): see disclose.
func disclosure(org uuid.UUID, use consent.Use, ids ...uuid.UUID) []dbtx.Statement {
	return []dbtx.Statement{{SQL: discloseSQL, Args: []any{pgx.NamedArgs{"organization_id": org, "ids": ids, "use": use}}}}
}

// Update replaces a draft encounter's fields. A finalized encounter returns
// ErrFinalized.
func (c *Client) Update(ctx context.Context, actingUser, organizationID, id uuid.UUID, f Fields) (*Encounter, error) {
	return c.update(ctx, nil, actingUser, organizationID, id, f)
}

// UpdateTx is [Client.Update] inside the caller's transaction.
func (c *Client) UpdateTx(ctx context.Context, tx pgx.Tx, actingUser, organizationID, id uuid.UUID, f Fields) (*Encounter, error) {
	if tx == nil {
		return nil, dbtx.ErrNilTx
	}
	return c.update(ctx, tx, actingUser, organizationID, id, f)
}

func (c *Client) update(ctx context.Context, tx pgx.Tx, actingUser, organizationID, id uuid.UUID, f Fields) (_ *Encounter, err error) {
	ctx, span := c.tel.Start(ctx, "peer.Update", telemetry.Organization(organizationID), telemetry.ID(encounterIDKey, id))
	defer span.End(&err)
	if err := validate.First(validate.Required("OrganizationID", organizationID), validate.Required("ID", id)); err != nil {
		return nil, err
	}
	if err := f.validate(c.now()); err != nil {
		return nil, err
	}
	if err := c.disclose(ctx, actingUser, organizationID, consent.UseSave, id); err != nil {
		return nil, err
	}
	var e *Encounter
	err = dbtx.In(ctx, c.db, tx, actingUser, func(tx pgx.Tx) error {
		current, err := lockForEdit(ctx, tx, organizationID, id)
		if err != nil {
			return err
		}
		if current.Status == StatusFinalized {
			return ErrFinalized
		}
		args := fieldArgs(organizationID, &f)
		args["id"] = id
		e, err = write(ctx, tx, updateSQL, args, f.FocusNotes)
		return err
	})
	return e, err
}

func fieldArgs(org uuid.UUID, f *Fields) pgx.NamedArgs {
	return pgx.NamedArgs{
		"organization_id":  org,
		"site_id":          sqlarg.UUID(f.SiteID),
		"encounter_id":     sqlarg.UUID(f.EncounterID),
		"peer_provider_id": f.PeerProviderID,
		"service_date":     dateOf(f.ServiceDate),
		"start_time":       f.StartTime,
		"end_time":         f.EndTime,
		"duration_minutes": f.DurationMinutes,
		"service_type":     f.ServiceType,
		"hcpcs_code":       f.HCPCSCode,
		"focus_notes":      f.FocusNotes,
	}
}

// Finalize checks that a draft is complete, finalizes it and publishes
// peer_encounter_finalized in the same transaction. Finalizing an
// encounter that is already finalized returns it unchanged and publishes
// nothing, so retries and concurrent calls yield one finalized encounter
// and one event.
func (c *Client) Finalize(ctx context.Context, actingUser, organizationID, id uuid.UUID) (*Encounter, error) {
	return c.finalize(ctx, nil, actingUser, organizationID, id)
}

// FinalizeTx is [Client.Finalize] inside the caller's transaction.
func (c *Client) FinalizeTx(ctx context.Context, tx pgx.Tx, actingUser, organizationID, id uuid.UUID) (*Encounter, error) {
	if tx == nil {
		return nil, dbtx.ErrNilTx
	}
	return c.finalize(ctx, tx, actingUser, organizationID, id)
}

func (c *Client) finalize(ctx context.Context, tx pgx.Tx, actingUser, organizationID, id uuid.UUID) (_ *Encounter, err error) {
	ctx, span := c.tel.Start(ctx, "peer.Finalize", telemetry.Organization(organizationID), telemetry.ID(encounterIDKey, id))
	defer span.End(&err)
	if err := validate.First(validate.Required("OrganizationID", organizationID), validate.Required("ID", id)); err != nil {
		return nil, err
	}
	// A Part 2 chart's finalization is refused until this call's
	// accounting has committed (cl_peer_encounter_finalize).
	e, err := accountedWrite(func(accounted bool) (*Encounter, error) {
		return c.finalizeOnce(ctx, tx, actingUser, organizationID, id, accounted)
	})
	if err == nil {
		span.Set(telemetry.HCPCSCodeKey.String(e.HCPCSCode), telemetry.StatusKey.String(string(e.Status)))
	}
	return e, err
}

// finalizeOnce finalizes in one statement, which builds and stores the
// event from the finalized row and returns the row (see the migration);
// when accounted, after committing the call's accounting (one round trip
// for both without a caller's transaction).
func (c *Client) finalizeOnce(ctx context.Context, tx pgx.Tx, actingUser, organizationID, id uuid.UUID, accounted bool) (*Encounter, error) {
	eventID, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	var account []dbtx.Statement
	if accounted {
		account = disclosure(organizationID, consent.UseSave, id)
	}
	var e *Encounter
	err = dbtx.InAfter(ctx, c.db, tx, actingUser, account, dbtx.Statement{SQL: finalizeSQL,
		Args: []any{pgx.NamedArgs{"organization_id": organizationID, "id": id, "event_id": eventID, "source": c.outbox.Source(),
			"accounted": accounted}},
		Rows: func(rows pgx.Rows) (err error) {
			e, err = pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByName[Encounter])
			return err
		}})
	switch {
	case dbtx.IsNoDataFound(err):
		return nil, ErrNotFound
	case err != nil:
		return nil, fields.Map(err)
	}
	return e, nil
}

// A write reads the encounter back in its own transaction, as the writing
// user, through the table (RETURNING, FOR UPDATE): never through the
// definer readers, since Citus refuses a transaction that touches one
// organization's rows as two users. The clinical text, which plain SQL
// cannot read, is what the writer supplied.
const writerColumns = `organization_id, id, site_id, chart_id, encounter_id, peer_provider_id, service_date, start_time,
	end_time, duration_minutes, service_type, service_type_source, hcpcs_code, ''::text AS focus_notes, status,
	created_by, created_at, updated_by, updated_at, finalized_by, finalized_at, cosigned_by, cosigned_at`

// lockForEdit locks an encounter the caller may edit (its author, or one
// documenting on behalf), after disclose. An encounter the caller can only
// read is someone else's to edit or finalize: ErrPermissionDenied, not
// ErrNotFound.
func lockForEdit(ctx context.Context, tx pgx.Tx, org, id uuid.UUID) (*Encounter, error) {
	args := pgx.NamedArgs{"organization_id": org, "id": id}
	e, err := collectOne(tx.Query(ctx, "SELECT "+writerColumns+" "+getForUpdateSQL, args))
	if !errors.Is(err, ErrNotFound) {
		return e, err
	}
	var visible bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM public.cl_peer_encounters
		WHERE organization_id = @organization_id AND id = @id)`, args).Scan(&visible); err != nil {
		return nil, dbtx.MapError(err)
	}
	if visible {
		return nil, ErrPermissionDenied
	}
	return nil, ErrNotFound
}

// fields turns the database's refusals of an encounter into field errors:
// the database checks each rule once (constraints, and the guard, which
// names the column it refuses), Go does not ask it first.
var fields = dbtx.Fields{
	"peer_provider_id": {Name: "PeerProviderID", Reason: "is not an active peer specialist of the organization"},
	"cl_peer_encounters_organization_id_peer_provider_id_fkey": {Name: "PeerProviderID",
		Reason: "is not an active peer specialist of the organization"},
	"hcpcs_code":   {Name: "HCPCSCode", Reason: "is not a code the organization may bill on the service date"},
	"service_type": {Name: "ServiceType", Reason: "is not one of the organization's active peer service types"},
	"encounter_id": {Name: "EncounterID", Reason: "is not a PM-03 encounter of the organization for this chart"},
	"end_time":     {Name: "EndTime", Reason: "is in the future"},
	"chart_id":     {Name: "ChartID", Reason: "does not name a chart of the organization"},
	"cl_peer_encounters_organization_id_site_id_fkey": {Name: "SiteID", Reason: "does not name a site of the organization"},
	"cl_peer_encounters_finalized_needs_notes":        {Name: "FocusNotes", Reason: "are required to finalize"},
	"cosigned_by": {Name: "CosignedBy", Reason: "is required before finalizing: the organization requires a supervisor's co-sign"},
}

// write runs an INSERT or UPDATE and returns the encounter written, with
// the focus notes the writer supplied. No row written is ErrNotFound.
func write(ctx context.Context, tx pgx.Tx, sql string, args pgx.NamedArgs, focusNotes string) (e *Encounter, err error) {
	w := written(sql, args, focusNotes, &e)
	rows, err := tx.Query(ctx, w.SQL, w.Args...)
	if err == nil {
		err = w.Rows(rows)
	}
	if err != nil {
		return nil, mapWritten(err)
	}
	return e, nil
}

// written is the statement of write, which puts the encounter written in
// *e; its errors go through mapWritten.
func written(sql string, args pgx.NamedArgs, focusNotes string, e **Encounter) dbtx.Statement {
	return dbtx.Statement{SQL: sql + " RETURNING " + writerColumns, Args: []any{args}, Rows: func(rows pgx.Rows) (err error) {
		if *e, err = pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByName[Encounter]); err == nil {
			(*e).FocusNotes = focusNotes
		}
		return err
	}}
}

// mapWritten maps the errors of a write: no row written is ErrNotFound,
// a refusal a field error (fields).
func mapWritten(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return fields.Map(err)
}

func fieldsOf(e *Encounter) Fields {
	f := Fields{PeerProviderID: e.PeerProviderID, ServiceDate: e.ServiceDate, StartTime: e.StartTime, EndTime: e.EndTime,
		DurationMinutes: e.DurationMinutes, ServiceType: e.ServiceType, HCPCSCode: e.HCPCSCode, FocusNotes: e.FocusNotes}
	if e.SiteID != nil {
		f.SiteID = *e.SiteID
	}
	if e.EncounterID != nil {
		f.EncounterID = *e.EncounterID
	}
	return f
}

// Cosign records a qualified supervisor's co-sign of another peer's draft
// as it stands (the acting user needs cl.peer.encounter.cosign, and never
// co-signs their own). An organization with cl_peer_settings.require_cosign
// finalizes only co-signed drafts; an edit after the co-sign clears it.
// Co-signing twice changes nothing. Audited (cl.peer_encounter.cosigned).
func (c *Client) Cosign(ctx context.Context, actingUser, organizationID, id uuid.UUID) (*Encounter, error) {
	return c.cosign(ctx, nil, actingUser, organizationID, id)
}

// CosignTx is [Client.Cosign] inside the caller's transaction.
func (c *Client) CosignTx(ctx context.Context, tx pgx.Tx, actingUser, organizationID, id uuid.UUID) (*Encounter, error) {
	if tx == nil {
		return nil, dbtx.ErrNilTx
	}
	return c.cosign(ctx, tx, actingUser, organizationID, id)
}

func (c *Client) cosign(ctx context.Context, tx pgx.Tx, actingUser, organizationID, id uuid.UUID) (_ *Encounter, err error) {
	ctx, span := c.tel.Start(ctx, "peer.Cosign", telemetry.Organization(organizationID), telemetry.ID(encounterIDKey, id))
	defer span.End(&err)
	if err := validate.First(validate.Required("OrganizationID", organizationID), validate.Required("ID", id)); err != nil {
		return nil, err
	}
	if err := c.disclose(ctx, actingUser, organizationID, consent.UseDisplay, id); err != nil {
		return nil, err
	}
	var e *Encounter
	err = dbtx.In(ctx, c.db, tx, actingUser, func(tx pgx.Tx) error {
		// As the definer throughout (one user per transaction and tenant).
		var at time.Time
		switch err := tx.QueryRow(ctx, `SELECT public.cl_peer_encounter_cosign($1, $2)`, organizationID, id).Scan(&at); {
		case dbtx.IsNoDataFound(err):
			return ErrNotFound
		case dbtx.IsWrongState(err):
			return ErrFinalized
		case err != nil:
			return dbtx.MapError(err)
		}
		var err error
		e, err = collectOne(tx.Query(ctx, getSQL, pgx.NamedArgs{"organization_id": organizationID, "id": id}))
		return err
	})
	return e, err
}

// Amend records an addendum or a correction of a finalized encounter.
func (c *Client) Amend(ctx context.Context, actingUser, organizationID, id uuid.UUID, kind AmendmentKind, body, reason string) (*Amendment, error) {
	return c.amend(ctx, nil, actingUser, organizationID, id, kind, body, reason)
}

// AmendTx is [Client.Amend] inside the caller's transaction.
func (c *Client) AmendTx(ctx context.Context, tx pgx.Tx, actingUser, organizationID, id uuid.UUID, kind AmendmentKind, body, reason string) (*Amendment, error) {
	if tx == nil {
		return nil, dbtx.ErrNilTx
	}
	return c.amend(ctx, tx, actingUser, organizationID, id, kind, body, reason)
}

func (c *Client) amend(ctx context.Context, tx pgx.Tx, actingUser, organizationID, id uuid.UUID, kind AmendmentKind, body, reason string) (_ *Amendment, err error) {
	ctx, span := c.tel.Start(ctx, "peer.Amend", telemetry.Organization(organizationID), telemetry.ID(encounterIDKey, id))
	defer span.End(&err)
	if kind != Addendum && kind != Correction {
		return nil, validate.Errorf("Kind", "must be addendum or correction")
	}
	return c.writeAmendment(ctx, tx, actingUser, organizationID, id, kind, body, reason, nil)
}

// Corrected are the billed figures a correction changes; a zero field is
// unchanged, and at least one is set.
type Corrected struct {
	ServiceDate     time.Time
	DurationMinutes int
	HCPCSCode       string
	PeerProviderID  uuid.UUID
	// AmendmentID names the correction; default a new id per call. Set it
	// to make a retry safe (after a lost reply): the same id with the same
	// figures returns the correction stored and publishes nothing twice.
	AmendmentID uuid.UUID
}

// Correct records a correction of a finalized encounter's billed figures,
// with its body and reason, and publishes peer_encounter_corrected in the
// same transaction: the encounter's figures as they now stand and the
// event they supersede, computed by the database, so that PM-07 can void
// or adjust the charge (cl_peer_encounter_correct). The
// database checks the corrected figures as it checks a draft's (a
// billable code on the date, a peer specialist, a duration that fits the
// session): field errors name Corrected's fields.
func (c *Client) Correct(ctx context.Context, actingUser, organizationID, id uuid.UUID, body, reason string, fix Corrected) (*Amendment, error) {
	return c.correct(ctx, nil, actingUser, organizationID, id, body, reason, fix)
}

// CorrectTx is [Client.Correct] inside the caller's transaction.
func (c *Client) CorrectTx(ctx context.Context, tx pgx.Tx, actingUser, organizationID, id uuid.UUID, body, reason string, fix Corrected) (*Amendment, error) {
	if tx == nil {
		return nil, dbtx.ErrNilTx
	}
	return c.correct(ctx, tx, actingUser, organizationID, id, body, reason, fix)
}

func (c *Client) correct(ctx context.Context, tx pgx.Tx, actingUser, organizationID, id uuid.UUID, body, reason string, fix Corrected) (_ *Amendment, err error) {
	ctx, span := c.tel.Start(ctx, "peer.Correct", telemetry.Organization(organizationID), telemetry.ID(encounterIDKey, id))
	defer span.End(&err)
	if (Corrected{AmendmentID: fix.AmendmentID}) == fix {
		return nil, validate.Errorf("Corrected", "names no figure to correct")
	}
	if fix.DurationMinutes < 0 || fix.DurationMinutes > 1440 {
		return nil, validate.Errorf("Corrected.DurationMinutes", "must be between 1 and 1440")
	}
	if fix.HCPCSCode != "" && !events.Code(fix.HCPCSCode).Valid() {
		return nil, validate.Errorf("Corrected.HCPCSCode", "is not a code")
	}
	return c.writeAmendment(ctx, tx, actingUser, organizationID, id, Correction, body, reason, &fix)
}

// amendmentFields turns the database's refusals of a correction into field
// errors.
var amendmentFields = dbtx.Fields{
	"corrected_peer_provider_id": {Name: "Corrected.PeerProviderID", Reason: "is not an active peer specialist of the organization"},
	"cl_peer_encounter_amendments_organization_id_corrected_peer_provider_id_fkey": {Name: "Corrected.PeerProviderID",
		Reason: "is not a member of the organization"},
	"corrected_hcpcs_code":       {Name: "Corrected.HCPCSCode", Reason: "is not a code the organization may bill on the service date"},
	"corrected_duration_minutes": {Name: "Corrected", Reason: "do not fit the session's times"},
	"amendment_id":               {Name: "Corrected.AmendmentID", Reason: "names another amendment (another encounter's, another user's, or other figures)"},
}

// writeAmendment records an amendment (and, for a correction of figures,
// publishes its event) after the accounting of the disclosure.
func (c *Client) writeAmendment(ctx context.Context, tx pgx.Tx, actingUser, organizationID, id uuid.UUID, kind AmendmentKind,
	body, reason string, fix *Corrected) (*Amendment, error) {
	if err := validate.First(validate.Required("OrganizationID", organizationID), validate.Required("ID", id),
		validate.Text("Body", body, 1, MaxFocusNotes), validate.Text("Reason", reason, 1, 2000)); err != nil {
		return nil, err
	}
	if err := c.disclose(ctx, actingUser, organizationID, consent.UseSave, id); err != nil {
		return nil, err
	}
	var a *Amendment
	err := dbtx.In(ctx, c.db, tx, actingUser, func(tx pgx.Tx) error {
		var status Status
		var chart uuid.UUID
		if err := tx.QueryRow(ctx, `SELECT status, chart_id FROM public.cl_peer_encounters
			WHERE organization_id = $1 AND id = $2`, organizationID, id).Scan(&status, &chart); err != nil {
			return dbtx.MapError(err)
		}
		if status != StatusFinalized {
			return ErrNotFinalized
		}
		if fix != nil {
			var err error
			a, err = c.writeCorrection(ctx, tx, organizationID, id, body, reason, fix)
			return err
		}
		rows, err := tx.Query(ctx, amendSQL, pgx.NamedArgs{"organization_id": organizationID, "peer_encounter_id": id,
			"chart_id": chart, "kind": kind, "body": body, "reason": reason})
		if err != nil {
			return dbtx.MapError(err)
		}
		if a, err = pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByName[Amendment]); err != nil {
			return dbtx.MapError(err)
		}
		a.Body, a.Reason = body, reason
		return nil
	})
	return a, err
}

// writeCorrection writes a correction of billed figures and its event in
// one call of cl_peer_encounter_correct, one user doing all of it, after
// reading the event's data as the database computes it for the correction
// about to be made.
func (c *Client) writeCorrection(ctx context.Context, tx pgx.Tx, org, id uuid.UUID, body, reason string, fix *Corrected) (*Amendment, error) {
	amendment := fix.AmendmentID
	if amendment == uuid.Nil {
		amendment = uuid.New()
	}
	eventID, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	args := pgx.NamedArgs{"organization_id": org, "id": id, "amendment_id": amendment, "body": body, "reason": reason,
		"service_date": nil, "duration_minutes": nil, "hcpcs_code": sqlarg.String(fix.HCPCSCode),
		"peer_provider_id": sqlarg.UUID(fix.PeerProviderID), "event_id": eventID, "source": c.outbox.Source()}
	if !fix.ServiceDate.IsZero() {
		args["service_date"] = dateOf(fix.ServiceDate)
	}
	if fix.DurationMinutes > 0 {
		args["duration_minutes"] = fix.DurationMinutes
	}
	rows, err := tx.Query(ctx, correctSQL, args)
	if err == nil {
		var a *Amendment
		if a, err = pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByName[Amendment]); err == nil {
			return a, nil
		}
	}
	if dbtx.IsNoDataFound(err) {
		return nil, ErrPermissionDenied
	}
	return nil, amendmentFields.Map(err)
}

// Amendments returns an encounter's amendments, oldest first.
func (c *Client) Amendments(ctx context.Context, actingUser, organizationID, id uuid.UUID) (_ []Amendment, err error) {
	ctx, span := c.tel.Start(ctx, "peer.Amendments", telemetry.Organization(organizationID), telemetry.ID(encounterIDKey, id))
	defer span.End(&err)
	if err := validate.First(validate.Required("OrganizationID", organizationID), validate.Required("ID", id)); err != nil {
		return nil, err
	}
	// The read accounts for itself (cl_peer_encounter_amendments_of).
	return dbtx.CollectAccounted[Amendment](ctx, c.db, actingUser, organizationID, nil, amendmentsSQL,
		pgx.NamedArgs{"organization_id": organizationID, "peer_encounter_id": id})
}

// ServiceTypes returns the service types the organization may use now
// (from PF-15 or its own, by its use_pf15 setting).
func (c *Client) ServiceTypes(ctx context.Context, actingUser, organizationID uuid.UUID) (_ []ServiceType, err error) {
	ctx, span := c.tel.Start(ctx, "peer.ServiceTypes", telemetry.Organization(organizationID))
	defer span.End(&err)
	if err := validate.Required("OrganizationID", organizationID); err != nil {
		return nil, err
	}
	return dbtx.Collect[ServiceType](ctx, c.db, actingUser, serviceTypesSQL, pgx.NamedArgs{"organization_id": organizationID, "source": nil})
}

// ServiceTypeLabel returns the label of an encounter's service type, from
// the source it was recorded under.
func (c *Client) ServiceTypeLabel(ctx context.Context, actingUser uuid.UUID, e *Encounter) (_ string, err error) {
	ctx, span := c.tel.Start(ctx, "peer.ServiceTypeLabel", telemetry.Organization(e.OrganizationID), telemetry.ID(encounterIDKey, e.ID))
	defer span.End(&err)
	types, err := dbtx.Collect[ServiceType](ctx, c.db, actingUser, serviceTypesSQL,
		pgx.NamedArgs{"organization_id": e.OrganizationID, "source": e.ServiceTypeSource})
	if err != nil {
		return "", err
	}
	for _, t := range types {
		if t.Code == e.ServiceType {
			return t.Label, nil
		}
	}
	return "", ErrNotFound
}

func collectOne(rows pgx.Rows, err error) (*Encounter, error) {
	if err != nil {
		return nil, dbtx.MapError(err)
	}
	e, err := pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByName[Encounter])
	if err != nil && errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return e, dbtx.MapError(err)
}
