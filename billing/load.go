package billing

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The codes of the profiles the migrations ship (hosts add their own as
// rows). Their ids are name-based UUIDs of the codes, the same in every
// installation.
const (
	// ProfileDefault: 95 for video, 93 for audio only, GQ for store and
	// forward, HQ for groups, POS 10 at home and 02 elsewhere; the CMS
	// 8-minute rule. Sessions that name no profile follow it.
	ProfileDefault = "default"
	// ProfileArizonaAHCCCS: the CL-55 specification's default (a virtual
	// group yields 95 and HQ); 15-minute units with an 8-minute threshold,
	// H0038 at most 16 units a day.
	ProfileArizonaAHCCCS = "az_ahcccs"
	// ProfileMedicare: since 2024 the place of service marks telehealth
	// and 95 is not asked for; audio-only behavioral health uses 93 (from
	// 2022).
	ProfileMedicare = "medicare"
)

// Querier runs a query: pgx.Tx, *pgx.Conn and *pgxpool.Pool all do. The
// profiles are readable by every member of `authenticated` (and by the
// migrating role).
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// LoadProfiles reads every jurisdiction profile, with its rules in order
// and its daily caps.
func LoadProfiles(ctx context.Context, q Querier) ([]*Profile, error) {
	rows, _ := q.Query(ctx, `
		SELECT p.id, p.code, p.name, p.units_rule, p.unit_minutes, coalesce(p.threshold_minutes, 0),
		       coalesce((SELECT pg_catalog.jsonb_object_agg(c.hcpcs_code, c.max_units) FROM public.pf_jurisdiction_daily_caps c
		                 WHERE c.profile_id = p.id), '{}'),
		       coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
		                   'from', r.valid_from, 'to', r.valid_to, 'group', r.is_group, 'deliveries', r.deliveries,
		                   'at_home', r.at_home, 'modifiers', r.modifiers, 'pos', r.place_of_service) ORDER BY r.position)
		                 FROM public.pf_jurisdiction_rules r WHERE r.profile_id = p.id), '[]')
		FROM public.pf_jurisdiction_profiles p ORDER BY p.code`)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*Profile, error) {
		var p Profile
		var rules []struct {
			From       string     `json:"from"`
			To         *string    `json:"to"`
			Group      *bool      `json:"group"`
			Deliveries []Delivery `json:"deliveries"`
			AtHome     *bool      `json:"at_home"`
			Modifiers  []Modifier `json:"modifiers"`
			POS        *string    `json:"pos"`
		}
		if err := row.Scan(&p.ID, &p.Code, &p.Name, &p.Units.Kind, &p.Units.UnitMinutes, &p.Units.ThresholdMinutes,
			&p.DailyUnitCaps, &rules); err != nil {
			return nil, err
		}
		for _, r := range rules {
			rule := Rule{Group: r.Group, Delivery: r.Deliveries, AtHome: r.AtHome, Modifiers: r.Modifiers}
			var err error
			if rule.From, err = time.Parse(time.DateOnly, r.From); err != nil {
				return nil, err
			}
			if r.To != nil {
				if rule.To, err = time.Parse(time.DateOnly, *r.To); err != nil {
					return nil, err
				}
			}
			if r.POS != nil {
				rule.PlaceOfService = *r.POS
			}
			p.Rules = append(p.Rules, rule)
		}
		return &p, nil
	})
}

// Suggest returns what a profile suggests for a service, as the database
// computes it for the events it publishes (pf_jurisdiction_suggest):
// modifiers in a stable order (telehealth, then group, then the rest) and
// a telehealth place of service (empty: the service's usual place).
func Suggest(ctx context.Context, q Querier, profileID uuid.UUID, s Service) (Suggestion, error) {
	rows, _ := q.Query(ctx, `SELECT modifiers, coalesce(place_of_service, '') FROM public.pf_jurisdiction_suggest($1, $2, $3, $4, $5)`,
		profileID, s.Date.Format(time.DateOnly), s.Group, s.Delivery, s.PatientAtHome)
	return pgx.CollectExactlyOneRow(rows, func(row pgx.CollectableRow) (Suggestion, error) {
		var out Suggestion
		err := row.Scan(&out.Modifiers, &out.PlaceOfService)
		return out, err
	})
}
