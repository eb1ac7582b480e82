package billing

import (
	"time"

	"github.com/google/uuid"
)

// Modifier is a HCPCS/CPT modifier.
type Modifier string

// The modifiers profiles may suggest (see domain.md).
const (
	ModTelehealthVideo Modifier = "95" // synchronous telemedicine, real-time audio and video
	ModGT              Modifier = "GT" // interactive audio and video (older convention)
	ModGQ              Modifier = "GQ" // asynchronous (store and forward)
	ModAudioOnly       Modifier = "93" // synchronous telemedicine, audio only
	ModFQ              Modifier = "FQ" // audio-only communication technology (RHC/FQHC)
	ModGroup           Modifier = "HQ" // group setting
	ModMentalHealth    Modifier = "HE" // mental health program
	ModSubstanceAbuse  Modifier = "HF" // substance abuse program
	ModHM              Modifier = "HM" // less than bachelor's degree level
	ModHN              Modifier = "HN" // bachelor's degree level
	ModHO              Modifier = "HO" // master's degree level
)

// Places of service for telehealth (in-person services keep their own).
const (
	POSTelehealthOther = "02" // telehealth provided other than in the patient's home
	POSTelehealthHome  = "10" // telehealth provided in the patient's home
)

// Delivery is how one attendee took part in a service.
type Delivery string

// The deliveries.
const (
	InPerson   Delivery = "in_person"
	Video      Delivery = "video"
	AudioOnly  Delivery = "audio_only"
	StoreAhead Delivery = "store_and_forward"
)

// Service describes one billable line: an attendee of a session.
type Service struct {
	// Date is the date of service; rules apply by their effective dates.
	Date time.Time
	// Group is true for a group session.
	Group bool
	// Delivery is how this attendee took part.
	Delivery Delivery
	// PatientAtHome is true when a remote patient attended from home.
	PatientAtHome bool
}

// Rule suggests modifiers (and a place of service) for the services it
// matches, within its effective dates (To zero: open-ended). A nil
// condition (an empty Delivery) matches any value.
type Rule struct {
	From, To  time.Time
	Group     *bool
	Delivery  []Delivery // empty: any
	AtHome    *bool
	Modifiers []Modifier
	// PlaceOfService, when set, is suggested for matching services.
	PlaceOfService string
}

// Profile is a PF-96 jurisdiction profile: how one payer or state wants
// services billed, as the database holds it (pf_jurisdiction_profiles and
// its rules and caps; [LoadProfiles]). The database checks a profile for
// contradictions when it is loaded and computes every suggestion from it
// ([Suggest]); this is the Go view of the same rows.
type Profile struct {
	ID   uuid.UUID
	Code string // e.g. "az_ahcccs"
	Name string
	// Units is the rule that turns minutes into units.
	Units UnitsRule
	// DailyUnitCaps caps units per code and day (e.g. H0038: 16).
	DailyUnitCaps map[string]int
	// Rules suggest modifiers; every matching rule contributes.
	Rules []Rule
}

// Suggestion is what a profile suggests for a service. Suggestions only:
// PM-07 owns charges.
type Suggestion struct {
	Modifiers      []Modifier
	PlaceOfService string // empty: the service's usual place of service
}
