package billing_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/billing"
	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// member runs f as a member of a new organization (the profiles are read
// as `authenticated`, with row-level security).
func member(t *testing.T, db *testdb.DB, f func(tx pgx.Tx) error) {
	t.Helper()
	require.NoError(t, dbtx.Run(context.Background(), db.App, db.NewMember(t, db.NewOrg(t)), f))
}

func TestTheShippedProfilesLoad(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	var profiles []*billing.Profile
	member(t, db, func(tx pgx.Tx) (err error) {
		profiles, err = billing.LoadProfiles(context.Background(), tx)
		return err
	})
	byCode := map[string]*billing.Profile{}
	for _, p := range profiles {
		byCode[p.Code] = p
	}
	require.Len(t, byCode, 3)
	az := byCode[billing.ProfileArizonaAHCCCS]
	require.Equal(t, uuid.MustParse("c91701bd-d94d-5924-ab1e-2f1c676a0f30"), az.ID, "ids are stable")
	require.Equal(t, billing.PerUnitThreshold(8), az.Units)
	require.Equal(t, map[string]int{"H0038": 16}, az.DailyUnitCaps)
	require.Equal(t, billing.CMS8Minute, byCode[billing.ProfileDefault].Units)
	medicare := byCode[billing.ProfileMedicare]
	require.Equal(t, billing.Rule{From: time.Date(2020, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2023, 12, 31, 0, 0, 0, 0, time.UTC),
		Delivery: []billing.Delivery{billing.Video}, Modifiers: []billing.Modifier{billing.ModTelehealthVideo}}, medicare.Rules[1])
}

// Every profile, delivery, group/individual and home/elsewhere combination,
// as the database suggests it.
func TestSuggestionTable(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
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
		"az_ahcccs/video/group/home":                  "95,HQ@10", // the seed's one data point
		"az_ahcccs/video/group/office":                "95,HQ@02",
		"az_ahcccs/audio_only/group/home":             "93,HQ@10",
		"az_ahcccs/store_and_forward/individual/home": "@10",
		"medicare/in_person/group/office":             "@",
		"medicare/video/individual/home":              "@10",
		"medicare/video/group/office":                 "@02",
		"medicare/audio_only/individual/home":         "93@10",
	}
	member(t, db, func(tx pgx.Tx) error {
		profiles, err := billing.LoadProfiles(ctx, tx)
		require.NoError(t, err)
		for _, p := range profiles {
			for _, delivery := range []billing.Delivery{billing.InPerson, billing.Video, billing.AudioOnly, billing.StoreAhead} {
				for _, group := range []bool{false, true} {
					for _, home := range []bool{false, true} {
						if delivery == billing.InPerson && home {
							continue
						}
						key := fmt.Sprintf("%s/%s/%s/%s", p.Code, delivery, map[bool]string{false: "individual", true: "group"}[group],
							map[bool]string{false: "office", true: "home"}[home])
						s, err := billing.Suggest(ctx, tx, p.ID, billing.Service{Date: day, Group: group, Delivery: delivery, PatientAtHome: home})
						require.NoError(t, err)
						var mods []string
						for _, m := range s.Modifiers {
							mods = append(mods, string(m))
						}
						if w, ok := want[key]; ok {
							require.Equal(t, w, strings.Join(mods, ",")+"@"+s.PlaceOfService, key)
						}
						// Invariants for every combination.
						require.Equal(t, delivery == billing.InPerson, s.PlaceOfService == "", key)
						require.Equal(t, group && p.Code != billing.ProfileMedicare, strings.Contains(strings.Join(mods, ","), "HQ"), key)
					}
				}
			}
			if p.Code == billing.ProfileMedicare {
				// Rules carry dates: Medicare asked for 95 on video before 2024.
				s, err := billing.Suggest(ctx, tx, p.ID, billing.Service{Date: time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC), Delivery: billing.Video})
				require.NoError(t, err)
				require.Equal(t, []billing.Modifier{billing.ModTelehealthVideo}, s.Modifiers)
			}
		}
		return nil
	})
}

// A host loads a profile with rows; the database refuses one that
// contradicts itself when the load commits (or a row that is wrong on its
// own at once), and keeps nothing of it.
func TestContradictionsAreRefusedAtLoad(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	load := func(units string, rules ...string) error {
		tx, err := db.Admin.Begin(ctx)
		require.NoError(t, err)
		defer tx.Rollback(ctx) //nolint:errcheck
		id := uuid.New()
		if _, err := tx.Exec(ctx, `INSERT INTO public.pf_jurisdiction_profiles (id, code, name, units_rule, unit_minutes, threshold_minutes)
			SELECT $1, $2, 'A payer', `+units, id, "x"+strings.ReplaceAll(id.String(), "-", "")[:12]); err != nil {
			return err
		}
		for i, r := range rules {
			if _, err := tx.Exec(ctx, `INSERT INTO public.pf_jurisdiction_rules (profile_id, position, valid_from, valid_to, is_group,
				deliveries, at_home, modifiers, place_of_service) SELECT $1, $2, `+r, id, i+1); err != nil {
				return err
			}
		}
		return tx.Commit(ctx)
	}
	const cms = `'cms_8_minute', 15, NULL`
	// rule: valid_from, valid_to, is_group, deliveries, at_home, modifiers, place_of_service
	cases := map[string]struct{ units, rules []string }{
		"unknown modifier":   {nil, []string{`'2020-03-01', NULL, NULL, '{}', NULL, '{ZZ}', NULL`}},
		"95 and GT together": {nil, []string{`'2020-03-01', NULL, NULL, '{video}', NULL, '{95}', NULL`, `'2020-03-01', NULL, NULL, '{video,audio_only}', NULL, '{GT}', NULL`}},
		"two places of service": {nil, []string{`'2020-03-01', NULL, NULL, '{video}', NULL, '{}', '10'`,
			`'2020-03-01', NULL, NULL, '{video}', true, '{}', '02'`}},
		"in-person telehealth modifier": {nil, []string{`'2020-03-01', NULL, NULL, '{}', NULL, '{95}', NULL`}},
		"in-person place of service":    {nil, []string{`'2020-03-01', NULL, NULL, '{}', NULL, '{}', '02'`}},
		"bad place of service":          {nil, []string{`'2020-03-01', NULL, NULL, '{video}', NULL, '{}', '11'`}},
		"end before start":              {nil, []string{`'2020-03-01', '2020-02-01', NULL, '{}', NULL, '{HQ}', NULL`}},
		"empty rule":                    {nil, []string{`'2020-03-01', NULL, NULL, '{}', NULL, '{}', NULL`}},
		"two practitioner levels": {nil, []string{`'2020-03-01', NULL, NULL, '{}', NULL, '{HM}', NULL`,
			`'2020-03-01', NULL, true, '{}', NULL, '{HO}', NULL`}},
		"unknown delivery":          {nil, []string{`'2020-03-01', NULL, NULL, '{carrier_pigeon}', NULL, '{HQ}', NULL`}},
		"POS 02 at home":            {nil, []string{`'2020-03-01', NULL, NULL, '{video}', true, '{}', '02'`}},
		"95 on audio only":          {nil, []string{`'2020-03-01', NULL, NULL, '{audio_only}', NULL, '{95}', NULL`}},
		"GQ on video":               {nil, []string{`'2020-03-01', NULL, NULL, '{video}', NULL, '{GQ}', NULL`}},
		"93 and FQ":                 {nil, []string{`'2020-03-01', NULL, NULL, '{audio_only}', NULL, '{93,FQ}', NULL`}},
		"HE and HF":                 {nil, []string{`'2020-03-01', NULL, NULL, '{}', NULL, '{HE,HF}', NULL`}},
		"bad units rule":            {[]string{`'hourly', 60, NULL`}, nil},
		"threshold beyond the unit": {[]string{`'per_unit_threshold', 15, 16`}, nil},
	}
	for name, tc := range cases {
		units := cms
		if tc.units != nil {
			units = tc.units[0]
		}
		err := load(units, tc.rules...)
		require.Error(t, err, name)
		require.True(t, dbtx.IsCheckViolation(err) || dbtx.Code(err) == "22P02", "%s: %v", name, err)
	}
	// Rules that never meet in time do not conflict.
	require.NoError(t, load(cms, `'2020-03-01', '2023-12-31', NULL, '{video}', NULL, '{GT}', NULL`,
		`'2024-01-01', NULL, NULL, '{video}', NULL, '{95}', NULL`, `'2020-03-01', NULL, NULL, '{}', NULL, '{U7}', NULL`))

	// Members read the profiles and write none.
	err := dbtx.Run(ctx, db.App, db.NewMember(t, db.NewOrg(t)), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE public.pf_jurisdiction_rules SET modifiers = '{GT}'`)
		return err
	})
	require.True(t, dbtx.IsPermissionDenied(err), "%v", err)
}

// The database's units (pf_units, on the charge lines it publishes) and
// billing.Units are the same arithmetic, minute for minute.
func TestUnitsAreTheSameInGoAndInTheDatabase(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	member(t, db, func(tx pgx.Tx) error {
		profiles, err := billing.LoadProfiles(ctx, tx)
		require.NoError(t, err)
		for _, p := range profiles {
			for _, code := range []string{"H0038", "H2017"} {
				rows, _ := tx.Query(ctx, `SELECT m, public.pf_units($1, m, $2) FROM generate_series(-1, 300) m`, p.ID, code)
				got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]int, error) {
					var v [2]int
					return v, r.Scan(&v[0], &v[1])
				})
				require.NoError(t, err)
				for _, g := range got {
					require.Equal(t, billing.Units(p.Units, g[0], p.DailyUnitCaps[code]), g[1], "%s %s %d minutes", p.Code, code, g[0])
				}
			}
		}
		return nil
	})
}
