package multiparty

import (
	"regexp"
	"time"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/validate"
)

// Kind is the kind of encounter.
type Kind string

// The kinds of multi-party encounter.
const (
	Crisis      Kind = "crisis"
	Family      Kind = "family"
	Interpreter Kind = "interpreter"
	CareTeam    Kind = "care_team"
)

// Modality is how the encounter met.
type Modality string

// The modalities.
const (
	InPerson Modality = "in_person"
	Virtual  Modality = "virtual"
	Hybrid   Modality = "hybrid"
)

// ParticipantKind is who a participant is.
type ParticipantKind string

// The kinds of participant.
const (
	Patient              ParticipantKind = "patient"
	FamilySupport        ParticipantKind = "family_support"
	InterpreterPerson    ParticipantKind = "interpreter"
	Staff                ParticipantKind = "staff"
	ExternalProfessional ParticipantKind = "external_professional"
)

// Encounter is a multi-party encounter with its participants.
type Encounter struct {
	OrganizationID        uuid.UUID  `db:"organization_id"`
	ID                    uuid.UUID  `db:"id"`
	SiteID                *uuid.UUID `db:"site_id"`
	Kind                  Kind       `db:"kind"`
	Modality              Modality   `db:"modality"`
	PMTelehealthSessionID *uuid.UUID `db:"pm_telehealth_session_id"`
	LeadClinicianID       uuid.UUID  `db:"lead_clinician_id"`
	StartedAt             time.Time  `db:"started_at"`
	EndedAt               *time.Time `db:"ended_at"`
	// Summary is clinical documentation (PHI): empty unless the reader
	// holds cl.multi_party.view_text.
	Summary      string        `db:"summary"`
	CreatedBy    uuid.UUID     `db:"created_by"`
	CreatedAt    time.Time     `db:"created_at"`
	UpdatedBy    uuid.UUID     `db:"updated_by"`
	UpdatedAt    time.Time     `db:"updated_at"`
	Participants []Participant `db:"-"`
}

// Participant is one party to an encounter.
type Participant struct {
	OrganizationID uuid.UUID       `db:"organization_id"`
	ID             uuid.UUID       `db:"id"`
	EncounterID    uuid.UUID       `db:"encounter_id"`
	Kind           ParticipantKind `db:"kind"`
	ChartID        *uuid.UUID      `db:"chart_id"`       // patients only
	MemberUserID   *uuid.UUID      `db:"member_user_id"` // staff only
	Language       *string         `db:"language"`       // interpreters only
	RoleCode       *string         `db:"role_code"`
	JoinedAt       *time.Time      `db:"joined_at"`
	LeftAt         *time.Time      `db:"left_at"`
	CreatedBy      uuid.UUID       `db:"created_by"`
	CreatedAt      time.Time       `db:"created_at"`
}

// ParticipantParams describes a participant to add.
type ParticipantParams struct {
	Kind ParticipantKind
	// ChartID is required for a patient and refused for anyone else.
	ChartID uuid.UUID
	// MemberUserID is required for staff and refused for anyone else.
	MemberUserID uuid.UUID
	// Language is required for an interpreter (a BCP 47 tag such as "es")
	// and refused for anyone else.
	Language string
	// RoleCode optionally describes a family/support person's relationship
	// or an external professional's role as a lower-case code (e.g.
	// "parent", "probation_officer"); never a name.
	RoleCode string
	// JoinedAt is when the participant joined; zero if not recorded.
	JoinedAt time.Time
}

var (
	languageTag = regexp.MustCompile(`^[a-zA-Z]{2,8}(-[a-zA-Z0-9]{1,8})*$`)
	roleCode    = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
)

func (p *ParticipantParams) validate() error {
	switch p.Kind {
	case Patient, FamilySupport, InterpreterPerson, Staff, ExternalProfessional:
	default:
		return validate.Errorf("Participants.Kind", "must be patient, family_support, interpreter, staff or external_professional")
	}
	switch {
	case (p.Kind == Patient) != (p.ChartID != uuid.Nil):
		return validate.Errorf("Participants.ChartID", "is required for a patient and only for a patient")
	case (p.Kind == Staff) != (p.MemberUserID != uuid.Nil):
		return validate.Errorf("Participants.MemberUserID", "is required for staff and only for staff")
	case (p.Kind == InterpreterPerson) != (p.Language != ""):
		return validate.Errorf("Participants.Language", "is required for an interpreter and only for an interpreter")
	case p.Language != "" && (len(p.Language) > 35 || !languageTag.MatchString(p.Language)):
		return validate.Errorf("Participants.Language", "must be a BCP 47 language tag such as es or zh-Hant")
	case p.RoleCode != "" && !roleCode.MatchString(p.RoleCode):
		return validate.Errorf("Participants.RoleCode", "must be a lower-case code such as parent, never a name")
	}
	return nil
}

// CreateParams describes a new encounter.
type CreateParams struct {
	OrganizationID uuid.UUID
	// SiteID is the site; zero for none.
	SiteID   uuid.UUID
	Kind     Kind
	Modality Modality
	// PMTelehealthSessionID references the PM-13 session of a virtual or
	// hybrid encounter; zero for none.
	PMTelehealthSessionID uuid.UUID
	// LeadClinicianID is the member leading the encounter.
	LeadClinicianID uuid.UUID
	StartedAt       time.Time
	// Summary is the documentation so far, up to 20,000 characters.
	Summary      string
	Participants []ParticipantParams
}

func (p *CreateParams) validate(now time.Time) error {
	if err := validate.First(validate.Required("OrganizationID", p.OrganizationID), validate.Required("LeadClinicianID", p.LeadClinicianID)); err != nil {
		return err
	}
	switch p.Kind {
	case Crisis, Family, Interpreter, CareTeam:
	default:
		return validate.Errorf("Kind", "must be crisis, family, interpreter or care_team")
	}
	switch p.Modality {
	case InPerson, Virtual, Hybrid:
	default:
		return validate.Errorf("Modality", "must be in_person, virtual or hybrid")
	}
	if p.Modality == InPerson && p.PMTelehealthSessionID != uuid.Nil {
		return validate.Errorf("PMTelehealthSessionID", "is only for a virtual or hybrid encounter")
	}
	if p.StartedAt.IsZero() || p.StartedAt.After(now.Add(time.Minute)) {
		return validate.Errorf("StartedAt", "is required and not in the future")
	}
	if p.Summary != "" {
		if err := validate.Text("Summary", p.Summary, 0, 20000); err != nil {
			return err
		}
	}
	if len(p.Participants) < 2 {
		return validate.Errorf("Participants", "needs at least two parties")
	}
	charts := map[uuid.UUID]bool{}
	for i := range p.Participants {
		if err := p.Participants[i].validate(); err != nil {
			return err
		}
		if c := p.Participants[i].ChartID; c != uuid.Nil {
			if charts[c] {
				return validate.Errorf("Participants.ChartID", "names the same patient twice")
			}
			charts[c] = true
		}
	}
	return nil
}

// Errors. Match them with errors.Is; a *ValidationError with errors.As.
var (
	// ErrNoActingUser: the call was given no acting user.
	ErrNoActingUser = dbtx.ErrNoActingUser
	// ErrInvalid matches every *ValidationError.
	ErrInvalid = validate.ErrInvalid
	// ErrNotFound: no such encounter, or the acting user may not see it
	// (no cl.multi_party.view, or a Part 2 patient without consent).
	ErrNotFound = dbtx.ErrNotFound
	// ErrPermissionDenied: no cl.multi_party.manage, or adding a patient
	// whose chart's consent does not cover the acting user.
	ErrPermissionDenied = dbtx.ErrPermissionDenied
)

// ValidationError names the input field that is wrong, never its value.
type ValidationError = validate.Error
