package events_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/events"
	"github.com/encoreos/platform-go/internal/testdb"
)

var update = flag.Bool("update", false, "rewrite the checked-in JSON Schemas and golden files")

// Every registered payload holds only UUIDs, codes, enums, counts,
// durations, dates and timestamps. A plain string field (free text, where
// PHI would go) fails here, and at publish time.
func TestPayloadsHoldNoFreeText(t *testing.T) {
	allowed := map[reflect.Type]bool{
		reflect.TypeFor[uuid.UUID](): true, reflect.TypeFor[*uuid.UUID](): true,
		reflect.TypeFor[time.Time](): true, reflect.TypeFor[*time.Time](): true,
		reflect.TypeFor[events.Date](): true, reflect.TypeFor[events.Code](): true, reflect.TypeFor[*events.Code](): true,
		reflect.TypeFor[events.Codes](): true, reflect.TypeFor[events.Modality](): true,
		reflect.TypeFor[int](): true,
	}
	for _, e := range events.Registered() {
		typ := reflect.TypeOf(e).Elem()
		for _, f := range reflect.VisibleFields(typ) {
			if f.Anonymous {
				require.Equal(t, reflect.TypeFor[events.Header](), f.Type, "%s embeds only Header", typ.Name())
				continue
			}
			if f.Name == "EventType" { // Header.EventType, a constant per type
				continue
			}
			require.True(t, allowed[f.Type], "%s.%s has type %s, which may carry free text", typ.Name(), f.Name, f.Type)
		}
		// The schema generator (which shares the publish-time walker)
		// refuses the same.
		_, err := events.JSONSchema(e)
		require.NoError(t, err)
	}
	_, err := events.JSONSchema(&leaky{})
	require.ErrorContains(t, err, "payloads hold only")
}

type leaky struct {
	events.Header
	PatientName string `json:"patient_name"`
}

func (*leaky) EventType() string        { return "leaky" }
func (l *leaky) AggregateID() uuid.UUID { return l.OrganizationID }

// The checked-in JSON Schemas are exactly what the types generate.
func TestJSONSchemasAreCurrent(t *testing.T) {
	for _, e := range events.Registered() {
		got, err := events.JSONSchema(e)
		require.NoError(t, err)
		golden(t, filepath.Join("schemas", e.EventType()+".json"), got)
	}
}

// samples are the events of the golden files: every field set.
func samples() []events.Event {
	org := uuid.MustParse("0b6f2a52-0000-4000-8000-000000000001")
	corr := uuid.MustParse("0b6f2a52-0000-4000-8000-0000000000cc")
	enc := uuid.MustParse("0b6f2a52-0000-4000-8000-0000000000e1")
	sched := uuid.MustParse("0b6f2a52-0000-4000-8000-0000000000d1")
	pm := uuid.MustParse("0b6f2a52-0000-4000-8000-0000000000d2")
	prof := uuid.MustParse("0b6f2a52-0000-4000-8000-0000000000d3")
	pos := events.Code("10")
	at := time.Date(2026, 11, 23, 15, 4, 5, 0, time.UTC)
	h := func() events.Header {
		return events.Header{OrganizationID: org, Timestamp: at, CorrelationID: &corr}
	}
	return []events.Event{
		&events.PeerEncounterFinalized{Header: h(),
			PeerEncounterID: uuid.MustParse("0b6f2a52-0000-4000-8000-0000000000a1"),
			ChartID:         uuid.MustParse("0b6f2a52-0000-4000-8000-0000000000a2"),
			EncounterID:     &enc,
			PeerProviderID:  uuid.MustParse("0b6f2a52-0000-4000-8000-0000000000a3"),
			ServiceDate:     events.NewDate(at), HCPCSCode: "H0038", DurationMinutes: 45,
			SecurityLabels: events.Codes{"R", "42CFRPart2", "NORDSCLCD"}},
		&events.PeerEncounterCorrected{Header: h(),
			PeerEncounterID: uuid.MustParse("0b6f2a52-0000-4000-8000-0000000000a1"),
			AmendmentID:     uuid.MustParse("0b6f2a52-0000-4000-8000-0000000000a4"),
			CorrectsEventID: uuid.MustParse("0b6f2a52-0000-4000-8000-0000000000a5"),
			ChartID:         uuid.MustParse("0b6f2a52-0000-4000-8000-0000000000a2"),
			EncounterID:     &enc,
			PeerProviderID:  uuid.MustParse("0b6f2a52-0000-4000-8000-0000000000a3"),
			ServiceDate:     events.NewDate(at), HCPCSCode: "H0038", DurationMinutes: 30,
			SecurityLabels: events.Codes{}},
		&events.VirtualGroupStarted{Header: h(),
			SessionID: uuid.MustParse("0b6f2a52-0000-4000-8000-0000000000b1"), ScheduleID: &sched, PMTelehealthSessionID: &pm,
			Modality: events.ModalityHybrid, StartedAt: at, FacilitatorID: uuid.MustParse("0b6f2a52-0000-4000-8000-0000000000b2"),
			AttendeeCount: 9},
		&events.VirtualGroupConcluded{Header: h(),
			SessionID: uuid.MustParse("0b6f2a52-0000-4000-8000-0000000000b1"), ScheduleID: &sched, PMTelehealthSessionID: &pm,
			Modality: events.ModalityVirtual, ConcludedAt: at.Add(90 * time.Minute), DurationMinutes: 90, ParticipantCount: 8,
			ModifierSuggestions: events.Codes{"95", "HQ"}, JurisdictionProfileID: &prof},
		&events.VirtualGroupChargeLine{Header: h(),
			SessionID: uuid.MustParse("0b6f2a52-0000-4000-8000-0000000000b1"), AttendanceID: uuid.MustParse("0b6f2a52-0000-4000-8000-0000000000b3"),
			ChartID: uuid.MustParse("0b6f2a52-0000-4000-8000-0000000000a2"), ConcludedEventID: uuid.MustParse("0b6f2a52-0000-4000-8000-0000000000b4"),
			ServiceDate: events.NewDate(at), Modes: events.Codes{"video", "audio_only"}, VideoMinutes: 40, AudioOnlyMinutes: 35,
			BillableMinutes: 75, Units: 5, PlaceOfService: &pos, ModifierSuggestions: events.Codes{"93", "HQ"}, JurisdictionProfileID: prof,
			SecurityLabels: events.Codes{"R", "42CFRPart2", "NORDSCLCD"}},
	}
}

// The database knows the same event types as the Go registry.
func TestEventTypesMatchTheDatabase(t *testing.T) {
	db := testdb.New(t)
	var inDB []string
	require.NoError(t, db.Admin.QueryRow(context.Background(), `SELECT public.cl_event_types()`).Scan(&inDB))
	var inGo []string
	for _, e := range events.Registered() {
		inGo = append(inGo, e.EventType())
	}
	require.ElementsMatch(t, inGo, inDB)
}

// The database refuses any data field an event's contract lacks: its list
// (cl_event_fields) is the contract's keys, exactly. A field added to a Go
// contract without the database knowing fails here.
func TestEventFieldsMatchTheDatabase(t *testing.T) {
	db := testdb.New(t)
	for _, e := range events.Registered() {
		schemaJSON, err := events.JSONSchema(e)
		require.NoError(t, err)
		var schema struct {
			Properties map[string]json.RawMessage `json:"properties"`
		}
		require.NoError(t, json.Unmarshal(schemaJSON, &schema))
		var inGo []string
		for k := range schema.Properties {
			inGo = append(inGo, k)
		}
		var inDB []string
		require.NoError(t, db.Admin.QueryRow(context.Background(), `SELECT public.cl_event_fields($1)`, e.EventType()).Scan(&inDB))
		require.ElementsMatch(t, inGo, inDB, e.EventType())
	}
}

// Each event's JSON, field for field as the specifications' tables.
func TestPayloadJSONIsTheContract(t *testing.T) {
	for _, e := range samples() {
		e.EventHeader().EventType = e.EventType()
		got, err := json.MarshalIndent(e, "", "  ")
		require.NoError(t, err)
		golden(t, filepath.Join("testdata", e.EventType()+".golden.json"), got)

		// Every key is in the published schema, and every required one is there.
		schemaJSON, err := events.JSONSchema(e)
		require.NoError(t, err)
		var schema struct {
			Required   []string
			Properties map[string]any
		}
		require.NoError(t, json.Unmarshal(schemaJSON, &schema))
		var payload map[string]any
		require.NoError(t, json.Unmarshal(got, &payload))
		for k := range payload {
			require.Contains(t, schema.Properties, k)
		}
		for _, k := range schema.Required {
			require.Contains(t, payload, k)
		}
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	got = append(got, '\n')
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./events -run %s -update to create it", t.Name())
	require.Equal(t, string(want), string(got), "run go test ./events -update after an intended change")
}

// A consumer using the official CloudEvents Go SDK reads our envelope
// without glue.
func TestEnvelopeIsACloudEvent(t *testing.T) {
	outbox := events.NewOutbox(nil)
	for _, e := range samples() {
		env, err := outbox.Wrap(e)
		require.NoError(t, err)
		wire, err := json.Marshal(env)
		require.NoError(t, err)

		var ce cloudevents.Event
		require.NoError(t, json.Unmarshal(wire, &ce))
		require.NoError(t, ce.Validate())
		require.Equal(t, env.ID.String(), ce.ID())
		require.Equal(t, e.EventType(), ce.Type())
		require.Equal(t, events.DefaultSource, ce.Source())
		require.Equal(t, e.AggregateID().String(), ce.Subject())
		require.Equal(t, "1.0", ce.SpecVersion())
		require.Equal(t, "application/json", ce.DataContentType())
		require.True(t, ce.Time().Equal(e.EventHeader().Timestamp))
		require.Equal(t, e.EventHeader().OrganizationID.String(), ce.Extensions()["organizationid"])
		require.Equal(t, e.EventHeader().CorrelationID.String(), ce.Extensions()["correlationid"])

		// The data decodes into the same typed payload.
		back := reflect.New(reflect.TypeOf(e).Elem()).Interface()
		require.NoError(t, ce.DataAs(back))
		require.Equal(t, e, back)
	}
}
