package peer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/encoreos/platform-go/peer"
)

// Every input either fails validation with a *ValidationError or is stored:
// the Go checks and the database constraints agree, and nothing that
// reaches SQL breaks it.
func FuzzCreate(f *testing.F) {
	f.Add("peer_support", "H0038", "Discussed goals.", 45, 0, int64(-3600))
	f.Add("recovery_coaching", "H2017", "", 30, 30, int64(-86400))
	f.Add("peer_support'; DROP TABLE public.cl_charts; --", "H0038' OR '1'='1", "x\x00y", 10, 11, int64(0))
	f.Add("crisis_peer", "T1017", "\xff\xfe", 1440, 1440, int64(-90000))
	b := setup(f)
	f.Fuzz(func(t *testing.T, serviceType, code, notes string, spanMinutes, duration int, endOffsetSeconds int64) {
		end := time.Now().Add(time.Duration(endOffsetSeconds%(30*86400)) * time.Second)
		start := end.Add(-time.Duration(spanMinutes%3000) * time.Minute)
		fields := peer.Fields{
			PeerProviderID: b.peer, ServiceDate: start, StartTime: start, EndTime: end, DurationMinutes: duration,
			ServiceType: serviceType, HCPCSCode: code, FocusNotes: notes,
		}
		_, err := b.client.Create(context.Background(), b.peer, peer.CreateParams{OrganizationID: b.org, ChartID: b.chart, Fields: fields})
		if err != nil && !errors.Is(err, peer.ErrInvalid) {
			t.Fatalf("neither refused by validation nor stored: %v", err)
		}
	})
}

func FuzzParseCursor(f *testing.F) {
	f.Add("MjAyNi0xMS0yM3wwYjZmMmE1Mi0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDE")
	f.Add("")
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, s string) {
		date, id, err := peer.ParseCursor(s)
		if err != nil {
			if !errors.Is(err, peer.ErrInvalid) {
				t.Fatalf("not a validation error: %v", err)
			}
			return
		}
		if date.IsZero() || id.String() == "" {
			t.Fatalf("accepted %q as %v %v", s, date, id)
		}
	})
}
