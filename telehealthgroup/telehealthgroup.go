package telehealthgroup

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/billing"
	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/telemetry"
	"github.com/encoreos/platform-go/internal/validate"
)

// Modality is how the group meets: everyone remote, or some in the room.
type Modality = events.Modality

// The modalities of a virtual group.
const (
	Virtual = events.ModalityVirtual
	Hybrid  = events.ModalityHybrid
)

// State is where a session is in its lifecycle.
type State string

// The states, in order.
const (
	Scheduled State = "scheduled"
	Started   State = "started"
	Concluded State = "concluded"
)

// Fallback is what happens when video fails.
type Fallback string

// The fallbacks of a contingency plan.
const (
	FallbackAudioOnly  Fallback = "audio_only"
	FallbackInPerson   Fallback = "in_person"
	FallbackReschedule Fallback = "reschedule"
	FallbackEndSession Fallback = "end_session"
)

// Contact is who calls whom when video fails (roles, never numbers).
type Contact string

// The contact plans.
const (
	FacilitatorCallsParticipants  Contact = "facilitator_calls_participants"
	ParticipantsCallProgram       Contact = "participants_call_program"
	ProgramStaffCallsParticipants Contact = "program_staff_calls_participants"
)

// Mode is how one attendee takes part.
type Mode string

// The attendance modes.
const (
	InPerson  Mode = "in_person"
	Video     Mode = "video"
	AudioOnly Mode = "audio_only"
)

// validate checks a mode and whether the attendee is at home: only a
// remote attendee is.
func (m Mode) validate(atHome bool) error {
	switch m {
	case InPerson, Video, AudioOnly:
	default:
		return validate.Errorf("Mode", "must be in_person, video or audio_only")
	}
	if m == InPerson && atHome {
		return validate.Errorf("AtHome", "is for remote attendees")
	}
	return nil
}

// Session is a virtual or hybrid group session's telehealth record.
type Session struct {
	OrganizationID        uuid.UUID  `db:"organization_id"`
	SessionID             uuid.UUID  `db:"session_id"`
	Modality              Modality   `db:"modality"`
	PMTelehealthSessionID *uuid.UUID `db:"pm_telehealth_session_id"`
	VendorSessionRef      *string    `db:"vendor_session_ref"`
	ContingencyFallback   Fallback   `db:"contingency_fallback"`
	ContingencyContact    Contact    `db:"contingency_contact"`
	JurisdictionProfile   *string    `db:"jurisdiction_profile"`
	State                 State      `db:"state"`
	StartedAt             *time.Time `db:"started_at"`
	ConcludedAt           *time.Time `db:"concluded_at"`
	FacilitatorID         uuid.UUID  `db:"facilitator_id"`
}

// ConfigureParams makes a CL-14 group session virtual or hybrid.
type ConfigureParams struct {
	OrganizationID uuid.UUID
	SessionID      uuid.UUID
	Modality       Modality
	// PMTelehealthSessionID references PM-13's session (UUID only); zero
	// for none yet.
	PMTelehealthSessionID uuid.UUID
	// VendorSessionRef is the vendor's opaque session id (never a join
	// URL, credential or recording URL); empty for none.
	VendorSessionRef string
	// Contingency is what happens if video fails; defaults audio only, the
	// facilitator calling the participants.
	ContingencyFallback Fallback
	ContingencyContact  Contact
	// JurisdictionProfile is the code of the billing profile that resolves
	// modifier suggestions (e.g. "az_ahcccs"); empty for "default".
	JurisdictionProfile string
}

var opaque = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// secretPrefixes are the starts of well-known credentials and tokens.
var secretPrefixes = []string{"eyJ", "sk_", "sk-", "pk_live", "rk_live", "ghp_", "gho_", "github_pat_", "glpat-",
	"xoxa-", "xoxb-", "xoxp-", "xoxr-", "xapp-", "AKIA", "ASIA", "AIza"}

// OpaqueReference reports whether s looks like an opaque identifier, by an
// allow-list: 1 to 64 letters and digits with '_' and '-' between them (so
// no scheme, host, path or address can be written), and no well-known
// credential prefix. The database applies the same rule
// (cl_is_opaque_reference).
func OpaqueReference(s string) bool {
	if !opaque.MatchString(s) {
		return false
	}
	for _, p := range secretPrefixes {
		if strings.HasPrefix(s, p) {
			return false
		}
	}
	return true
}

func (p *ConfigureParams) validate() error {
	if err := validate.First(validate.Required("OrganizationID", p.OrganizationID), validate.Required("SessionID", p.SessionID)); err != nil {
		return err
	}
	if p.Modality != Virtual && p.Modality != Hybrid {
		return validate.Errorf("Modality", "must be virtual or hybrid")
	}
	if p.VendorSessionRef != "" && !OpaqueReference(p.VendorSessionRef) {
		return validate.Errorf("VendorSessionRef", "must be an opaque identifier (letters and digits with _ and -, at most 64), never a URL, an address or a secret")
	}
	if p.ContingencyFallback == "" {
		p.ContingencyFallback = FallbackAudioOnly
	}
	if p.ContingencyContact == "" {
		p.ContingencyContact = FacilitatorCallsParticipants
	}
	switch p.ContingencyFallback {
	case FallbackAudioOnly, FallbackInPerson, FallbackReschedule, FallbackEndSession:
	default:
		return validate.Errorf("ContingencyFallback", "must be audio_only, in_person, reschedule or end_session")
	}
	switch p.ContingencyContact {
	case FacilitatorCallsParticipants, ParticipantsCallProgram, ProgramStaffCallsParticipants:
	default:
		return validate.Errorf("ContingencyContact", "must be a contact plan, never a phone number")
	}
	return nil
}

// AttendeeParams adds a patient to a virtual or hybrid group.
type AttendeeParams struct {
	OrganizationID uuid.UUID
	SessionID      uuid.UUID
	ChartID        uuid.UUID
	// Mode is how the attendee takes part; in a virtual group, not in person.
	Mode Mode
	// AtHome is true for a remote attendee joining from home (place of
	// service 10 rather than 02).
	AtHome bool
}

// Attendee is one patient of a group, with how they take part. No name,
// only the chart it links.
type Attendee struct {
	AttendanceID uuid.UUID  `db:"attendance_id"`
	ChartID      uuid.UUID  `db:"chart_id"`
	Status       string     `db:"status"`
	Mode         Mode       `db:"mode"`
	AtHome       bool       `db:"at_home"`
	JoinedAt     *time.Time `db:"joined_at"`
	LeftAt       *time.Time `db:"left_at"`
}

// AttendeeSuggestion is the modifier suggestion for one present attendee's
// charge line, by attendance id (PM-07 creates the charge; the chart is not
// here, since the facilitator may not be allowed to see every attendee's).
type AttendeeSuggestion struct {
	AttendanceID uuid.UUID
	billing.Suggestion
}

// Conclusion is what Conclude recorded and published.
type Conclusion struct {
	Event     *events.VirtualGroupConcluded
	Attendees []AttendeeSuggestion
}

// SessionContext is what the host's scheduling layer (PM-04, PM-13) knows
// about a group session.
type SessionContext struct {
	// ScheduleID is the PM-04 schedule, when there is one.
	ScheduleID uuid.UUID
	// TelehealthStatus is PM-13's status of the session's telehealth
	// session: "scheduled", "live", "ended", "failed" or "cancelled".
	TelehealthStatus string
}

// Scheduling is the host seam Start consults (@/platform/scheduling).
type Scheduling interface {
	SessionContext(ctx context.Context, organizationID, sessionID uuid.UUID) (SessionContext, error)
}

// Errors. Match them with errors.Is; a *ValidationError with errors.As.
var (
	// ErrNoActingUser: the call was given no acting user.
	ErrNoActingUser = dbtx.ErrNoActingUser
	// ErrInvalid matches every *ValidationError.
	ErrInvalid = validate.ErrInvalid
	// ErrNotFound: no such session, or not virtual, or not visible.
	ErrNotFound = dbtx.ErrNotFound
	// ErrPermissionDenied: the acting user lacks the action's
	// cl.group.virtual.* permission, or a Part 2 attendee has no consent to
	// group participation.
	ErrPermissionDenied = dbtx.ErrPermissionDenied
	// ErrAlreadyStarted: Start on a session started under another
	// correlation id (or without one).
	ErrAlreadyStarted = telemetry.NewError("already_started", "telehealthgroup: the session has already started")
	// ErrNotStarted: Conclude on a session that never started.
	ErrNotStarted = telemetry.NewError("not_started", "telehealthgroup: the session has not started")
	// ErrAlreadyConcluded: Conclude (or Start) on a concluded session under
	// another correlation id.
	ErrAlreadyConcluded = telemetry.NewError("already_concluded", "telehealthgroup: the session has already concluded")
	// ErrTelehealthUnavailable: PM-13 reports the telehealth session ended,
	// failed or cancelled.
	ErrTelehealthUnavailable = telemetry.NewError("telehealth_unavailable", "telehealthgroup: the telehealth session is not available")
)

// ValidationError names the input field that is wrong, never its value.
type ValidationError = validate.Error
