package events

import (
	"encoding/json"
	"reflect"
	"slices"
)

// SchemaBaseURL prefixes the $id of the published JSON Schemas.
const SchemaBaseURL = "https://schemas.encoreos.io/events/"

// JSONSchema returns the JSON Schema (draft 2020-12) of an event's data, for
// consumers in other languages. The checked-in copies in events/schemas are
// generated from it (and a test keeps them equal).
func JSONSchema(e Event) ([]byte, error) {
	fields, err := fieldsOf(reflect.TypeOf(e))
	if err != nil {
		return nil, err
	}
	props := map[string]any{}
	var required []string
	for _, f := range fields {
		var p map[string]any
		switch f.Kind {
		case kindUUID:
			p = map[string]any{"type": "string", "format": "uuid"}
		case kindTime:
			p = map[string]any{"type": "string", "format": "date-time"}
		case kindDate:
			p = map[string]any{"type": "string", "format": "date"}
		case kindCount:
			p = map[string]any{"type": "integer", "minimum": 0}
		case kindBool:
			p = map[string]any{"type": "boolean"}
		case kindCode:
			p = map[string]any{"type": "string", "pattern": codePattern.String()}
		case kindCodes:
			p = map[string]any{"type": "array", "items": map[string]any{"type": "string", "pattern": codePattern.String()}}
		case kindEnum:
			p = map[string]any{"type": "string", "enum": f.Enum}
		}
		if f.JSONName == "event_type" {
			p = map[string]any{"const": e.EventType()}
		}
		props[f.JSONName] = p
		if f.Required {
			required = append(required, f.JSONName)
		}
	}
	slices.Sort(required)
	return json.MarshalIndent(map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  SchemaBaseURL + e.EventType() + ".json",
		"title":                e.EventType(),
		"description":          "The data of a " + e.EventType() + " event (CloudEvents type " + e.EventType() + "). UUIDs, codes, counts, durations and timestamps only.",
		"type":                 "object",
		"additionalProperties": false,
		"required":             required,
		"properties":           props,
	}, "", "  ")
}
