package peer

import (
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/billing"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/telemetry"
	"github.com/encoreos/platform-go/internal/validate"
)

// Status is an encounter's state.
type Status string

// The states of an encounter.
const (
	StatusDraft     Status = "draft"
	StatusFinalized Status = "finalized"
)

// Encounter is a peer recovery support encounter.
type Encounter struct {
	OrganizationID uuid.UUID  `db:"organization_id"`
	ID             uuid.UUID  `db:"id"`
	SiteID         *uuid.UUID `db:"site_id"`
	ChartID        uuid.UUID  `db:"chart_id"`
	// EncounterID links the PM-03 encounter, when there is one (UUID only).
	EncounterID     *uuid.UUID `db:"encounter_id"`
	PeerProviderID  uuid.UUID  `db:"peer_provider_id"`
	ServiceDate     time.Time  `db:"service_date"`
	StartTime       time.Time  `db:"start_time"`
	EndTime         time.Time  `db:"end_time"`
	DurationMinutes int        `db:"duration_minutes"`
	ServiceType     string     `db:"service_type"`
	// ServiceTypeSource is "pf15" or "org": where ServiceType was defined
	// when the encounter was recorded.
	ServiceTypeSource string `db:"service_type_source"`
	HCPCSCode         string `db:"hcpcs_code"`
	// FocusNotes is the clinical documentation (PHI): it never leaves the
	// database except to a reader holding cl.peer.encounter.view_text, and
	// is empty for everyone else.
	FocusNotes  string     `db:"focus_notes"`
	Status      Status     `db:"status"`
	CreatedBy   uuid.UUID  `db:"created_by"`
	CreatedAt   time.Time  `db:"created_at"`
	UpdatedBy   uuid.UUID  `db:"updated_by"`
	UpdatedAt   time.Time  `db:"updated_at"`
	FinalizedBy *uuid.UUID `db:"finalized_by"`
	FinalizedAt *time.Time `db:"finalized_at"`
	// CosignedBy and CosignedAt are the supervisor's co-sign of the draft
	// as it stands (Client.Cosign; any later edit clears them). An
	// organization may require one before finalizing.
	CosignedBy *uuid.UUID `db:"cosigned_by"`
	CosignedAt *time.Time `db:"cosigned_at"`
}

// Fields are the parts of an encounter its author writes, for
// [Client.Create] and [Client.Update].
type Fields struct {
	// SiteID is the site; zero for none.
	SiteID uuid.UUID
	// EncounterID links a PM-03 encounter; zero for none.
	EncounterID uuid.UUID
	// PeerProviderID is the peer specialist who provided the service: an
	// active member of the organization with the peer_specialist role.
	PeerProviderID uuid.UUID
	// ServiceDate is the day of service (its date part only); not in the
	// future, and the day StartTime falls on in StartTime's location.
	ServiceDate time.Time
	// StartTime and EndTime bound the encounter; EndTime after StartTime.
	StartTime, EndTime time.Time
	// DurationMinutes is the documented service time: 1 minute up to the
	// span from StartTime to EndTime (less when there were breaks). Zero
	// means the whole span.
	DurationMinutes int
	// ServiceType is a code of the organization's service types (PF-15 or
	// its own, see the package documentation).
	ServiceType string
	// HCPCSCode is the billing code: a standard code (H0038, H2017) or one
	// of the organization's, effective on ServiceDate.
	HCPCSCode string
	// FocusNotes is the documentation, up to 20,000 characters. Required to
	// finalize.
	FocusNotes string
}

// MaxFocusNotes is the longest FocusNotes accepted, in characters.
const MaxFocusNotes = 20000

// validate checks what can be checked without the database and fills in
// the duration. now is the current time.
func (f *Fields) validate(now time.Time) error {
	if err := validate.Required("PeerProviderID", f.PeerProviderID); err != nil {
		return err
	}
	if f.StartTime.IsZero() || f.EndTime.IsZero() {
		return validate.Errorf("StartTime", "and EndTime are required")
	}
	if !f.EndTime.After(f.StartTime) {
		return validate.Errorf("EndTime", "must be after StartTime")
	}
	span := int(f.EndTime.Sub(f.StartTime).Round(time.Minute) / time.Minute)
	if f.DurationMinutes == 0 {
		f.DurationMinutes = span
	}
	if f.DurationMinutes < 1 || f.DurationMinutes > span || f.DurationMinutes > 1440 {
		return validate.Errorf("DurationMinutes", "must be between 1 and the %d minutes from StartTime to EndTime", span)
	}
	if f.ServiceDate.IsZero() {
		return validate.Errorf("ServiceDate", "is required")
	}
	day := dateOf(f.ServiceDate)
	if day.After(dateOf(now.In(f.ServiceDate.Location()))) {
		return validate.Errorf("ServiceDate", "is in the future")
	}
	if !day.Equal(dateOf(f.StartTime)) {
		return validate.Errorf("ServiceDate", "must be the day StartTime falls on")
	}
	if f.EndTime.After(now.Add(time.Minute)) {
		return validate.Errorf("EndTime", "is in the future")
	}
	if f.ServiceType == "" {
		return validate.Errorf("ServiceType", "is required")
	}
	if len(f.ServiceType) > 63 || !serviceTypeShape.MatchString(f.ServiceType) {
		return validate.Errorf("ServiceType", "is not one of the organization's active peer service types")
	}
	if !billing.WellFormed(f.HCPCSCode) {
		return validate.Errorf("HCPCSCode", "is not a well-formed procedure code")
	}
	if !utf8.ValidString(f.FocusNotes) || containsNUL(f.FocusNotes) {
		return validate.Errorf("FocusNotes", "must be valid UTF-8 text without NUL characters")
	}
	if utf8.RuneCountInString(f.FocusNotes) > MaxFocusNotes {
		return validate.Errorf("FocusNotes", "may have at most %d characters", MaxFocusNotes)
	}
	return nil
}

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

// serviceTypeShape is the shape of every service type code (PF-15 and the
// organizations' own).
var serviceTypeShape = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// dateOf is t's calendar date (in t's location) as a UTC midnight.
func dateOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// CreateParams describes a new draft encounter.
type CreateParams struct {
	// OrganizationID and ChartID place the encounter; the chart must belong
	// to the organization. Required.
	OrganizationID uuid.UUID
	ChartID        uuid.UUID
	Fields
}

// Amendment is an addendum to, or a correction of, a finalized encounter.
type Amendment struct {
	OrganizationID  uuid.UUID     `db:"organization_id"`
	ID              uuid.UUID     `db:"id"`
	PeerEncounterID uuid.UUID     `db:"peer_encounter_id"`
	ChartID         uuid.UUID     `db:"chart_id"`
	Kind            AmendmentKind `db:"kind"`
	// Body and Reason are clinical text: empty unless the reader holds
	// cl.peer.encounter.view_text.
	Body   string `db:"body"`
	Reason string `db:"reason"`
	// The billed figures a correction changed (nil: unchanged); see
	// Client.Correct.
	CorrectedServiceDate     *time.Time `db:"corrected_service_date"`
	CorrectedDurationMinutes *int       `db:"corrected_duration_minutes"`
	CorrectedHCPCSCode       *string    `db:"corrected_hcpcs_code"`
	CorrectedPeerProviderID  *uuid.UUID `db:"corrected_peer_provider_id"`
	// BillingSeq is a correction of billed figures' place among the
	// encounter's (1, 2, ...): the order they apply in and their events
	// are published in. Nil for an addendum or a correction of text.
	BillingSeq *int      `db:"billing_seq"`
	CreatedBy  uuid.UUID `db:"created_by"`
	CreatedAt  time.Time `db:"created_at"`
}

// AmendmentKind is an addendum (adds information) or a correction
// (corrects recorded information).
type AmendmentKind string

// The kinds of amendment.
const (
	Addendum   AmendmentKind = "addendum"
	Correction AmendmentKind = "correction"
)

// ServiceType is a peer service type an organization may use.
type ServiceType struct {
	Source string `db:"source"` // "pf15" or "org"
	Code   string `db:"code"`
	Label  string `db:"label"`
	Active bool   `db:"active"`
}

// Errors. Match them with errors.Is; a *ValidationError with errors.As.
var (
	// ErrNoActingUser: the call was given no acting user.
	ErrNoActingUser = dbtx.ErrNoActingUser
	// ErrInvalid matches every *ValidationError.
	ErrInvalid = validate.ErrInvalid
	// ErrNotFound: no such encounter, or the acting user may not see it
	// (another organization, or a Part 2 chart without consent).
	ErrNotFound = dbtx.ErrNotFound
	// ErrPermissionDenied: the acting user may not write it.
	ErrPermissionDenied = dbtx.ErrPermissionDenied
	// ErrFinalized: a finalized encounter cannot be edited; amend it.
	ErrFinalized = telemetry.NewError("finalized", "peer: the encounter is finalized; record an amendment instead")
	// ErrNotFinalized: only a finalized encounter is amended; edit the draft.
	ErrNotFinalized = telemetry.NewError("not_finalized", "peer: the encounter is a draft; edit it instead of amending it")
)

// ValidationError names the input field that is wrong, never its value.
type ValidationError = validate.Error
