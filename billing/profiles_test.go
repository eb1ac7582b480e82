package billing

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestShippedProfilesAreValid(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Profiles() {
		require.NoError(t, p.Validate(), p.Code)
		require.False(t, seen[p.ID.String()], "profile ids are distinct")
		seen[p.ID.String()] = true
	}
	require.Equal(t, profileID("az_ahcccs"), ArizonaAHCCCS.ID, "ids are stable")

	copies := Profiles()
	copies[0].Rules[0].Modifiers[0] = ModGT
	require.Equal(t, ModTelehealthVideo, Default.Rules[0].Modifiers[0], "callers get copies")
}

// The seed's one data point: Arizona's default for a virtual group.
func TestArizonaVirtualGroup(t *testing.T) {
	s := ArizonaAHCCCS.Suggest(Service{Date: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), Group: true, Delivery: Video, PatientAtHome: true})
	require.Equal(t, []Modifier{"95", "HQ"}, s.Modifiers)
	require.Equal(t, POSTelehealthHome, s.PlaceOfService)
}

// Every profile, delivery, group/individual and home/elsewhere combination.
func TestSuggestionTable(t *testing.T) {
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	want := map[string]string{
		// profile/delivery/group/home: modifiers @ place of service
		"default/in_person/individual/office":         "@",
		"default/in_person/group/office":              "HQ@",
		"default/video/individual/home":               "95@10",
		"default/video/individual/office":             "95@02",
		"default/video/group/home":                    "95,HQ@10",
		"default/video/group/office":                  "95,HQ@02",
		"default/audio_only/individual/home":          "93@10",
		"default/audio_only/group/office":             "93,HQ@02",
		"default/store_and_forward/individual/home":   "GQ@10",
		"default/store_and_forward/group/office":      "GQ,HQ@02",
		"az_ahcccs/in_person/individual/office":       "@",
		"az_ahcccs/in_person/group/office":            "HQ@",
		"az_ahcccs/video/individual/home":             "95@10",
		"az_ahcccs/video/group/home":                  "95,HQ@10",
		"az_ahcccs/video/group/office":                "95,HQ@02",
		"az_ahcccs/audio_only/group/home":             "93,HQ@10",
		"az_ahcccs/store_and_forward/individual/home": "@10",
		"medicare/in_person/group/office":             "@",
		"medicare/video/individual/home":              "@10",
		"medicare/video/group/office":                 "@02",
		"medicare/audio_only/individual/home":         "93@10",
	}
	for _, p := range Profiles() {
		for _, delivery := range []Delivery{InPerson, Video, AudioOnly, StoreAhead} {
			for _, group := range []bool{false, true} {
				for _, home := range []bool{false, true} {
					if delivery == InPerson && home {
						continue
					}
					key := fmt.Sprintf("%s/%s/%s/%s", p.Code, delivery, map[bool]string{false: "individual", true: "group"}[group],
						map[bool]string{false: "office", true: "home"}[home])
					s := p.Suggest(Service{Date: day, Group: group, Delivery: delivery, PatientAtHome: home})
					var mods []string
					for _, m := range s.Modifiers {
						mods = append(mods, string(m))
					}
					got := strings.Join(mods, ",") + "@" + s.PlaceOfService
					if w, ok := want[key]; ok {
						require.Equal(t, w, got, key)
					}
					// Invariants for every combination.
					if delivery == InPerson {
						require.Empty(t, s.PlaceOfService, key)
					} else {
						require.NotEmpty(t, s.PlaceOfService, key)
					}
					require.Equal(t, group && p.Code != "medicare", contains(s.Modifiers, ModGroup), key)
				}
			}
		}
	}
	// Rules carry dates: Medicare asked for 95 on video before 2024.
	s := Medicare.Suggest(Service{Date: time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC), Delivery: Video})
	require.Equal(t, []Modifier{ModTelehealthVideo}, s.Modifiers)
}

func contains(ms []Modifier, m Modifier) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}

func TestContradictionsAreFoundAtLoad(t *testing.T) {
	since := effectiveSince
	cases := map[string]Profile{
		"unknown modifier": {Code: "x", Units: CMS8Minute, Rules: []Rule{{From: since, Modifiers: []Modifier{"ZZ"}}}},
		"95 and GT together": {Code: "x", Units: CMS8Minute, Rules: []Rule{
			{From: since, Delivery: []Delivery{Video}, Modifiers: []Modifier{ModTelehealthVideo}},
			{From: since, Delivery: []Delivery{Video, AudioOnly}, Modifiers: []Modifier{ModGT}}}},
		"two places of service": {Code: "x", Units: CMS8Minute, Rules: []Rule{
			{From: since, Delivery: []Delivery{Video}, PlaceOfService: POSTelehealthHome},
			{From: since, Delivery: []Delivery{Video}, AtHome: ptr(true), PlaceOfService: POSTelehealthOther}}},
		"in-person telehealth modifier": {Code: "x", Units: CMS8Minute, Rules: []Rule{{From: since, Modifiers: []Modifier{ModTelehealthVideo}}}},
		"in-person place of service":    {Code: "x", Units: CMS8Minute, Rules: []Rule{{From: since, PlaceOfService: POSTelehealthOther}}},
		"bad place of service":          {Code: "x", Units: CMS8Minute, Rules: []Rule{{From: since, Delivery: []Delivery{Video}, PlaceOfService: "11"}}},
		"end before start":              {Code: "x", Units: CMS8Minute, Rules: []Rule{{From: since, To: since.AddDate(0, 0, -1), Modifiers: []Modifier{ModGroup}}}},
		"no start":                      {Code: "x", Units: CMS8Minute, Rules: []Rule{{Modifiers: []Modifier{ModGroup}}}},
		"empty rule":                    {Code: "x", Units: CMS8Minute, Rules: []Rule{{From: since}}},
		"two practitioner levels": {Code: "x", Units: CMS8Minute, Rules: []Rule{
			{From: since, Modifiers: []Modifier{ModHM}}, {From: since, Group: ptr(true), Modifiers: []Modifier{ModHO}}}},
		"bad units rule":   {Code: "x", Units: UnitsRule{Kind: "hourly"}},
		"bad cap":          {Code: "x", Units: CMS8Minute, DailyUnitCaps: map[string]int{"H0038": 0}},
		"no code":          {Units: CMS8Minute},
		"unknown delivery": {Code: "x", Units: CMS8Minute, Rules: []Rule{{From: since, Delivery: []Delivery{"carrier_pigeon"}, Modifiers: []Modifier{ModGroup}}}},
	}
	for name, p := range cases {
		require.Error(t, p.Validate(), name)
	}
	// Rules that never meet in time do not conflict.
	ok := Profile{Code: "x", Units: CMS8Minute, Rules: []Rule{
		{From: since, To: time.Date(2023, 12, 31, 0, 0, 0, 0, time.UTC), Delivery: []Delivery{Video}, Modifiers: []Modifier{ModGT}},
		{From: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Delivery: []Delivery{Video}, Modifiers: []Modifier{ModTelehealthVideo}}}}
	require.NoError(t, ok.Validate())
	require.True(t, KnownModifier("U7"))
	require.True(t, KnownModifier("UD"))
	require.False(t, KnownModifier("UE"))
}
