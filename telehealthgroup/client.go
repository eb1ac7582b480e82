package telehealthgroup

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

// DB starts transactions: a *pgxpool.Pool or *pgx.Conn connected as a role
// that is a member of `authenticated`.
type DB = dbtx.Beginner

// Config configures a [Client]; nil means the defaults.
type Config struct {
	// Outbox shapes the lifecycle events (their CloudEvents source);
	// default events.NewOutbox(nil). They enter the outbox through
	// cl_virtual_group_publish, never through another Publisher.
	Outbox *events.Outbox
	// Scheduling, when set, is consulted by Start (PM-04/PM-13).
	Scheduling Scheduling
	// Notifier, when set, is told of technology failures (PF-10).
	Notifier Notifier
	// Now returns the current time; default time.Now. For tests.
	Now func() time.Time
	// TracerProvider receives a span per call (telehealthgroup.Start,
	// ...); default the global provider (otel.GetTracerProvider) when New
	// runs, which records nothing until a host installs one.
	TracerProvider trace.TracerProvider
}

// The span attributes of the records a call is about.
const (
	sessionIDKey    = "platform.group_session.id"
	attendanceIDKey = "platform.group_attendance.id"
)

// Client runs virtual and hybrid groups, always as an acting user; the
// methods ending in Tx run inside the caller's transaction.
type Client struct {
	db         DB
	outbox     *events.Outbox
	scheduling Scheduling
	notifier   Notifier
	now        func() time.Time
	tel        *telemetry.Telemetry
}

// New returns a Client over db. The jurisdiction profiles sessions name
// are the database's (PF-96, billing.LoadProfiles).
func New(db DB, cfg *Config) (*Client, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	now, err := clients.Clock("telehealthgroup", db, cfg.Now)
	if err != nil {
		return nil, err
	}
	c := &Client{db: db, outbox: cfg.Outbox, scheduling: cfg.Scheduling, notifier: cfg.Notifier, now: now,
		tel: telemetry.New(nil, cfg.TracerProvider)}
	if c.outbox == nil {
		c.outbox = events.NewOutbox(nil)
	}
	return c, nil
}

var (
	//go:embed sql/configure.sql
	configureSQL string
	//go:embed sql/get.sql
	getSQL string
	//go:embed sql/attendees.sql
	attendeesSQL string
	//go:embed sql/add_attendee.sql
	addAttendeeSQL string
	//go:embed sql/add_mode.sql
	addModeSQL string
	//go:embed sql/permission.sql
	permissionSQL string
	//go:embed sql/transition.sql
	transitionSQL string
	//go:embed sql/present_lines.sql
	presentLinesSQL string
	//go:embed sql/set_attendance.sql
	setAttendanceSQL string
	//go:embed sql/switch_mode.sql
	switchModeSQL string
)

// The permissions of each action (PF-30).
const (
	PermissionView     = "cl.group.virtual.view"
	PermissionManage   = "cl.group.virtual.manage"
	PermissionStart    = "cl.group.virtual.start"
	PermissionConclude = "cl.group.virtual.conclude"
)

// sessionRow is Session plus the correlation ids the lifecycle compares.
type sessionRow struct {
	Session
	StartCorrelationID    *uuid.UUID `db:"start_correlation_id"`
	ConcludeCorrelationID *uuid.UUID `db:"conclude_correlation_id"`
}

// Configure makes a group session virtual or hybrid (or changes its
// telehealth metadata before it concludes). Needs cl.group.virtual.manage.
func (c *Client) Configure(ctx context.Context, actingUser uuid.UUID, p ConfigureParams) (*Session, error) {
	return c.configure(ctx, nil, actingUser, p)
}

// ConfigureTx is [Client.Configure] inside the caller's transaction.
func (c *Client) ConfigureTx(ctx context.Context, tx pgx.Tx, actingUser uuid.UUID, p ConfigureParams) (*Session, error) {
	if tx == nil {
		return nil, dbtx.ErrNilTx
	}
	return c.configure(ctx, tx, actingUser, p)
}

func (c *Client) configure(ctx context.Context, tx pgx.Tx, actingUser uuid.UUID, p ConfigureParams) (_ *Session, err error) {
	ctx, span := c.tel.Start(ctx, "telehealthgroup.Configure", telemetry.Organization(p.OrganizationID), telemetry.ID(sessionIDKey, p.SessionID))
	defer span.End(&err)
	if err := p.validate(); err != nil {
		return nil, err
	}
	var s *Session
	err = dbtx.In(ctx, c.db, tx, actingUser, func(tx pgx.Tx) error {
		// The database decides: the policies (the permission), the
		// metadata guard (the state, the PM-13 reference), the keys.
		if _, err := tx.Exec(ctx, configureSQL, pgx.NamedArgs{
			"organization_id": p.OrganizationID, "session_id": p.SessionID, "modality": p.Modality,
			"pm_telehealth_session_id": sqlarg.UUID(p.PMTelehealthSessionID),
			"vendor_session_ref":       sqlarg.String(p.VendorSessionRef), "contingency_fallback": p.ContingencyFallback,
			"contingency_contact": p.ContingencyContact, "jurisdiction_profile": sqlarg.String(p.JurisdictionProfile),
		}); err != nil {
			return refusals.Map(err)
		}
		row, err := get(ctx, tx, p.OrganizationID, p.SessionID)
		if err != nil {
			return err
		}
		s = &row.Session
		return nil
	})
	return s, err
}

// refusals maps the database's refusals of the virtual-group writes to the
// package's errors (dbtx.Fields: the one place).
var refusals = dbtx.Fields{
	"state":                    {Err: ErrAlreadyConcluded},
	"modality":                 {Err: ErrAlreadyStarted},
	"pm_telehealth_session_id": {Name: "PMTelehealthSessionID", Reason: "is not a telehealth session of the organization"},
	"cl_group_session_telehealth_metadata_session_fkey": {Name: "SessionID",
		Reason: "does not name a group session of the organization"},
	"cl_group_attendance_modes_virtual_fkey":            {Name: "SessionID", Reason: "is not a virtual or hybrid group session"},
	"cl_group_technology_failures_virtual_fkey":         {Name: "SessionID", Reason: "is not a virtual or hybrid group session"},
	"cl_group_attendance_organization_id_chart_id_fkey": {Name: "ChartID", Reason: "does not name a chart of the organization"},
	"cl_group_attendance_organization_id_session_id_fkey": {Name: "SessionID",
		Reason: "does not name a group session of the organization"},
	"cl_group_attendance_organization_id_session_id_chart_id_key": {Name: "ChartID", Reason: "is already an attendee of the session"},
	"mode":                {Name: "Mode", Reason: "cannot be in person in a virtual group"},
	"in_person_attendees": {Name: "Modality", Reason: "cannot be virtual while an attendee takes part in person"},
	"cl_group_technology_failures_attendee_fkey": {Name: "AffectedAttendanceID", Reason: "is not an attendee of the session"},
	"switched_at": {Name: "At", Reason: "must be within the last five minutes, after the start and the attendee's last switch"},
	"started_at":  {Err: ErrNotStarted},
	"cl_group_session_telehealth_metadata_profile_fkey": {Name: "JurisdictionProfile", Reason: "is not a PF-96 jurisdiction profile"},
}

// AddAttendee adds a patient to the group with how they take part. A Part 2
// chart needs a consent naming virtual group participation. Needs
// cl.group.virtual.manage.
func (c *Client) AddAttendee(ctx context.Context, actingUser uuid.UUID, p AttendeeParams) (*Attendee, error) {
	return c.addAttendee(ctx, nil, actingUser, p)
}

// AddAttendeeTx is [Client.AddAttendee] inside the caller's transaction.
func (c *Client) AddAttendeeTx(ctx context.Context, tx pgx.Tx, actingUser uuid.UUID, p AttendeeParams) (*Attendee, error) {
	if tx == nil {
		return nil, dbtx.ErrNilTx
	}
	return c.addAttendee(ctx, tx, actingUser, p)
}

func (c *Client) addAttendee(ctx context.Context, tx pgx.Tx, actingUser uuid.UUID, p AttendeeParams) (_ *Attendee, err error) {
	ctx, span := c.tel.Start(ctx, "telehealthgroup.AddAttendee", telemetry.Organization(p.OrganizationID), telemetry.ID(sessionIDKey, p.SessionID))
	defer span.End(&err)
	if err := validate.First(validate.Required("OrganizationID", p.OrganizationID), validate.Required("SessionID", p.SessionID),
		validate.Required("ChartID", p.ChartID)); err != nil {
		return nil, err
	}
	if err := p.Mode.validate(p.AtHome); err != nil {
		return nil, err
	}
	// Adding a Part 2 patient uses their record, and the attendee list it
	// returns discloses the others': accounted for, and committed, first,
	// once the patient's consent to take part is known.
	if err := dbtx.Run(ctx, c.db, actingUser, func(tx pgx.Tx) error {
		var consented bool
		if err := tx.QueryRow(ctx, `SELECT public.cl_group_participation_consented($1, $2)`, p.OrganizationID, p.ChartID).Scan(&consented); err != nil {
			return dbtx.MapError(err)
		}
		if !consented {
			return ErrPermissionDenied
		}
		return dbtx.MapError(dbtx.RunEach(ctx, tx, disclosure(p.OrganizationID, p.SessionID, uuid.Nil, consent.UseSave, p.ChartID)))
	}); err != nil {
		return nil, err
	}
	var a *Attendee
	err = dbtx.In(ctx, c.db, tx, actingUser, func(tx pgx.Tx) error {
		// The database decides: the attendance policy (the permission), the
		// attendance and mode guards (consent, state, a virtual group's
		// remote attendance), the keys.
		// The attendee as written, by RETURNING: on Citus a definer may
		// not read what the caller has just written in the transaction.
		added := &Attendee{}
		if err := tx.QueryRow(ctx, addAttendeeSQL, pgx.NamedArgs{"organization_id": p.OrganizationID, "session_id": p.SessionID,
			"chart_id": p.ChartID}).Scan(&added.AttendanceID, &added.ChartID, &added.Status); err != nil {
			return refusals.Map(err)
		}
		if err := tx.QueryRow(ctx, addModeSQL, pgx.NamedArgs{"organization_id": p.OrganizationID, "attendance_id": added.AttendanceID,
			"session_id": p.SessionID, "mode": p.Mode, "at_home": p.AtHome}).
			Scan(&added.Mode, &added.AtHome, &added.JoinedAt, &added.LeftAt); err != nil {
			return refusals.Map(err)
		}
		a = added
		return nil
	})
	return a, err
}

// AttendanceStatus is an attendee's attendance.
type AttendanceStatus string

// The attendance statuses (CL-14).
const (
	Expected AttendanceStatus = "expected"
	Present  AttendanceStatus = "present"
	Absent   AttendanceStatus = "absent"
	Excused  AttendanceStatus = "excused"
)

// SetAttendance records an attendee's attendance and, when given, when
// they joined and left. Needs cl.group.virtual.manage.
func (c *Client) SetAttendance(ctx context.Context, actingUser, organizationID, attendanceID uuid.UUID, status AttendanceStatus, joinedAt, leftAt time.Time) error {
	return c.setAttendance(ctx, nil, actingUser, organizationID, attendanceID, status, joinedAt, leftAt)
}

// SetAttendanceTx is [Client.SetAttendance] inside the caller's transaction.
func (c *Client) SetAttendanceTx(ctx context.Context, tx pgx.Tx, actingUser, organizationID, attendanceID uuid.UUID, status AttendanceStatus, joinedAt, leftAt time.Time) error {
	if tx == nil {
		return dbtx.ErrNilTx
	}
	return c.setAttendance(ctx, tx, actingUser, organizationID, attendanceID, status, joinedAt, leftAt)
}

func (c *Client) setAttendance(ctx context.Context, tx pgx.Tx, actingUser, organizationID, attendanceID uuid.UUID, status AttendanceStatus, joinedAt, leftAt time.Time) (err error) {
	ctx, span := c.tel.Start(ctx, "telehealthgroup.SetAttendance", telemetry.Organization(organizationID), telemetry.ID(attendanceIDKey, attendanceID))
	defer span.End(&err)
	if err := validate.First(validate.Required("OrganizationID", organizationID), validate.Required("AttendanceID", attendanceID)); err != nil {
		return err
	}
	switch status {
	case Expected, Present, Absent, Excused:
	default:
		return validate.Errorf("Status", "must be expected, present, absent or excused")
	}
	if !joinedAt.IsZero() && !leftAt.IsZero() && leftAt.Before(joinedAt) {
		return validate.Errorf("LeftAt", "must not be before JoinedAt")
	}
	if err := c.disclose(ctx, actingUser, organizationID, uuid.Nil, attendanceID, consent.UseSave); err != nil {
		return err
	}
	return dbtx.In(ctx, c.db, tx, actingUser, func(tx pgx.Tx) error {
		// The database decides (the policies, the attendance guard's state
		// check); an update no policy let through is explained after.
		var id, session uuid.UUID
		err := tx.QueryRow(ctx, setAttendanceSQL, pgx.NamedArgs{"organization_id": organizationID, "attendance_id": attendanceID,
			"status": status, "joined_at": sqlarg.Time(joinedAt), "left_at": sqlarg.Time(leftAt)}).Scan(&id, &session)
		return explainMissing(ctx, tx, organizationID, PermissionManage, refusals.Map(err))
	})
}

// SwitchMode records, as it happens, that an attendee now takes part
// another way from at (zero: now; at most five minutes back, after the
// attendee's last switch): video lost and the attendee goes on by audio
// only, a remote attendee arrives in the room of a hybrid group. The charge
// line follows the attendee's modes over time. Needs
// cl.group.virtual.manage; the session must be in progress.
func (c *Client) SwitchMode(ctx context.Context, actingUser, organizationID, attendanceID uuid.UUID, mode Mode, atHome bool, at time.Time) error {
	return c.switchMode(ctx, nil, actingUser, organizationID, attendanceID, mode, atHome, at)
}

// SwitchModeTx is [Client.SwitchMode] inside the caller's transaction.
func (c *Client) SwitchModeTx(ctx context.Context, tx pgx.Tx, actingUser, organizationID, attendanceID uuid.UUID, mode Mode, atHome bool, at time.Time) error {
	if tx == nil {
		return dbtx.ErrNilTx
	}
	return c.switchMode(ctx, tx, actingUser, organizationID, attendanceID, mode, atHome, at)
}

func (c *Client) switchMode(ctx context.Context, tx pgx.Tx, actingUser, organizationID, attendanceID uuid.UUID, mode Mode, atHome bool, at time.Time) (err error) {
	ctx, span := c.tel.Start(ctx, "telehealthgroup.SwitchMode", telemetry.Organization(organizationID), telemetry.ID(attendanceIDKey, attendanceID))
	defer span.End(&err)
	if err := validate.First(validate.Required("OrganizationID", organizationID), validate.Required("AttendanceID", attendanceID)); err != nil {
		return err
	}
	if err := mode.validate(atHome); err != nil {
		return err
	}
	if at.IsZero() {
		at = c.now()
	}
	if err := c.disclose(ctx, actingUser, organizationID, uuid.Nil, attendanceID, consent.UseSave); err != nil {
		return err
	}
	return dbtx.In(ctx, c.db, tx, actingUser, func(tx pgx.Tx) error {
		// The database decides (the policy, the switch guard); a switch no
		// row let through is explained after.
		var id uuid.UUID
		err := tx.QueryRow(ctx, switchModeSQL, pgx.NamedArgs{"organization_id": organizationID, "attendance_id": attendanceID,
			"switched_at": at, "mode": mode, "at_home": atHome}).Scan(&id)
		return explainMissing(ctx, tx, organizationID, PermissionManage, refusals.Map(err))
	})
}

// Get returns a session's telehealth record. Needs cl.group.virtual.view.
func (c *Client) Get(ctx context.Context, actingUser, organizationID, sessionID uuid.UUID) (_ *Session, err error) {
	ctx, span := c.tel.Start(ctx, "telehealthgroup.Get", telemetry.Organization(organizationID), telemetry.ID(sessionIDKey, sessionID))
	defer span.End(&err)
	var s *Session
	err = dbtx.Run(ctx, c.db, actingUser, func(tx pgx.Tx) error {
		row, err := get(ctx, tx, organizationID, sessionID)
		if err != nil {
			return err
		}
		s = &row.Session
		return nil
	})
	return s, err
}

// Attendees returns a session's attendees. Needs cl.group.virtual.view;
// Part 2 attendees appear only under the acting user's consent.
func (c *Client) Attendees(ctx context.Context, actingUser, organizationID, sessionID uuid.UUID) (_ []Attendee, err error) {
	ctx, span := c.tel.Start(ctx, "telehealthgroup.Attendees", telemetry.Organization(organizationID), telemetry.ID(sessionIDKey, sessionID))
	defer span.End(&err)
	// The read accounts for itself (cl_group_attendees): one transaction.
	return dbtx.CollectAccounted[Attendee](ctx, c.db, actingUser, organizationID, nil, attendeesSQL,
		pgx.NamedArgs{"organization_id": organizationID, "session_id": sessionID})
}

func get(ctx context.Context, tx pgx.Tx, org, session uuid.UUID) (*sessionRow, error) {
	rows, _ := tx.Query(ctx, getSQL, pgx.NamedArgs{"organization_id": org, "session_id": session})
	row, err := pgx.CollectExactlyOneRow(rows, pgx.RowToAddrOfStructByName[sessionRow])
	if err != nil {
		return nil, dbtx.MapError(err)
	}
	return row, nil
}

// disclose commits, before a read or write, the accounting of a group's
// Part 2 attendees it touches (the session's, or one attendance's when
// attendance is not zero: cl_group_disclose) and of charts about to be
// added; their rows open only once it has committed. From a ...Tx method
// it commits on a connection of its own, so the accounting stands whatever
// the caller's transaction does.
func (c *Client) disclose(ctx context.Context, actingUser, org, session, attendance uuid.UUID, use consent.Use, charts ...uuid.UUID) error {
	return dbtx.MapError(dbtx.Pipeline(ctx, c.db, actingUser, disclosure(org, session, attendance, use, charts...)))
}

// disclosure is the transaction disclose commits: the group's lines
// (cl_group_disclose), then the added charts'.
func disclosure(org, session, attendance uuid.UUID, use consent.Use, charts ...uuid.UUID) []dbtx.Statement {
	statements := []dbtx.Statement{{SQL: `SELECT public.cl_group_disclose($1, $2, $3, $4)`,
		Args: []any{org, sqlarg.UUID(session), sqlarg.UUID(attendance), use}}}
	if len(charts) > 0 {
		statements = append(statements, dbtx.Accounting(org, charts, string(consent.RecordGroupSession),
			string(consent.PurposeTreatment), string(use)))
	}
	return statements
}

// explainMissing turns ErrNotFound from a write that no row let through
// (an UPDATE policy filters silently) into ErrPermissionDenied when the
// acting user lacks permission in org altogether: asked only after the
// database has refused, never before.
func explainMissing(ctx context.Context, tx pgx.Tx, org uuid.UUID, permission string, err error) error {
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	if denied := require(ctx, tx, org, permission); denied != nil {
		return denied
	}
	return err
}

// require returns ErrPermissionDenied unless the acting user holds
// permission in org.
func require(ctx context.Context, tx pgx.Tx, org uuid.UUID, permission string) error {
	var ok bool
	if err := tx.QueryRow(ctx, permissionSQL, pgx.NamedArgs{"organization_id": org, "permission": permission}).Scan(&ok); err != nil {
		return dbtx.MapError(err)
	}
	if !ok {
		return ErrPermissionDenied
	}
	return nil
}
