package billing

import (
	"fmt"
	"slices"
	"sort"
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

// KnownModifier reports whether m is a modifier profiles may use: the
// constants above and the state-defined U1 to UD.
func KnownModifier(m Modifier) bool {
	switch m {
	case ModTelehealthVideo, ModGT, ModGQ, ModAudioOnly, ModFQ, ModGroup, ModMentalHealth, ModSubstanceAbuse, ModHM, ModHN, ModHO:
		return true
	}
	return len(m) == 2 && m[0] == 'U' && (m[1] >= '1' && m[1] <= '9' || m[1] >= 'A' && m[1] <= 'D')
}

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
// matches, within its effective dates. A nil condition matches any value.
type Rule struct {
	From, To  time.Time // To zero: open-ended
	Group     *bool
	Delivery  []Delivery // empty: any
	AtHome    *bool
	Modifiers []Modifier
	// PlaceOfService, when set, is suggested for matching services.
	PlaceOfService string
}

func (r Rule) matches(s Service) bool {
	d := dateOnly(s.Date)
	return !d.Before(dateOnly(r.From)) && (r.To.IsZero() || !d.After(dateOnly(r.To))) &&
		(r.Group == nil || *r.Group == s.Group) &&
		(len(r.Delivery) == 0 || slices.Contains(r.Delivery, s.Delivery)) &&
		(r.AtHome == nil || *r.AtHome == s.PatientAtHome)
}

// Profile is a PF-96 jurisdiction profile: how one payer or state wants
// services billed. Profiles are data (the host may supply its own) and are
// validated when loaded, so that a contradiction is found then, not when a
// charge is suggested.
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

// Suggest returns the modifiers (in a stable order: telehealth, then group,
// then the rest as the rules give them) and place of service for s.
func (p *Profile) Suggest(s Service) Suggestion {
	var out Suggestion
	for _, r := range p.Rules {
		if !r.matches(s) {
			continue
		}
		for _, m := range r.Modifiers {
			if !slices.Contains(out.Modifiers, m) {
				out.Modifiers = append(out.Modifiers, m)
			}
		}
		if r.PlaceOfService != "" {
			out.PlaceOfService = r.PlaceOfService
		}
	}
	sort.SliceStable(out.Modifiers, func(i, j int) bool { return modifierRank(out.Modifiers[i]) < modifierRank(out.Modifiers[j]) })
	return out
}

func modifierRank(m Modifier) int {
	switch m {
	case ModTelehealthVideo, ModGT, ModGQ, ModAudioOnly, ModFQ:
		return 0
	case ModGroup:
		return 1
	}
	return 2
}

// conflicting are modifiers that must never be suggested together: they
// describe different technologies.
var conflicting = [][2]Modifier{
	{ModTelehealthVideo, ModGT}, {ModTelehealthVideo, ModAudioOnly}, {ModTelehealthVideo, ModFQ}, {ModTelehealthVideo, ModGQ},
	{ModGT, ModAudioOnly}, {ModGT, ModFQ}, {ModGT, ModGQ}, {ModAudioOnly, ModGQ}, {ModFQ, ModGQ},
	{ModHM, ModHN}, {ModHM, ModHO}, {ModHN, ModHO},
}

// Validate checks a profile: known modifiers and places of service, a valid
// units rule and caps, consistent date ranges, no in-person telehealth
// modifier, and no two rules that can match one service and suggest
// conflicting modifiers or different places of service. It tries every
// kind of service on every date where a rule starts or ends.
func (p *Profile) Validate() error {
	if p.Code == "" {
		return fmt.Errorf("billing: a profile needs a code")
	}
	if err := p.Units.Validate(); err != nil {
		return fmt.Errorf("billing: profile %s: %w", p.Code, err)
	}
	for code, limit := range p.DailyUnitCaps {
		if !WellFormed(code) || limit < 1 {
			return fmt.Errorf("billing: profile %s: daily cap for %q must be a positive number of units of a well-formed code", p.Code, code)
		}
	}
	var dates []time.Time
	for i, r := range p.Rules {
		if len(r.Modifiers) == 0 && r.PlaceOfService == "" {
			return fmt.Errorf("billing: profile %s: rule %d suggests nothing", p.Code, i)
		}
		for _, m := range r.Modifiers {
			if !KnownModifier(m) {
				return fmt.Errorf("billing: profile %s: rule %d: unknown modifier %q", p.Code, i, m)
			}
		}
		if r.PlaceOfService != "" && r.PlaceOfService != POSTelehealthOther && r.PlaceOfService != POSTelehealthHome {
			return fmt.Errorf("billing: profile %s: rule %d: place of service %q is not a telehealth one (02, 10)", p.Code, i, r.PlaceOfService)
		}
		if r.From.IsZero() || (!r.To.IsZero() && r.To.Before(r.From)) {
			return fmt.Errorf("billing: profile %s: rule %d needs a start date on or before its end", p.Code, i)
		}
		for _, d := range r.Delivery {
			if d != InPerson && d != Video && d != AudioOnly && d != StoreAhead {
				return fmt.Errorf("billing: profile %s: rule %d: unknown delivery %q", p.Code, i, d)
			}
		}
		dates = append(dates, dateOnly(r.From))
		if !r.To.IsZero() {
			dates = append(dates, dateOnly(r.To), dateOnly(r.To).AddDate(0, 0, 1))
		}
	}
	for _, d := range dates {
		for _, s := range allServices(d) {
			if err := p.checkService(s); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *Profile) checkService(s Service) error {
	var pos string
	var mods []Modifier
	for i, r := range p.Rules {
		if !r.matches(s) {
			continue
		}
		if r.PlaceOfService != "" {
			if pos != "" && pos != r.PlaceOfService {
				return fmt.Errorf("billing: profile %s: rule %d suggests place of service %s where another suggests %s (%s, group=%v, home=%v, %s)",
					p.Code, i, r.PlaceOfService, pos, s.Delivery, s.Group, s.PatientAtHome, s.Date.Format(time.DateOnly))
			}
			pos = r.PlaceOfService
		}
		mods = append(mods, r.Modifiers...)
	}
	if s.Delivery == InPerson && (pos != "" || slices.ContainsFunc(mods, func(m Modifier) bool { return modifierRank(m) == 0 })) {
		return fmt.Errorf("billing: profile %s: an in-person service would get a telehealth modifier or place of service", p.Code)
	}
	for _, c := range conflicting {
		if slices.Contains(mods, c[0]) && slices.Contains(mods, c[1]) {
			return fmt.Errorf("billing: profile %s: modifiers %s and %s would be suggested together (%s, group=%v, %s)",
				p.Code, c[0], c[1], s.Delivery, s.Group, s.Date.Format(time.DateOnly))
		}
	}
	return nil
}

func allServices(d time.Time) []Service {
	var out []Service
	for _, delivery := range []Delivery{InPerson, Video, AudioOnly, StoreAhead} {
		for _, group := range []bool{false, true} {
			for _, home := range []bool{false, true} {
				out = append(out, Service{Date: d, Group: group, Delivery: delivery, PatientAtHome: home})
			}
		}
	}
	return out
}
