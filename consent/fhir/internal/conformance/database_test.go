package conformance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/consent/fhir"
	"github.com/encoreos/platform-go/internal/testdb"
)

// The accounting of disclosures that the library writes to PostgreSQL,
// through its own API and as users RLS applies to, exports as a Bundle that
// the independent parser accepts, and that matches the golden file once
// the ids and times the database chose are replaced by names.
func TestAccountingBundleFromDatabase(t *testing.T) {
	t.Parallel()
	db := testdb.New(t)
	ctx := context.Background()
	org := db.NewOrg(t)
	officer := db.NewMember(t, org, "privacy_officer")
	clinician := db.NewMember(t, org, "clinician")
	chart := db.NewChart(t, org, true)
	client, err := consent.New(db.App, nil)
	require.NoError(t, err)

	granted, err := client.Grant(ctx, officer, consent.GrantParams{
		OrganizationID: org,
		ChartID:        chart,
		Recipient:      consent.Recipient{UserID: clinician},
		RecordTypes:    []consent.RecordType{consent.RecordProgressNote, consent.RecordPeerEncounter},
		Purposes:       []consent.Purpose{consent.PurposeTreatment, consent.PurposePayment},
		ExpiresAt:      time.Now().AddDate(1, 0, 0),
		SignedAt:       time.Now().Add(-time.Minute),
		Signer:         consent.SignerPatient,
	})
	require.NoError(t, err)
	for _, req := range []consent.Request{
		{ActingUser: clinician, ChartID: chart, RecordType: consent.RecordProgressNote, Purpose: consent.PurposeResearch, Use: consent.UseExport},
		{ActingUser: clinician, ChartID: chart, RecordType: consent.RecordProgressNote, Purpose: consent.PurposeTreatment, Use: consent.UseDisplay},
	} {
		_, err := client.Check(ctx, req)
		require.NoError(t, err)
	}
	n, err := consent.Account(ctx, db.App, clinician, org, consent.RecordProgressNote, consent.PurposePayment, consent.UseExport, chart)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	const reason = "patient unresponsive in the waiting room"
	access, err := client.BreakGlass(ctx, clinician, consent.BreakGlassParams{ChartID: chart, Reason: reason})
	require.NoError(t, err)
	n, err = consent.Account(ctx, db.App, clinician, org, consent.RecordPeerEncounter, consent.PurposeTreatment, consent.UseSave, chart)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = client.Revoke(ctx, officer, org, granted.ID)
	require.NoError(t, err)

	rows, err := client.Disclosures(ctx, officer, org, chart, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	require.Len(t, rows, 7)
	data, err := fhir.AccountingBundle(chart, rows)
	require.NoError(t, err)
	requireValidR4(t, "Bundle", data)
	require.NotContains(t, string(data), reason, "the reason for an emergency stays with the access record")

	names := map[uuid.UUID]string{org: "org", officer: "officer", clinician: "clinician", chart: "chart",
		granted.ID: "consent", access.ID: "emergency-access"}
	requireGolden(t, "accounting_from_database.json", normalize(t, data, names))

	// The consent itself, as read back after its revocation.
	consents, err := client.List(ctx, officer, org, chart)
	require.NoError(t, err)
	require.Len(t, consents, 1)
	c, err := fhir.Consent(consents[0])
	require.NoError(t, err)
	requireValidR4(t, "Consent", c)
	var v struct {
		Status  string
		Patient struct{ Reference string }
	}
	require.NoError(t, json.Unmarshal(c, &v))
	require.Equal(t, "inactive", v.Status)
	require.Equal(t, "Patient/"+chart.String(), v.Patient.Reference)
}

var (
	uuidPattern    = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	instantPattern = regexp.MustCompile(`"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"`)
)

// normalize replaces the UUIDs in data by the names given (the others,
// event ids, by event-1, event-2, ... in order of appearance) and every
// time by "<time>", so that a run's bundle compares with a golden file.
func normalize(t *testing.T, data []byte, names map[uuid.UUID]string) []byte {
	t.Helper()
	events := map[string]string{}
	out := uuidPattern.ReplaceAllStringFunc(string(data), func(s string) string {
		if name, ok := names[uuid.MustParse(s)]; ok {
			return name
		}
		if events[s] == "" {
			events[s] = fmt.Sprintf("event-%d", len(events)+1)
		}
		return events[s]
	})
	out = instantPattern.ReplaceAllString(out, `"<time>"`)
	require.False(t, strings.Contains(out, "platform_test"), "no database name leaks")
	return []byte(out)
}
