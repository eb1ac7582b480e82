package supervision

import (
	"time"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/validate"
)

// Modality is how a supervision session was held.
type Modality string

// The modalities of supervision.
const (
	IndividualInPerson Modality = "individual_in_person"
	GroupInPerson      Modality = "group_in_person"
	IndividualVideo    Modality = "individual_video"
	GroupVideo         Modality = "group_video"
	Phone              Modality = "phone"
)

// Modalities lists every modality.
func Modalities() []Modality {
	return []Modality{IndividualInPerson, GroupInPerson, IndividualVideo, GroupVideo, Phone}
}

// Valid reports whether m is a known modality.
func (m Modality) Valid() bool {
	for _, k := range Modalities() {
		if m == k {
			return true
		}
	}
	return false
}

// Record is a supervision session of one peer by one supervisor.
type Record struct {
	OrganizationID  uuid.UUID `db:"organization_id"`
	ID              uuid.UUID `db:"id"`
	PeerProviderID  uuid.UUID `db:"peer_provider_id"`
	SupervisorID    uuid.UUID `db:"supervisor_id"`
	SupervisionDate time.Time `db:"supervision_date"`
	Modality        Modality  `db:"modality"`
	DurationMinutes *int      `db:"duration_minutes"`
	// Notes are about the peer's work, not a patient's chart (MVP: non-SUD):
	// empty unless the reader holds cl.peer.supervision.view_text or is the
	// peer supervised.
	Notes     string    `db:"notes"`
	CreatedBy uuid.UUID `db:"created_by"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedBy uuid.UUID `db:"updated_by"`
	UpdatedAt time.Time `db:"updated_at"`
}

// RecordParams describes a supervision session to record.
type RecordParams struct {
	OrganizationID uuid.UUID
	// PeerProviderID is the peer specialist supervised.
	PeerProviderID uuid.UUID
	// SupervisorID holds the peer_supervisor role and is not the peer.
	SupervisorID uuid.UUID
	// SupervisionDate is the day of the session; not in the future.
	SupervisionDate time.Time
	Modality        Modality
	// DurationMinutes, when recorded, is 1 to 720 minutes; zero means not
	// recorded.
	DurationMinutes int
	// Notes, up to 20,000 characters.
	Notes string
}

func (p *RecordParams) validate(now time.Time) error {
	if err := validate.First(validate.Required("OrganizationID", p.OrganizationID),
		validate.Required("PeerProviderID", p.PeerProviderID), validate.Required("SupervisorID", p.SupervisorID)); err != nil {
		return err
	}
	if p.SupervisorID == p.PeerProviderID {
		return validate.Errorf("SupervisorID", "must not be the peer being supervised")
	}
	if p.SupervisionDate.IsZero() {
		return validate.Errorf("SupervisionDate", "is required")
	}
	if day(p.SupervisionDate).After(day(now.In(p.SupervisionDate.Location()))) {
		return validate.Errorf("SupervisionDate", "is in the future")
	}
	if !p.Modality.Valid() {
		return validate.Errorf("Modality", "must be one of individual_in_person, group_in_person, individual_video, group_video, phone")
	}
	if p.DurationMinutes < 0 || p.DurationMinutes > 720 {
		return validate.Errorf("DurationMinutes", "must be between 1 and 720 minutes, or zero when not recorded")
	}
	if p.Notes != "" {
		return validate.Text("Notes", p.Notes, 0, 20000)
	}
	return nil
}

// Errors. Match them with errors.Is; a *ValidationError with errors.As.
var (
	// ErrNoActingUser: the call was given no acting user.
	ErrNoActingUser = dbtx.ErrNoActingUser
	// ErrInvalid matches every *ValidationError.
	ErrInvalid = validate.ErrInvalid
	// ErrNotFound: no such record, or the acting user may not see it.
	ErrNotFound = dbtx.ErrNotFound
	// ErrPermissionDenied: the acting user lacks cl.peer.supervision.manage
	// (or is not a member of the organization).
	ErrPermissionDenied = dbtx.ErrPermissionDenied
)

// ValidationError names the input field that is wrong, never its value.
type ValidationError = validate.Error
