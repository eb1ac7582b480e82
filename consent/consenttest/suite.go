package consenttest

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/consent"
)

// Harness arranges the state a [consent.Checker] under test answers from.
type Harness struct {
	// Checker is the implementation under test.
	Checker consent.Checker
	// NewChart returns a new chart, a Part 2 chart when part2 is true.
	NewChart func(t testing.TB, part2 bool) uuid.UUID
	// NewUser returns a user with access to the charts' organization.
	NewUser func(t testing.TB) uuid.UUID
	// Grant records a consent for user to chart's records of the given
	// types, and returns a function that revokes it.
	Grant func(t testing.TB, chart, user uuid.UUID, types ...consent.RecordType) (revoke func())
}

// RunCheckerSuite checks that a [consent.Checker] behaves as the library's
// checkers do. newHarness is called once per subtest.
func RunCheckerSuite(t *testing.T, newHarness func(t *testing.T) Harness) {
	ctx := context.Background()
	check := func(t *testing.T, h Harness, req consent.Request) consent.Decision {
		t.Helper()
		d, err := h.Checker.Check(ctx, req)
		if err != nil {
			t.Fatalf("Check(%+v): %v", req, err)
		}
		return d
	}
	want := func(t *testing.T, got consent.Decision, allowed bool, basis consent.Basis) {
		t.Helper()
		if got.Allowed != allowed || got.Basis != basis {
			t.Fatalf("got %+v, want allowed=%v basis=%s", got, allowed, basis)
		}
	}

	t.Run("ChartWithoutPart2RecordsIsAllowed", func(t *testing.T) {
		h := newHarness(t)
		d := check(t, h, consent.Request{ActingUser: h.NewUser(t), ChartID: h.NewChart(t, false), RecordType: consent.RecordPeerEncounter})
		want(t, d, true, consent.BasisNotPart2)
	})
	t.Run("Part2ChartNeedsConsent", func(t *testing.T) {
		h := newHarness(t)
		chart, user := h.NewChart(t, true), h.NewUser(t)
		req := consent.Request{ActingUser: user, ChartID: chart, RecordType: consent.RecordPeerEncounter}
		want(t, check(t, h, req), false, consent.BasisDenied)
		revoke := h.Grant(t, chart, user, consent.RecordPeerEncounter)
		want(t, check(t, h, req), true, consent.BasisConsent)
		revoke()
		want(t, check(t, h, req), false, consent.BasisDenied)
	})
	t.Run("ConsentCoversOnlyItsRecordTypes", func(t *testing.T) {
		h := newHarness(t)
		chart, user := h.NewChart(t, true), h.NewUser(t)
		h.Grant(t, chart, user, consent.RecordProgressNote)
		d := check(t, h, consent.Request{ActingUser: user, ChartID: chart, RecordType: consent.RecordPeerEncounter})
		want(t, d, false, consent.BasisDenied)
	})
	t.Run("AllRecordsExcludesCounselingNotes", func(t *testing.T) {
		h := newHarness(t)
		chart, user := h.NewChart(t, true), h.NewUser(t)
		h.Grant(t, chart, user, consent.AllRecords)
		want(t, check(t, h, consent.Request{ActingUser: user, ChartID: chart, RecordType: consent.RecordGroupSession}), true, consent.BasisConsent)
		want(t, check(t, h, consent.Request{ActingUser: user, ChartID: chart, RecordType: consent.RecordSUDCounselingNote}), false, consent.BasisDenied)
	})
	t.Run("ConsentIsPersonal", func(t *testing.T) {
		h := newHarness(t)
		chart := h.NewChart(t, true)
		h.Grant(t, chart, h.NewUser(t), consent.RecordPeerEncounter)
		d := check(t, h, consent.Request{ActingUser: h.NewUser(t), ChartID: chart, RecordType: consent.RecordPeerEncounter})
		want(t, d, false, consent.BasisDenied)
	})
	t.Run("UnknownChartIsDeniedLikeAnyOther", func(t *testing.T) {
		h := newHarness(t)
		d := check(t, h, consent.Request{ActingUser: h.NewUser(t), ChartID: uuid.New(), RecordType: consent.RecordPeerEncounter})
		want(t, d, false, consent.BasisDenied)
	})
	t.Run("InvalidRequestsAreErrors", func(t *testing.T) {
		h := newHarness(t)
		chart, user := h.NewChart(t, false), h.NewUser(t)
		for _, req := range []consent.Request{
			{ChartID: chart, RecordType: consent.RecordPeerEncounter},
			{ActingUser: user, RecordType: consent.RecordPeerEncounter},
			{ActingUser: user, ChartID: chart},
			{ActingUser: user, ChartID: chart, RecordType: consent.AllRecords},
			{ActingUser: user, ChartID: chart, RecordType: consent.RecordPeerEncounter, Use: "sell"},
			{ActingUser: user, ChartID: chart, RecordType: consent.RecordPeerEncounter, Purpose: "MARKETING"},
		} {
			_, err := h.Checker.Check(ctx, req)
			if !errors.Is(err, consent.ErrInvalid) && !errors.Is(err, consent.ErrNoActingUser) {
				t.Fatalf("Check(%+v) = %v, want ErrInvalid or ErrNoActingUser", req, err)
			}
		}
	})
}
