package billing

import (
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
)

func ptr[T any](v T) *T { return &v }

// profileNamespace makes the shipped profiles' ids stable across builds (a
// name-based UUID of the profile's code), so events can name them.
var profileNamespace = uuid.MustParse("4f1c2b7e-8d0a-5c3e-9b6f-2a7d1e0c9b84")

func profileID(code string) uuid.UUID { return uuid.NewSHA1(profileNamespace, []byte(code)) }

// effectiveSince is when the shipped rules start: the telehealth rules of
// 2020 onwards. Hosts supply profiles with their own dates as rules change.
var effectiveSince = time.Date(2020, 3, 1, 0, 0, 0, 0, time.UTC)

// telehealthPlaces suggests POS 10 for a remote patient at home and POS 02
// elsewhere; in-person services keep their usual place of service.
func telehealthPlaces(from time.Time) []Rule {
	remote := []Delivery{Video, AudioOnly, StoreAhead}
	return []Rule{
		{From: from, Delivery: remote, AtHome: ptr(true), PlaceOfService: POSTelehealthHome},
		{From: from, Delivery: remote, AtHome: ptr(false), PlaceOfService: POSTelehealthOther},
	}
}

// The profiles the library ships. They are data, not law: the Arizona
// default comes from the CL-55 specification (a virtual group suggests
// ["95", "HQ"]) and no public AHCCCS text confirming it was found; hosts
// replace or extend these with their payers' rules.
var (
	// Default: 95 for video, 93 for audio only, GQ for store and forward,
	// HQ for groups, POS 02/10.
	Default = Profile{ID: profileID("default"), Code: "default", Name: "Generic default", Units: CMS8Minute,
		Rules: append([]Rule{
			{From: effectiveSince, Delivery: []Delivery{Video}, Modifiers: []Modifier{ModTelehealthVideo}},
			{From: effectiveSince, Delivery: []Delivery{AudioOnly}, Modifiers: []Modifier{ModAudioOnly}},
			{From: effectiveSince, Delivery: []Delivery{StoreAhead}, Modifiers: []Modifier{ModGQ}},
			{From: effectiveSince, Group: ptr(true), Modifiers: []Modifier{ModGroup}},
		}, telehealthPlaces(effectiveSince)...)}

	// ArizonaAHCCCS: the CL-55 default; a virtual group yields 95 and HQ.
	// Units per 15 minutes with an 8-minute threshold; H0038 at most 16
	// units a day.
	ArizonaAHCCCS = Profile{ID: profileID("az_ahcccs"), Code: "az_ahcccs", Name: "Arizona AHCCCS (default)",
		Units: PerUnitThreshold(8), DailyUnitCaps: map[string]int{"H0038": 16},
		Rules: append([]Rule{
			{From: effectiveSince, Delivery: []Delivery{Video}, Modifiers: []Modifier{ModTelehealthVideo}},
			{From: effectiveSince, Delivery: []Delivery{AudioOnly}, Modifiers: []Modifier{ModAudioOnly}},
			{From: effectiveSince, Group: ptr(true), Modifiers: []Modifier{ModGroup}},
		}, telehealthPlaces(effectiveSince)...)}

	// Medicare: since 2024 the place of service (10 at home, 02 elsewhere)
	// marks telehealth and modifier 95 is mostly not required by Medicare
	// itself; audio-only behavioral health uses 93.
	Medicare = Profile{ID: profileID("medicare"), Code: "medicare", Name: "Medicare", Units: CMS8Minute,
		Rules: append([]Rule{
			{From: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Delivery: []Delivery{AudioOnly}, Modifiers: []Modifier{ModAudioOnly}},
			{From: effectiveSince, To: time.Date(2023, 12, 31, 0, 0, 0, 0, time.UTC), Delivery: []Delivery{Video}, Modifiers: []Modifier{ModTelehealthVideo}},
		}, telehealthPlaces(effectiveSince)...)}
)

// Profiles returns copies of the shipped profiles: changing them (or the
// package variables) later cannot change a profile a caller validated.
func Profiles() []*Profile {
	return []*Profile{Default.Clone(), ArizonaAHCCCS.Clone(), Medicare.Clone()}
}

// Clone returns a deep copy of p.
func (p *Profile) Clone() *Profile {
	c := *p
	c.DailyUnitCaps = maps.Clone(p.DailyUnitCaps)
	c.Rules = make([]Rule, len(p.Rules))
	for i, r := range p.Rules {
		r.Delivery = slices.Clone(r.Delivery)
		r.Modifiers = slices.Clone(r.Modifiers)
		c.Rules[i] = r
	}
	return &c
}
