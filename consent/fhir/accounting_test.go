package fhir_test

import (
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/consent/fhir"
	"github.com/encoreos/platform-go/consent/fhir/internal/sample"
)

// eventView is what the tests read back from an AuditEvent.
type eventView struct {
	ID             string
	Subtype        []struct{ System, Code string }
	Action         string
	Recorded       string
	Outcome        string
	PurposeOfEvent []struct{ Coding []struct{ Code string } }
	Agent          []struct {
		Who       struct{ Reference string }
		Requestor bool
	}
	Entity []struct {
		What      struct{ Reference string }
		Type      struct{ System, Code string }
		Lifecycle struct{ Code string }
		Detail    []struct{ Type, ValueString string }
	}
}

func readBundle(t *testing.T, data []byte) []eventView {
	t.Helper()
	var b struct {
		Type  string
		Entry []struct {
			FullURL  string
			Resource eventView
		}
	}
	require.NoError(t, json.Unmarshal(data, &b))
	require.Equal(t, "collection", b.Type)
	var out []eventView
	for _, e := range b.Entry {
		require.Equal(t, "urn:uuid:"+e.Resource.ID, e.FullURL)
		out = append(out, e.Resource)
	}
	return out
}

func TestAccountingBundleMapsEveryAction(t *testing.T) {
	t.Parallel()
	rows := sample.EveryAction()
	data, err := fhir.AccountingBundle(sample.Chart, rows)
	require.NoError(t, err)
	events := readBundle(t, data)
	require.Len(t, events, len(rows), "one event per row, in order")

	type want struct{ action, outcome, use, lifecycle string }
	wants := []want{
		{"C", "0", "", ""},
		{"R", "4", "export", ""},
		{"R", "0", "display", ""},
		{"U", "0", "save", "disclose"},
		{"E", "0", "", ""},
		{"R", "0", "display", "disclose"},
		{"R", "0", "ai", ""},
		{"U", "0", "", ""},
	}
	ids := map[string]bool{}
	for i, e := range events {
		w := wants[i]
		require.Equal(t, w.action, e.Action, "row %d", i)
		require.Equal(t, w.outcome, e.Outcome, "row %d", i)
		require.Equal(t, instantOf(rows[i]), e.Recorded, "row %d", i)
		require.Equal(t, fhir.ActionSystem, e.Subtype[0].System)
		require.Equal(t, rows[i].Action, e.Subtype[0].Code)
		if w.use != "" {
			require.Equal(t, fhir.UseSystem, e.Subtype[1].System)
			require.Equal(t, w.use, e.Subtype[1].Code, "row %d", i)
			require.Equal(t, fhir.RecordTypeSystem, e.Entity[1].Type.System)
			require.Equal(t, *rows[i].RecordType, e.Entity[1].Type.Code)
			require.Equal(t, w.lifecycle, e.Entity[1].Lifecycle.Code, "row %d", i)
		} else {
			require.Len(t, e.Subtype, 1)
		}
		if rows[i].Purpose != nil {
			require.Equal(t, string(*rows[i].Purpose), e.PurposeOfEvent[0].Coding[0].Code)
		} else {
			require.Empty(t, e.PurposeOfEvent)
		}
		require.Equal(t, "Practitioner/"+rows[i].ActorUserID.String(), e.Agent[0].Who.Reference)
		require.True(t, e.Agent[0].Requestor)
		require.Equal(t, "Organization/"+sample.Org.String(), e.Agent[1].Who.Reference)
		require.False(t, e.Agent[1].Requestor)
		require.Equal(t, "Patient/"+sample.Chart.String(), e.Entity[0].What.Reference)
		if rows[i].ConsentID != nil {
			require.Equal(t, "Consent/"+sample.Consent.String(), e.Entity[len(e.Entity)-1].What.Reference)
		}
		require.False(t, ids[e.ID], "event ids are unique")
		ids[e.ID] = true
	}
	require.Contains(t, events[4].Entity[0].Detail, struct{ Type, ValueString string }{"emergency_access_id", sample.Emergency.String()})

	// The same rows give the same ids in every export, whatever else the
	// export holds.
	again, err := fhir.AccountingBundle(sample.Chart, rows[3:])
	require.NoError(t, err)
	require.Equal(t, events[3].ID, readBundle(t, again)[0].ID)

	// A row written without an acting user has a requestor without who.
	anonymous := rows[0]
	anonymous.ActorUserID = nil
	data, err = fhir.AccountingBundle(sample.Chart, []consent.Disclosure{anonymous})
	require.NoError(t, err)
	e := readBundle(t, data)[0]
	require.True(t, e.Agent[0].Requestor)
	require.Empty(t, e.Agent[0].Who.Reference)

	// Rows alike in every field still get ids of their own.
	twice, err := fhir.AccountingBundle(sample.Chart, []consent.Disclosure{rows[2], rows[2]})
	require.NoError(t, err)
	dup := readBundle(t, twice)
	require.NotEqual(t, dup[0].ID, dup[1].ID)

	// A row read from the database carries its audit row's id, which the
	// event keeps; should two rows claim one id, the second's is derived.
	withID := rows[2]
	withID.ID = uuid.New()
	data, err = fhir.AccountingBundle(sample.Chart, []consent.Disclosure{withID, withID})
	require.NoError(t, err)
	kept := readBundle(t, data)
	require.Equal(t, withID.ID.String(), kept[0].ID)
	require.NotEqual(t, kept[0].ID, kept[1].ID)
}

func instantOf(d consent.Disclosure) string {
	return d.OccurredAt.UTC().Format("2006-01-02T15:04:05.999999Z07:00")
}

func TestAccountingBundleRefusesUnknownRows(t *testing.T) {
	t.Parallel()
	_, err := fhir.AccountingBundle(uuid.Nil, sample.EveryAction())
	require.ErrorIs(t, err, consent.ErrInvalid)

	for _, tc := range []struct {
		field  string
		change func(*consent.Disclosure)
	}{
		{"Disclosures[2].Action", func(d *consent.Disclosure) { d.Action = "part2.record.printed" }},
		{"Disclosures[2].Use", func(d *consent.Disclosure) { d.Use = new("print") }},
		{"Disclosures[2].Use", func(d *consent.Disclosure) { d.Use = nil }},
		{"Disclosures[2].RecordType", func(d *consent.Disclosure) { d.RecordType = new("*") }},
		{"Disclosures[2].RecordType", func(d *consent.Disclosure) { d.RecordType = nil }},
		{"Disclosures[2].Purpose", func(d *consent.Disclosure) { p := consent.Purpose("MARKETING"); d.Purpose = &p }},
		{"Disclosures[2].OccurredAt", func(d *consent.Disclosure) { d.OccurredAt = sample.At("0001-01-01T00:00:00Z") }},
		{"Disclosures[2].OrganizationID", func(d *consent.Disclosure) { d.OrganizationID = uuid.Nil }},
	} {
		rows := sample.EveryAction()
		tc.change(&rows[2])
		_, err := fhir.AccountingBundle(sample.Chart, rows)
		require.ErrorIs(t, err, consent.ErrInvalid, tc.field)
		var verr *consent.ValidationError
		require.ErrorAs(t, err, &verr)
		require.Equal(t, tc.field, verr.Field)
	}
	rows := sample.EveryAction()
	rows[0].ConsentID = nil
	_, err = fhir.AccountingBundle(sample.Chart, rows)
	require.ErrorIs(t, err, consent.ErrInvalid, "a grant names its consent")
	rows = sample.EveryAction()
	rows[4].EmergencyAccessID = nil
	_, err = fhir.AccountingBundle(sample.Chart, rows)
	require.ErrorIs(t, err, consent.ErrInvalid, "an emergency access names its record")
}
