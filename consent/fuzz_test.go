package consent_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/internal/testdb"
)

// The Go validation and the database constraints must agree: every input
// is either refused with a validation error before SQL, or accepted by the
// database. Any other error means one of them is wrong.
func FuzzGrant(f *testing.F) {
	f.Add("progress_note", "TREAT", "", int64(3600), "patient", int64(0))
	f.Add("*", "HPAYMT", "end_of_treatment", int64(0), "personal_representative", int64(-60))
	f.Add("sud_counseling_note", "HOPERAT", "x", int64(-5), "patient", int64(7200))
	f.Add("'; DROP TABLE public.cl_charts; --", "TREAT'--", "end of treatment", int64(1), "patient\x00", int64(0))
	b := setupFuzz(f)
	f.Fuzz(func(t *testing.T, recordType, purpose, event string, expiresIn int64, signer string, effectiveIn int64) {
		p := consent.GrantParams{
			OrganizationID:  b.org,
			ChartID:         b.part2,
			Recipient:       consent.Recipient{UserID: b.clinician},
			RecordTypes:     []consent.RecordType{consent.RecordType(recordType)},
			Purposes:        []consent.Purpose{consent.Purpose(purpose)},
			ExpirationEvent: event,
			SignedAt:        time.Now().Add(-time.Minute),
			Signer:          consent.Signer(signer),
		}
		if expiresIn != 0 {
			p.ExpiresAt = time.Now().Add(time.Duration(expiresIn%1e6) * time.Second)
		}
		if effectiveIn != 0 {
			p.EffectiveAt = time.Now().Add(time.Duration(effectiveIn%1e6) * time.Second)
		}
		_, err := b.store.Grant(context.Background(), b.manager, p)
		if err != nil && !errors.Is(err, consent.ErrInvalid) {
			t.Fatalf("neither refused by validation nor accepted: %v", err)
		}
	})
}

func FuzzBreakGlass(f *testing.F) {
	f.Add("patient unresponsive in the waiting room", int64(3600))
	f.Add("          ", int64(60))
	f.Add("short", int64(0))
	f.Add("\t\t\t\t\t\t\t\t\t\t\tx", int64(86400))
	f.Add("valid reason\x00with a NUL", int64(600))
	b := setupFuzz(f)
	f.Fuzz(func(t *testing.T, reason string, seconds int64) {
		_, err := b.store.BreakGlass(context.Background(), b.clinician, consent.BreakGlassParams{
			ChartID: b.part2, Reason: reason, Duration: time.Duration(seconds%1e6) * time.Second,
		})
		if err != nil && !errors.Is(err, consent.ErrInvalid) {
			t.Fatalf("neither refused by validation nor accepted: %v", err)
		}
	})
}

func FuzzCheck(f *testing.F) {
	f.Add("peer_encounter", "TREAT", "display")
	f.Add("*", "ETREAT", "ai")
	f.Add("progress_note' OR '1'='1", "TREAT; --", "export\x00")
	b := setupFuzz(f)
	f.Fuzz(func(t *testing.T, recordType, purpose, use string) {
		d, err := b.store.Check(context.Background(), consent.Request{
			ActingUser: b.clinician, ChartID: b.part2,
			RecordType: consent.RecordType(recordType), Purpose: consent.Purpose(purpose), Use: consent.Use(use),
		})
		if err != nil && !errors.Is(err, consent.ErrInvalid) {
			t.Fatalf("neither refused by validation nor answered: %v", err)
		}
		if err == nil && d.Allowed {
			t.Fatalf("a Part 2 chart without consent was allowed: %+v", d)
		}
	})
}

type fuzzBundle struct {
	store                   *consent.Client
	org, manager, clinician uuid.UUID
	part2                   uuid.UUID
}

func setupFuzz(f *testing.F) *fuzzBundle {
	db := testdb.New(f)
	org := db.NewOrg(f)
	store, err := consent.New(db.App, nil)
	if err != nil {
		f.Fatal(err)
	}
	return &fuzzBundle{
		store:     store,
		org:       org,
		manager:   db.NewMember(f, org, "privacy_officer"),
		clinician: db.NewMember(f, org, "clinician"),
		part2:     db.NewChart(f, org, true),
	}
}
