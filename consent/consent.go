package consent

import (
	"regexp"
	"time"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/telemetry"
	"github.com/encoreos/platform-go/internal/validate"
)

// RecordType names a kind of Part 2 record. The list mirrors the database
// function cl_part2_record_types().
type RecordType string

// The record types a consent can cover.
const (
	RecordPeerEncounter             RecordType = "peer_encounter"
	RecordProgressNote              RecordType = "progress_note"
	RecordGroupSession              RecordType = "group_session"
	RecordVirtualGroupParticipation RecordType = "virtual_group_participation"
	RecordMultiPartyEncounter       RecordType = "multi_party_encounter"
	// RecordAppointment is a PM-03 appointment or encounter: that a person
	// has one in an SUD program is itself Part 2 information.
	RecordAppointment RecordType = "appointment"
	// RecordSUDCounselingNote needs a consent of its own: a consent that
	// names it names nothing else, and AllRecords does not cover it.
	RecordSUDCounselingNote RecordType = "sud_counseling_note"
	// AllRecords, in a consent, covers every record type except SUD
	// counseling notes, including record types added later. It is not a
	// record type a [Request] can ask about.
	AllRecords RecordType = "*"
)

// RecordTypes returns every record type a [Request] can name.
func RecordTypes() []RecordType {
	return []RecordType{RecordPeerEncounter, RecordProgressNote, RecordGroupSession,
		RecordVirtualGroupParticipation, RecordMultiPartyEncounter, RecordAppointment, RecordSUDCounselingNote}
}

// Valid reports whether r is a record type a [Request] can name.
func (r RecordType) Valid() bool { return contains(RecordTypes(), r) }

// Purpose is why information is used or disclosed, as an HL7 PurposeOfUse
// code.
type Purpose string

// The purposes a consent can name. [PurposeEmergencyTreatment] is recorded
// for medical-emergency access and cannot be consented to.
const (
	PurposeTreatment          Purpose = "TREAT"
	PurposePayment            Purpose = "HPAYMT"
	PurposeOperations         Purpose = "HOPERAT"
	PurposeResearch           Purpose = "HRESCH"
	PurposePatientRequest     Purpose = "PATRQT"
	PurposeEmergencyTreatment Purpose = "ETREAT"
)

func consentablePurposes() []Purpose {
	return []Purpose{PurposeTreatment, PurposePayment, PurposeOperations, PurposeResearch, PurposePatientRequest}
}

// Use is what the caller is about to do with the records it asks about.
type Use string

// The uses a [Checker] is asked about.
const (
	UseDisplay Use = "display"
	UseSave    Use = "save"
	UseExport  Use = "export"
	UseAI      Use = "ai"
)

// Signer says who signed a consent.
type Signer string

// The signers of a consent.
const (
	SignerPatient                Signer = "patient"
	SignerPersonalRepresentative Signer = "personal_representative"
)

// Recipient is to whom a consent allows disclosure: one user, or every
// active member of one organization. Exactly one field is set.
type Recipient struct {
	UserID         uuid.UUID
	OrganizationID uuid.UUID
}

// GrantParams describes a signed consent to record.
type GrantParams struct {
	// OrganizationID is the organization holding the chart. Required.
	OrganizationID uuid.UUID
	// ChartID is the patient's chart. Required.
	ChartID uuid.UUID
	// DisclosingOrganizationID is the Part 2 program that may disclose:
	// the organization holding the chart (zero means OrganizationID; any
	// other value is invalid).
	DisclosingOrganizationID uuid.UUID
	// Recipient is who may receive the records. Required.
	Recipient Recipient
	// RecordTypes lists the kinds of records covered. Required.
	RecordTypes []RecordType
	// Purposes lists why the records may be disclosed. Required.
	Purposes []Purpose
	// EffectiveAt is when the consent starts; zero means now.
	EffectiveAt time.Time
	// ExpiresAt is when the consent ends; zero means it ends on
	// ExpirationEvent instead. One of the two is required.
	ExpiresAt time.Time
	// ExpirationEvent is a code for the event that ends the consent, such
	// as "end_of_treatment". Ending the consent on that event is a
	// revocation the host records with [Client.Revoke].
	ExpirationEvent string
	// SignedAt is when the consent was signed. Required, not in the future.
	SignedAt time.Time
	// Signer is who signed it. Required.
	Signer Signer
}

var codePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{1,62}$`)

// clockSkew is how far in the future a signature time may be.
const clockSkew = time.Minute

func (p *GrantParams) validate(now time.Time) error {
	if err := validate.Required("OrganizationID", p.OrganizationID); err != nil {
		return err
	}
	if err := validate.Required("ChartID", p.ChartID); err != nil {
		return err
	}
	if (p.Recipient.UserID == uuid.Nil) == (p.Recipient.OrganizationID == uuid.Nil) {
		return validate.Errorf("Recipient", "needs exactly one of UserID and OrganizationID")
	}
	if len(p.RecordTypes) == 0 {
		return validate.Errorf("RecordTypes", "is required")
	}
	for _, r := range p.RecordTypes {
		if r != AllRecords && !r.Valid() {
			return validate.Errorf("RecordTypes", "holds an unknown record type")
		}
	}
	if p.DisclosingOrganizationID != uuid.Nil && p.DisclosingOrganizationID != p.OrganizationID {
		return validate.Errorf("DisclosingOrganizationID", "must be the organization holding the chart")
	}
	if hasDuplicates(p.RecordTypes) {
		return validate.Errorf("RecordTypes", "holds a record type twice")
	}
	if contains(p.RecordTypes, RecordSUDCounselingNote) && len(p.RecordTypes) > 1 {
		return validate.Errorf("RecordTypes", "may not combine SUD counseling notes with other records: they need a consent of their own")
	}
	if len(p.Purposes) == 0 {
		return validate.Errorf("Purposes", "is required")
	}
	for _, pu := range p.Purposes {
		if !contains(consentablePurposes(), pu) {
			return validate.Errorf("Purposes", "holds a purpose that cannot be consented to")
		}
	}
	if hasDuplicates(p.Purposes) {
		return validate.Errorf("Purposes", "holds a purpose twice")
	}
	if p.ExpiresAt.IsZero() && p.ExpirationEvent == "" {
		return validate.Errorf("ExpiresAt", "or ExpirationEvent is required")
	}
	start := p.EffectiveAt
	if start.IsZero() {
		start = now
	}
	if !p.ExpiresAt.IsZero() && !p.ExpiresAt.After(start) {
		return validate.Errorf("ExpiresAt", "must be after the consent's start")
	}
	if p.ExpirationEvent != "" && !codePattern.MatchString(p.ExpirationEvent) {
		return validate.Errorf("ExpirationEvent", "must be a lower-case code such as end_of_treatment")
	}
	if p.SignedAt.IsZero() {
		return validate.Errorf("SignedAt", "is required")
	}
	if p.SignedAt.After(now.Add(clockSkew)) {
		return validate.Errorf("SignedAt", "is in the future")
	}
	if !p.EffectiveAt.IsZero() && p.SignedAt.After(p.EffectiveAt) {
		return validate.Errorf("SignedAt", "must not be after EffectiveAt: a consent is in force only once signed (42 CFR 2.31)")
	}
	if p.Signer != SignerPatient && p.Signer != SignerPersonalRepresentative {
		return validate.Errorf("Signer", "must be patient or personal_representative")
	}
	return nil
}

func hasDuplicates[T comparable](s []T) bool {
	seen := make(map[T]bool, len(s))
	for _, v := range s {
		if seen[v] {
			return true
		}
		seen[v] = true
	}
	return false
}

// Consent is a recorded consent.
type Consent struct {
	OrganizationID           uuid.UUID    `db:"organization_id"`
	ID                       uuid.UUID    `db:"id"`
	ChartID                  uuid.UUID    `db:"chart_id"`
	DisclosingOrganizationID uuid.UUID    `db:"disclosing_organization_id"`
	RecipientUserID          *uuid.UUID   `db:"recipient_user_id"`
	RecipientOrganizationID  *uuid.UUID   `db:"recipient_organization_id"`
	RecordTypes              []RecordType `db:"record_types"`
	Purposes                 []Purpose    `db:"purposes"`
	EffectiveAt              time.Time    `db:"effective_at"`
	ExpiresAt                *time.Time   `db:"expires_at"`
	ExpirationEvent          *string      `db:"expiration_event"`
	SignedAt                 time.Time    `db:"signed_at"`
	Signer                   Signer       `db:"signer"`
	RecordedBy               uuid.UUID    `db:"recorded_by"`
	RecordedAt               time.Time    `db:"recorded_at"`
	RevokedAt                *time.Time   `db:"revoked_at"`
	RevokedBy                *uuid.UUID   `db:"revoked_by"`
}

// ActiveAt reports whether the consent is in force at t.
func (c *Consent) ActiveAt(t time.Time) bool {
	return c.RevokedAt == nil && !c.EffectiveAt.After(t) && (c.ExpiresAt == nil || c.ExpiresAt.After(t))
}

// BreakGlassParams asks for medical-emergency access to one chart.
type BreakGlassParams struct {
	// ChartID is the chart to open. Required.
	ChartID uuid.UUID
	// Reason is the nature of the emergency, 10 to 2000 characters. It is
	// stored with the access record (which is PHI), never in the audit log.
	Reason string
	// Duration is how long the access lasts: 1 minute to 24 hours. Zero
	// means DefaultBreakGlassDuration.
	Duration time.Duration
}

// Limits of a medical-emergency access.
const (
	DefaultBreakGlassDuration = time.Hour
	MinBreakGlassDuration     = time.Minute
	MaxBreakGlassDuration     = 24 * time.Hour
)

func (p *BreakGlassParams) validate() error {
	if err := validate.Required("ChartID", p.ChartID); err != nil {
		return err
	}
	if err := validate.Text("Reason", p.Reason, 10, 2000); err != nil {
		return err
	}
	if p.Duration != 0 && (p.Duration < MinBreakGlassDuration || p.Duration > MaxBreakGlassDuration) {
		return validate.Errorf("Duration", "must be between 1 minute and 24 hours")
	}
	return nil
}

// EmergencyAccess is an open (or past) medical-emergency access.
type EmergencyAccess struct {
	OrganizationID uuid.UUID `db:"organization_id"`
	ID             uuid.UUID `db:"id"`
	ChartID        uuid.UUID `db:"chart_id"`
	UserID         uuid.UUID `db:"user_id"`
	StartedAt      time.Time `db:"started_at"`
	ExpiresAt      time.Time `db:"expires_at"`
}

// Disclosure is one entry of an accounting of disclosures: a grant,
// revocation, emergency access or access decision about a Part 2 chart.
type Disclosure struct {
	// ID is the audit row's; an export's event carries it (FHIR
	// AuditEvent.id).
	ID             uuid.UUID  `db:"id"`
	OccurredAt     time.Time  `db:"occurred_at"`
	Action         string     `db:"action"`
	ActorUserID    *uuid.UUID `db:"actor_user_id"`
	OrganizationID uuid.UUID  `db:"organization_id"`
	SiteID         *uuid.UUID `db:"site_id"`
	Purpose        *Purpose   `db:"purpose"`
	RecordType     *string    `db:"record_type"`
	Use            *string    `db:"use"`
	Basis          *string    `db:"basis"`
	ConsentID      *uuid.UUID `db:"consent_id"`
	// EmergencyAccessID links to the access record holding the reason.
	EmergencyAccessID *uuid.UUID `db:"emergency_access_id"`
}

// Errors. Match them with errors.Is; match a *ValidationError with
// errors.As to learn the field.
var (
	// ErrNoActingUser: the call was given the zero UUID as acting user.
	ErrNoActingUser = dbtx.ErrNoActingUser
	// ErrInvalid matches every *ValidationError.
	ErrInvalid = validate.ErrInvalid
	// ErrNotFound: no such consent, or the acting user may not see it.
	ErrNotFound = dbtx.ErrNotFound
	// ErrPermissionDenied: the acting user lacks the permission.
	ErrPermissionDenied = dbtx.ErrPermissionDenied
	// ErrAlreadyRevoked: the consent was revoked before.
	ErrAlreadyRevoked = telemetry.NewError("already_revoked", "consent: already revoked")
	// ErrAccountingUncommitted: a read of Part 2 records by a client built
	// on the caller's transaction (peer, telehealthgroup, multiparty) had to
	// write its accounting line there, which opens the records only once
	// that transaction commits: commit, then read again (or build the
	// client on a pool).
	ErrAccountingUncommitted = dbtx.ErrAccountingUncommitted
	// ErrAccountingMoved: a read's accounting had to be written again at
	// each of its attempts (a consent or emergency access changing under
	// it); try again.
	ErrAccountingMoved = dbtx.ErrAccountingMoved
)

// ValidationError names the input field that is wrong. It never holds the
// value.
type ValidationError = validate.Error
