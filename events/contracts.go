package events

import (
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"
)

// Channel is the event channel the specifications name: the outbox table,
// the LISTEN/NOTIFY channel and the default JetStream subject prefix.
const Channel = "cl_pm_events"

// The event types, as the specifications name them.
const (
	TypePeerEncounterFinalized = "peer_encounter_finalized"
	TypePeerEncounterCorrected = "peer_encounter_corrected"
	TypeVirtualGroupStarted    = "cl_virtual_group_started"
	TypeVirtualGroupConcluded  = "cl_virtual_group_concluded"
	TypeVirtualGroupChargeLine = "cl_virtual_group_charge_line"
)

// Registered returns a zero value of every event type the library
// publishes. Tests walk them to keep PHI out and to publish JSON Schemas.
func Registered() []Event {
	return []Event{&PeerEncounterFinalized{}, &PeerEncounterCorrected{}, &VirtualGroupStarted{}, &VirtualGroupConcluded{},
		&VirtualGroupChargeLine{}}
}

// Code is a short identifier from a code system: an HCPCS code, a modifier,
// a place of service. Never free text: at most 32 letters, digits and
// "_.:-".
type Code string

var codePattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,32}$`)

// Valid reports whether c is a well-formed code.
func (c Code) Valid() bool { return codePattern.MatchString(string(c)) }

// Codes is a list of codes; it is never null in JSON (nil is written as []).
type Codes []Code

// MarshalJSON writes the codes as a JSON array, [] when there are none.
func (cs Codes) MarshalJSON() ([]byte, error) {
	if cs == nil {
		return []byte("[]"), nil
	}
	return json.Marshal([]Code(cs))
}

// Date is a calendar date without time or zone, "YYYY-MM-DD" in JSON.
type Date struct{ time.Time }

// NewDate returns the date of t in t's location.
func NewDate(t time.Time) Date {
	return Date{time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)}
}

// MarshalJSON writes "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) {
	return []byte(`"` + d.Format(time.DateOnly) + `"`), nil
}

// UnmarshalJSON reads "YYYY-MM-DD".
func (d *Date) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("events: a date must be a JSON string")
	}
	t, err := time.Parse(time.DateOnly, string(b[1:len(b)-1]))
	if err != nil {
		return fmt.Errorf("events: a date must be YYYY-MM-DD")
	}
	d.Time = t
	return nil
}

// Modality is how a group meets.
type Modality string

// The modalities of a virtual or hybrid group.
const (
	ModalityVirtual Modality = "virtual"
	ModalityHybrid  Modality = "hybrid"
)

// EnumValues lists the values a Modality may take.
func (Modality) EnumValues() []string {
	return []string{string(ModalityVirtual), string(ModalityHybrid)}
}

// PeerEncounterFinalized is published by CL-19 when a peer encounter is
// finalized; PM-07 turns it into a charge.
type PeerEncounterFinalized struct {
	Header
	PeerEncounterID uuid.UUID  `json:"peer_encounter_id"`
	ChartID         uuid.UUID  `json:"chart_id"`
	EncounterID     *uuid.UUID `json:"encounter_id,omitempty"`
	PeerProviderID  uuid.UUID  `json:"peer_provider_id"`
	ServiceDate     Date       `json:"service_date"`
	HCPCSCode       Code       `json:"hcpcs_code"`
	DurationMinutes int        `json:"duration_minutes"`
	// SecurityLabels are the HL7 DS4P labels of the charge (beside the
	// seed's fields): R, 42CFRPart2 and NORDSCLCD when the chart is Part 2
	// (no redisclosure without consent), else empty.
	SecurityLabels Codes `json:"security_labels"`
}

// EventType implements [Event].
func (*PeerEncounterFinalized) EventType() string { return TypePeerEncounterFinalized }

// AggregateID implements [Event]: the peer encounter.
func (e *PeerEncounterFinalized) AggregateID() uuid.UUID { return e.PeerEncounterID }

// PeerEncounterCorrected is published by CL-19 when a correction amends a
// finalized encounter's billed figures: the encounter's figures as they
// now stand (all of them, not only the corrected ones), the amendment that
// corrected them, and the event it supersedes (the finalization, or the
// previous correction), so that PM-07 can void or adjust that charge. One
// per correction; in order after the encounter's earlier events. Units are
// PM-07's to derive from the duration, as for a finalization.
type PeerEncounterCorrected struct {
	Header
	PeerEncounterID uuid.UUID  `json:"peer_encounter_id"`
	AmendmentID     uuid.UUID  `json:"amendment_id"`
	CorrectsEventID uuid.UUID  `json:"corrects_event_id"`
	ChartID         uuid.UUID  `json:"chart_id"`
	EncounterID     *uuid.UUID `json:"encounter_id,omitempty"`
	PeerProviderID  uuid.UUID  `json:"peer_provider_id"`
	ServiceDate     Date       `json:"service_date"`
	HCPCSCode       Code       `json:"hcpcs_code"`
	DurationMinutes int        `json:"duration_minutes"`
	// SecurityLabels: as PeerEncounterFinalized's.
	SecurityLabels Codes `json:"security_labels"`
}

// EventType implements [Event].
func (*PeerEncounterCorrected) EventType() string { return TypePeerEncounterCorrected }

// AggregateID implements [Event]: the peer encounter.
func (e *PeerEncounterCorrected) AggregateID() uuid.UUID { return e.PeerEncounterID }

// VirtualGroupStarted is published by CL-55 when a facilitator starts a
// virtual or hybrid group. Counts only: no attendee identities.
type VirtualGroupStarted struct {
	Header
	SessionID             uuid.UUID  `json:"session_id"`
	ScheduleID            *uuid.UUID `json:"schedule_id,omitempty"`
	PMTelehealthSessionID *uuid.UUID `json:"pm_telehealth_session_id,omitempty"`
	Modality              Modality   `json:"modality"`
	StartedAt             time.Time  `json:"started_at"`
	FacilitatorID         uuid.UUID  `json:"facilitator_id"`
	AttendeeCount         int        `json:"attendee_count"`
}

// EventType implements [Event].
func (*VirtualGroupStarted) EventType() string { return TypeVirtualGroupStarted }

// AggregateID implements [Event]: the group session.
func (e *VirtualGroupStarted) AggregateID() uuid.UUID { return e.SessionID }

// VirtualGroupConcluded is published by CL-55 when a facilitator completes
// a virtual or hybrid group, with jurisdiction-resolved modifier suggestions
// for PM-07 (suggestions only: PM owns charges).
type VirtualGroupConcluded struct {
	Header
	SessionID             uuid.UUID  `json:"session_id"`
	ScheduleID            *uuid.UUID `json:"schedule_id,omitempty"`
	PMTelehealthSessionID *uuid.UUID `json:"pm_telehealth_session_id,omitempty"`
	Modality              Modality   `json:"modality"`
	ConcludedAt           time.Time  `json:"concluded_at"`
	DurationMinutes       int        `json:"duration_minutes"`
	ParticipantCount      int        `json:"participant_count"`
	ModifierSuggestions   Codes      `json:"modifier_suggestions"`
	JurisdictionProfileID *uuid.UUID `json:"jurisdiction_profile_id,omitempty"`
}

// EventType implements [Event].
func (*VirtualGroupConcluded) EventType() string { return TypeVirtualGroupConcluded }

// AggregateID implements [Event]: the group session.
func (e *VirtualGroupConcluded) AggregateID() uuid.UUID { return e.SessionID }

// VirtualGroupChargeLine is one present attendee's charge line of a
// concluded virtual or hybrid group, for PM-07: a companion of
// cl_virtual_group_concluded (whose seed fields stay exactly as the
// specification says), published with it by the database, which computes
// every figure. The line names the attendee's chart by UUID; a Part 2
// chart's line is published only under a consent to disclosure for payment
// (HPAYMT), is in the chart's accounting of disclosures, and carries the
// HL7 DS4P security labels R, 42CFRPart2 and NORDSCLCD (no redisclosure
// without consent).
type VirtualGroupChargeLine struct {
	Header
	SessionID    uuid.UUID `json:"session_id"`
	AttendanceID uuid.UUID `json:"attendance_id"`
	ChartID      uuid.UUID `json:"chart_id"`
	// ConcludedEventID is the cl_virtual_group_concluded event the line
	// belongs to.
	ConcludedEventID uuid.UUID `json:"concluded_event_id"`
	ServiceDate      Date      `json:"service_date"`
	// Modes are how the attendee took part, in order (a switch from video
	// to audio only mid-session reads ["video", "audio_only"]), and the
	// billable minutes spent in each.
	Modes            Codes `json:"modes"`
	VideoMinutes     int   `json:"video_minutes"`
	AudioOnlyMinutes int   `json:"audio_only_minutes"`
	InPersonMinutes  int   `json:"in_person_minutes"`
	// BillableMinutes is the attendee's time in the session (from joining
	// to leaving) less the interruptions of the whole session and the
	// failures that affected this attendee; Units follow the profile's
	// units rule.
	BillableMinutes int `json:"billable_minutes"`
	Units           int `json:"units"`
	// PlaceOfService and ModifierSuggestions are the profile's suggestions
	// for the mode the attendee spent most billable minutes in (a tie goes
	// to the less capable: audio only, then video, then in person).
	PlaceOfService        *Code     `json:"place_of_service,omitempty"`
	ModifierSuggestions   Codes     `json:"modifier_suggestions"`
	JurisdictionProfileID uuid.UUID `json:"jurisdiction_profile_id"`
	// SecurityLabels are the DS4P labels of the line: empty unless the
	// chart is Part 2.
	SecurityLabels Codes `json:"security_labels"`
}

// EventType implements [Event].
func (*VirtualGroupChargeLine) EventType() string { return TypeVirtualGroupChargeLine }

// AggregateID implements [Event]: the attendance.
func (e *VirtualGroupChargeLine) AggregateID() uuid.UUID { return e.AttendanceID }
