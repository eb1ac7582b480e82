package multiparty

import (
	"context"
	_ "embed"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/trace"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/internal/clients"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/sqlarg"
	"github.com/encoreos/platform-go/internal/telemetry"
	"github.com/encoreos/platform-go/internal/validate"
)

// encounterIDKey is the span attribute of a multi-party encounter's id.
const encounterIDKey = "platform.multi_party_encounter.id"

// DB starts transactions: a *pgxpool.Pool or *pgx.Conn connected as a role
// that is a member of `authenticated`.
type DB = dbtx.Beginner

// Client records multi-party encounters, always as an acting user; the
// methods ending in Tx run inside the caller's transaction.
type Client struct {
	db  DB
	now func() time.Time
	tel *telemetry.Telemetry
}

// Config configures a [Client]; nil means the defaults.
type Config struct {
	// Now returns the current time; default time.Now. For tests.
	Now func() time.Time
	// TracerProvider receives a span per call (multiparty.<Method>); default the
	// global provider (otel.GetTracerProvider) when New runs, which records
	// nothing until a host installs one.
	TracerProvider trace.TracerProvider
}

// New returns a Client over db; cfg may be nil.
func New(db DB, cfg *Config) (*Client, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	now, err := clients.Clock("multiparty", db, cfg.Now)
	if err != nil {
		return nil, err
	}
	return &Client{db: db, now: now, tel: telemetry.New(nil, cfg.TracerProvider)}, nil
}

var (
	//go:embed sql/insert_encounter.sql
	insertEncounterSQL string
	//go:embed sql/insert_participant.sql
	insertParticipantSQL string
	//go:embed sql/get_encounter.sql
	getEncounterSQL string
	//go:embed sql/read_encounter.sql
	readEncounterSQL string
	//go:embed sql/participants_in_write.sql
	participantsInWriteSQL string
	//go:embed sql/end.sql
	endSQL string
)

// Create records an encounter and its participants in one transaction.
// The acting user needs cl.multi_party.manage, and consent for every
// patient participant's chart.
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
	ctx, span := c.tel.Start(ctx, "multiparty.Create", telemetry.Organization(p.OrganizationID))
	defer span.End(&err)
	if err := p.validate(c.now()); err != nil {
		return nil, err
	}
	if err := c.disclose(ctx, actingUser, p.OrganizationID, uuid.Nil, consent.UseSave, patientCharts(p.Participants)...); err != nil {
		return nil, err
	}
	var e *Encounter
	err = dbtx.In(ctx, c.db, tx, actingUser, func(tx pgx.Tx) error {
		id := uuid.New()
		if _, err := tx.Exec(ctx, insertEncounterSQL, pgx.NamedArgs{
			"organization_id": p.OrganizationID, "id": id, "site_id": sqlarg.UUID(p.SiteID), "kind": p.Kind, "modality": p.Modality,
			"pm_telehealth_session_id": sqlarg.UUID(p.PMTelehealthSessionID), "lead_clinician_id": p.LeadClinicianID,
			"started_at": p.StartedAt, "summary": p.Summary,
		}); err != nil {
			return encounterFields.Map(err)
		}
		for i := range p.Participants {
			if err := addParticipant(ctx, tx, p.OrganizationID, id, &p.Participants[i]); err != nil {
				return err
			}
		}
		var err error
		e, err = get(ctx, tx, p.OrganizationID, id)
		return err
	})
	if err != nil {
		return nil, err // nothing was created
	}
	return e, nil
}

// AddParticipant adds a participant to an encounter the acting user may
// see and manage.
func (c *Client) AddParticipant(ctx context.Context, actingUser, organizationID, encounterID uuid.UUID, p ParticipantParams) (*Encounter, error) {
	return c.addParticipant(ctx, nil, actingUser, organizationID, encounterID, p)
}

// AddParticipantTx is [Client.AddParticipant] inside the caller's
// transaction.
func (c *Client) AddParticipantTx(ctx context.Context, tx pgx.Tx, actingUser, organizationID, encounterID uuid.UUID, p ParticipantParams) (*Encounter, error) {
	if tx == nil {
		return nil, dbtx.ErrNilTx
	}
	return c.addParticipant(ctx, tx, actingUser, organizationID, encounterID, p)
}

func (c *Client) addParticipant(ctx context.Context, tx pgx.Tx, actingUser, org, encounterID uuid.UUID, p ParticipantParams) (_ *Encounter, err error) {
	ctx, span := c.tel.Start(ctx, "multiparty.AddParticipant", telemetry.Organization(org), telemetry.ID(encounterIDKey, encounterID))
	defer span.End(&err)
	if err := validate.First(validate.Required("OrganizationID", org), validate.Required("EncounterID", encounterID), p.validate()); err != nil {
		return nil, err
	}
	if err := c.disclose(ctx, actingUser, org, encounterID, consent.UseSave, patientCharts([]ParticipantParams{p})...); err != nil {
		return nil, err
	}
	var e *Encounter
	err = dbtx.In(ctx, c.db, tx, actingUser, func(tx pgx.Tx) error {
		if _, err := get(ctx, tx, org, encounterID); err != nil {
			return err
		}
		if err := addParticipant(ctx, tx, org, encounterID, &p); err != nil {
			return err
		}
		var err error
		e, err = get(ctx, tx, org, encounterID)
		return err
	})
	return e, err
}

// disclose commits, before a read or write, the accounting of the Part 2
// patients it touches: those of an encounter (cl_multi_party_disclose,
// when encounterID is set) and the charts about to be added, whose rows
// open only once it has committed. From a ...Tx method it commits on a
// connection of its own, so the accounting stands whatever the caller's
// transaction does.
func (c *Client) disclose(ctx context.Context, actingUser, org, encounterID uuid.UUID, use consent.Use, charts ...uuid.UUID) error {
	statements := disclosure(org, encounterID, use, charts...)
	if len(statements) == 0 {
		return nil
	}
	return dbtx.MapError(dbtx.Pipeline(ctx, c.db, actingUser, statements))
}

// disclosure is the transaction disclose commits: the encounter's lines
// (cl_multi_party_disclose, when encounterID is set), then the added
// charts'.
func disclosure(org, encounterID uuid.UUID, use consent.Use, charts ...uuid.UUID) []dbtx.Statement {
	var statements []dbtx.Statement
	if encounterID != uuid.Nil {
		statements = append(statements, dbtx.Statement{SQL: `SELECT public.cl_multi_party_disclose($1, $2, $3)`,
			Args: []any{org, encounterID, use}})
	}
	if len(charts) > 0 {
		statements = append(statements, dbtx.Accounting(org, charts, string(consent.RecordMultiPartyEncounter),
			string(consent.PurposeTreatment), string(use)))
	}
	return statements
}

// patientCharts returns the charts of the patients among participants.
func patientCharts(participants []ParticipantParams) []uuid.UUID {
	var charts []uuid.UUID
	for _, p := range participants {
		if p.Kind == Patient && p.ChartID != uuid.Nil {
			charts = append(charts, p.ChartID)
		}
	}
	return charts
}

func addParticipant(ctx context.Context, tx pgx.Tx, org, encounterID uuid.UUID, p *ParticipantParams) error {
	var joined *time.Time
	if !p.JoinedAt.IsZero() {
		joined = &p.JoinedAt
	}
	_, err := tx.Exec(ctx, insertParticipantSQL, pgx.NamedArgs{
		"organization_id": org, "encounter_id": encounterID, "kind": p.Kind, "chart_id": sqlarg.UUID(p.ChartID),
		"member_user_id": sqlarg.UUID(p.MemberUserID), "language": sqlarg.String(p.Language), "role_code": sqlarg.String(p.RoleCode),
		"joined_at": joined,
	})
	if dbtx.IsUniqueViolation(err) {
		return validate.Errorf("Participants.ChartID", "names a patient already in the encounter")
	}
	return mapWriteError(err, "Participants", "names a chart or member that is not the organization's")
}

// Get returns an encounter with its participants. Without
// cl.multi_party.view, or without consent for one of its Part 2 patients,
// it is ErrNotFound.
func (c *Client) Get(ctx context.Context, actingUser, organizationID, id uuid.UUID) (_ *Encounter, err error) {
	ctx, span := c.tel.Start(ctx, "multiparty.Get", telemetry.Organization(organizationID), telemetry.ID(encounterIDKey, id))
	defer span.End(&err)
	if err := validate.First(validate.Required("OrganizationID", organizationID), validate.Required("ID", id)); err != nil {
		return nil, err
	}
	// The read accounts for itself and brings the participants
	// (cl_multi_party_encounter_read): one statement, one transaction
	// (dbtx.ReadAccounted).
	var e *Encounter
	read := dbtx.Statement{SQL: readEncounterSQL, Args: []any{pgx.NamedArgs{"organization_id": organizationID, "id": id}},
		Rows: func(rows pgx.Rows) error {
			found, err := pgx.CollectRows(rows, pgx.RowToStructByName[encounterRead])
			if len(found) == 1 {
				e = &found[0].Encounter
				e.Participants = make([]Participant, len(found[0].Participants))
				for i, p := range found[0].Participants {
					e.Participants[i] = p.participant()
				}
			}
			return err
		}}
	if err := dbtx.ReadAccounted(ctx, c.db, actingUser, organizationID, []dbtx.Statement{read}); err != nil {
		return nil, dbtx.MapError(err)
	}
	if e == nil {
		return nil, ErrNotFound
	}
	return e, nil
}

// encounterRead is a row of cl_multi_party_encounter_read: the encounter
// with its participants as a JSON array of the table's rows.
type encounterRead struct {
	Encounter
	Participants []participantJSON `db:"participants"`
}

// participantJSON is a [Participant] as the database writes its row in
// JSON: the same fields (a conversion keeps the two in step), named as
// the columns.
type participantJSON struct {
	OrganizationID uuid.UUID       `json:"organization_id"`
	ID             uuid.UUID       `json:"id"`
	EncounterID    uuid.UUID       `json:"encounter_id"`
	Kind           ParticipantKind `json:"kind"`
	ChartID        *uuid.UUID      `json:"chart_id"`
	MemberUserID   *uuid.UUID      `json:"member_user_id"`
	Language       *string         `json:"language"`
	RoleCode       *string         `json:"role_code"`
	JoinedAt       *time.Time      `json:"joined_at"`
	LeftAt         *time.Time      `json:"left_at"`
	CreatedBy      uuid.UUID       `json:"created_by"`
	CreatedAt      time.Time       `json:"created_at"`
}

// participant is p with its times in the local zone, as pgx scans a
// timestamptz column.
func (p participantJSON) participant() Participant {
	local := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		l := t.Local()
		return &l
	}
	q := Participant(p)
	q.JoinedAt, q.LeftAt, q.CreatedAt = local(q.JoinedAt), local(q.LeftAt), q.CreatedAt.Local()
	return q
}

// get reads an encounter with its participants in a transaction that
// writes (after disclose).
func get(ctx context.Context, tx pgx.Tx, org, id uuid.UUID) (*Encounter, error) {
	var e *Encounter
	args := []any{pgx.NamedArgs{"organization_id": org, "id": id}}
	err := dbtx.RunEach(ctx, tx, []dbtx.Statement{
		{SQL: getEncounterSQL, Args: args, Rows: func(rows pgx.Rows) error {
			found, err := pgx.CollectRows(rows, pgx.RowToAddrOfStructByName[Encounter])
			if len(found) == 1 {
				e = found[0]
			}
			return err
		}},
		{SQL: participantsInWriteSQL, Args: args, Rows: func(rows pgx.Rows) (err error) {
			if e == nil {
				return nil
			}
			e.Participants, err = pgx.CollectRows(rows, pgx.RowToStructByName[Participant])
			return err
		}},
	})
	if err != nil {
		return nil, dbtx.MapError(err)
	}
	if e == nil {
		return nil, ErrNotFound
	}
	return e, nil
}

// End records the end of an encounter and its final summary. Ending an
// encounter twice is ErrEnded.
func (c *Client) End(ctx context.Context, actingUser, organizationID, id uuid.UUID, endedAt time.Time, summary string) (*Encounter, error) {
	return c.end(ctx, nil, actingUser, organizationID, id, endedAt, summary)
}

// EndTx is [Client.End] inside the caller's transaction.
func (c *Client) EndTx(ctx context.Context, tx pgx.Tx, actingUser, organizationID, id uuid.UUID, endedAt time.Time, summary string) (*Encounter, error) {
	if tx == nil {
		return nil, dbtx.ErrNilTx
	}
	return c.end(ctx, tx, actingUser, organizationID, id, endedAt, summary)
}

// ErrEnded: the encounter has already ended.
var ErrEnded = telemetry.NewError("ended", "multiparty: the encounter has already ended")

func (c *Client) end(ctx context.Context, tx pgx.Tx, actingUser, org, id uuid.UUID, endedAt time.Time, summary string) (_ *Encounter, err error) {
	ctx, span := c.tel.Start(ctx, "multiparty.End", telemetry.Organization(org), telemetry.ID(encounterIDKey, id))
	defer span.End(&err)
	if err := validate.First(validate.Required("OrganizationID", org), validate.Required("ID", id), validate.Text("Summary", summary, 1, 20000)); err != nil {
		return nil, err
	}
	if endedAt.IsZero() || endedAt.After(c.now().Add(time.Minute)) {
		return nil, validate.Errorf("EndedAt", "is required and not in the future")
	}
	if err := c.disclose(ctx, actingUser, org, id, consent.UseSave); err != nil {
		return nil, err
	}
	var e *Encounter
	err = dbtx.In(ctx, c.db, tx, actingUser, func(tx pgx.Tx) error {
		current, err := get(ctx, tx, org, id)
		if err != nil {
			return err
		}
		if current.EndedAt != nil {
			return ErrEnded
		}
		if !endedAt.After(current.StartedAt) {
			return validate.Errorf("EndedAt", "must be after the start")
		}
		var updated uuid.UUID
		if err := tx.QueryRow(ctx, endSQL, pgx.NamedArgs{"organization_id": org, "id": id, "ended_at": endedAt, "summary": summary}).
			Scan(&updated); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrPermissionDenied // visible, but not manageable by this user
			}
			return dbtx.MapError(err)
		}
		e, err = get(ctx, tx, org, id)
		return err
	})
	return e, err
}

// encounterFields turns the database's refusals of what a new encounter
// names (cl_multi_party_encounters_references_guard, the foreign keys)
// into field errors; a refused permission is ErrPermissionDenied.
var encounterFields = dbtx.Fields{
	"lead_clinician_id":        {Name: "LeadClinicianID", Reason: "is not a clinician of the organization who may lead multi-party encounters"},
	"pm_telehealth_session_id": {Name: "PMTelehealthSessionID", Reason: "is not a telehealth session of the organization"},
	"cl_multi_party_encounters_organization_id_lead_clinician_id_fkey": {Name: "LeadClinicianID", Reason: "is not a member of the organization"},
	"cl_multi_party_encounters_organization_id_site_id_fkey":           {Name: "SiteID", Reason: "is not a site of the organization"},
}

// mapWriteError turns a foreign-key violation into a validation error on
// field and passes the rest through the usual mapping.
func mapWriteError(err error, field, reason string) error {
	if dbtx.IsForeignKeyViolation(err) {
		return validate.Errorf(field, "%s", reason)
	}
	return dbtx.MapError(err)
}
