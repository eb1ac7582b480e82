package supervision

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Frequency is how often supervision must happen.
type Frequency string

// The frequencies a rule set can ask for. Weeks run Monday to Sunday;
// months are calendar months.
const (
	Weekly  Frequency = "weekly"
	Monthly Frequency = "monthly"
)

// RuleSet is an organization's supervision rules. A zero field turns its
// rule off.
type RuleSet struct {
	// InitialPeriodDays is how long the initial certification period lasts
	// from the peer's certification date (e.g. 365).
	InitialPeriodDays int `json:"initial_period_days,omitempty"`
	// InitialFrequency applies during the initial period (e.g. weekly).
	InitialFrequency Frequency `json:"initial_frequency,omitempty"`
	// OngoingFrequency applies after it (e.g. monthly).
	OngoingFrequency Frequency `json:"ongoing_frequency,omitempty"`
	// MinFaceToFaceMinutesPerWeek is the face-to-face supervision a peer
	// needs each week (e.g. 60). Records without a duration count zero.
	MinFaceToFaceMinutesPerWeek int `json:"min_face_to_face_minutes_per_week,omitempty"`
	// FaceToFace lists the modalities that count as face to face; default
	// the in-person ones.
	FaceToFace []Modality `json:"face_to_face,omitempty"`
	// MaxPeersPerSupervisor caps how many distinct peers one supervisor
	// supervises in a period (e.g. 7).
	MaxPeersPerSupervisor int `json:"max_peers_per_supervisor,omitempty"`
}

// Texas and DistrictOfColumbia are example rule sets from domain.md
// (1 TAC 354.3103; 22-A DCMR 7314). Organizations store their own.
var (
	Texas = RuleSet{InitialPeriodDays: 365, InitialFrequency: Weekly, OngoingFrequency: Monthly}
	// DistrictOfColumbia counts full-time peers per supervisor; the
	// evaluation counts the distinct peers a supervisor supervised in the
	// period.
	DistrictOfColumbia = RuleSet{MinFaceToFaceMinutesPerWeek: 60, MaxPeersPerSupervisor: 7}
)

// Validate reports a rule set that contradicts itself or names unknown
// values.
func (r RuleSet) Validate() error {
	known := func(f Frequency) bool { return f == "" || f == Weekly || f == Monthly }
	switch {
	case r.InitialPeriodDays < 0 || r.MinFaceToFaceMinutesPerWeek < 0 || r.MaxPeersPerSupervisor < 0:
		return fmt.Errorf("supervision: rule figures must not be negative")
	case !known(r.InitialFrequency) || !known(r.OngoingFrequency):
		return fmt.Errorf("supervision: frequencies are weekly or monthly")
	case (r.InitialPeriodDays > 0) != (r.InitialFrequency != ""):
		return fmt.Errorf("supervision: an initial period needs a frequency, and an initial frequency a period")
	case r.MinFaceToFaceMinutesPerWeek > 7*24*60:
		return fmt.Errorf("supervision: a week has fewer minutes than that")
	}
	for _, m := range r.FaceToFace {
		if !m.Valid() {
			return fmt.Errorf("supervision: unknown modality %q", m)
		}
	}
	return nil
}

func (r RuleSet) faceToFace() []Modality {
	if len(r.FaceToFace) == 0 {
		return []Modality{IndividualInPerson, GroupInPerson}
	}
	return r.FaceToFace
}

// The rules a [Result] reports on.
const (
	RuleFrequency       = "frequency"
	RuleFaceToFace      = "face_to_face_minutes"
	RuleMaxPeersPerSupe = "max_peers_per_supervisor"
)

// Result is one rule evaluated for one peer and period.
type Result struct {
	Rule string
	Met  bool
	// Required and Actual are the figures behind the verdict: sessions (or
	// weeks, or peers) required and held; for frequency, the number of
	// weeks or months that needed a session and how many had one.
	Required, Actual int
	// Missed lists the starts of the weeks or months that fell short (for
	// frequency and face-to-face minutes).
	Missed []time.Time
	// OverCap lists supervisors above MaxPeersPerSupervisor.
	OverCap []uuid.UUID
}

// Summary is a peer's supervision compliance for a period.
type Summary struct {
	PeerProviderID uuid.UUID
	From, To       time.Time // inclusive dates
	Sessions       int
	Results        []Result
	// CosignedEncounters and FinalizedEncounters count the peer's
	// encounters with service dates in the period that a supervisor
	// co-signed, and that were finalized (peer.Client.Cosign; an
	// organization may require a co-sign before finalizing).
	CosignedEncounters, FinalizedEncounters int
}

// Input is what [Evaluate] needs.
type Input struct {
	PeerProviderID uuid.UUID
	From, To       time.Time // inclusive dates
	Rules          RuleSet
	// CertifiedOn is when the peer's certification began; zero if unknown
	// (the peer is then held to the initial frequency throughout).
	CertifiedOn time.Time
	// Records are the peer's supervision records in the period.
	Records []Record
	// PeersPerSupervisor counts, for each supervisor of the peer in the
	// period, the distinct peers that supervisor supervised in it.
	PeersPerSupervisor map[uuid.UUID]int
}

// Evaluate evaluates every rule of in.Rules that is on. Only weeks and
// months that lie wholly inside the period are judged.
func Evaluate(in Input) Summary {
	s := Summary{PeerProviderID: in.PeerProviderID, From: day(in.From), To: day(in.To), Sessions: len(in.Records)}
	r := in.Rules
	if r.InitialFrequency != "" || r.OngoingFrequency != "" {
		s.Results = append(s.Results, frequency(in, s.From, s.To))
	}
	if r.MinFaceToFaceMinutesPerWeek > 0 {
		res := Result{Rule: RuleFaceToFace, Met: true, Required: r.MinFaceToFaceMinutesPerWeek}
		minWeek := -1
		for _, w := range weeks(s.From, s.To) {
			minutes := 0
			for _, rec := range in.Records {
				if within(rec.SupervisionDate, w, w.AddDate(0, 0, 6)) && slices.Contains(r.faceToFace(), rec.Modality) && rec.DurationMinutes != nil {
					minutes += *rec.DurationMinutes
				}
			}
			if minWeek < 0 || minutes < minWeek {
				minWeek = minutes
			}
			if minutes < r.MinFaceToFaceMinutesPerWeek {
				res.Met = false
				res.Missed = append(res.Missed, w)
			}
		}
		res.Actual = max(minWeek, 0) // the least face-to-face minutes in a week
		s.Results = append(s.Results, res)
	}
	if r.MaxPeersPerSupervisor > 0 {
		res := Result{Rule: RuleMaxPeersPerSupe, Met: true, Required: r.MaxPeersPerSupervisor}
		for sup, n := range in.PeersPerSupervisor {
			res.Actual = max(res.Actual, n)
			if n > r.MaxPeersPerSupervisor {
				res.Met = false
				res.OverCap = append(res.OverCap, sup)
			}
		}
		slices.SortFunc(res.OverCap, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
		s.Results = append(s.Results, res)
	}
	return s
}

// frequency checks that every whole week (initial period) or month (after
// it) of the period had at least one session.
func frequency(in Input, from, to time.Time) Result {
	r := in.Rules
	res := Result{Rule: RuleFrequency, Met: true}
	initialEnds := time.Time{} // the first day after the initial period
	if r.InitialPeriodDays > 0 && !in.CertifiedOn.IsZero() {
		initialEnds = day(in.CertifiedOn).AddDate(0, 0, r.InitialPeriodDays)
	}
	inInitial := func(t time.Time) bool {
		return r.InitialFrequency != "" && (in.CertifiedOn.IsZero() || t.Before(initialEnds))
	}
	check := func(start, end time.Time) {
		res.Required++
		for _, rec := range in.Records {
			if within(rec.SupervisionDate, start, end) {
				res.Actual++
				return
			}
		}
		res.Met = false
		res.Missed = append(res.Missed, start)
	}
	// Buckets: weeks while the initial frequency applies (if weekly),
	// months otherwise. A bucket belongs to the phase of its first day, and
	// a month that began before the switch to the ongoing phase is not
	// judged (its first days were judged as weeks), so buckets never overlap.
	for t := from; !t.After(to); {
		freq := r.OngoingFrequency
		if inInitial(t) {
			freq = r.InitialFrequency
		}
		var start, end time.Time
		switch freq {
		case Weekly:
			start = t.AddDate(0, 0, -int((t.Weekday()+6)%7))
			end = start.AddDate(0, 0, 6)
		case Monthly:
			start = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
			end = start.AddDate(0, 1, -1)
			if start.Before(t) {
				// The month began in the initial phase, whose weeks were
				// judged: judge from the next whole month on.
				t = end.AddDate(0, 0, 1)
				continue
			}
		default: // no rule for this phase
			t = t.AddDate(0, 0, 1)
			continue
		}
		if !start.Before(from) && !end.After(to) {
			check(start, end)
		}
		t = end.AddDate(0, 0, 1)
	}
	return res
}

// weeks returns the Mondays of the weeks wholly inside [from, to].
func weeks(from, to time.Time) []time.Time {
	var out []time.Time
	monday := from.AddDate(0, 0, (8-int(from.Weekday()))%7)
	for ; !monday.AddDate(0, 0, 6).After(to); monday = monday.AddDate(0, 0, 7) {
		out = append(out, monday)
	}
	return out
}

func within(t, start, end time.Time) bool {
	d := day(t)
	return !d.Before(start) && !d.After(end)
}

func day(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
