package events

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/internal/validate"
)

// The field kinds a payload may hold. Anything else, a plain string above
// all, is refused: that is how PHI is kept out by construction.
type fieldKind int

const (
	kindUUID fieldKind = iota
	kindTime
	kindDate
	kindCount
	kindBool
	kindCode
	kindCodes
	kindEnum
)

// enum is implemented by string types with a fixed set of values.
type enum interface{ EnumValues() []string }

var (
	uuidType  = reflect.TypeFor[uuid.UUID]()
	timeType  = reflect.TypeFor[time.Time]()
	dateType  = reflect.TypeFor[Date]()
	codeType  = reflect.TypeFor[Code]()
	codesType = reflect.TypeFor[Codes]()
	enumType  = reflect.TypeFor[enum]()
)

type field struct {
	GoName   string
	JSONName string
	Required bool // no omitempty in its json tag
	Kind     fieldKind
	Enum     []string
	Index    []int
}

// fieldsOf lists a payload type's fields, flattening the embedded Header,
// or fails on a field of a kind payloads may not hold.
func fieldsOf(t reflect.Type) ([]field, error) {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []field
	for _, sf := range reflect.VisibleFields(t) {
		if sf.Anonymous || !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			return nil, fmt.Errorf("events: %s.%s has no JSON name", t.Name(), sf.Name)
		}
		f := field{GoName: sf.Name, JSONName: name, Required: !strings.Contains(opts, "omitempty"), Index: sf.Index}
		ft := sf.Type
		if ft.Kind() == reflect.Pointer {
			if f.Required {
				return nil, fmt.Errorf("events: %s.%s is a pointer but not omitempty", t.Name(), sf.Name)
			}
			ft = ft.Elem()
		}
		switch {
		case ft == uuidType:
			f.Kind = kindUUID
		case ft == timeType:
			f.Kind = kindTime
		case ft == dateType:
			f.Kind = kindDate
		case ft == codeType:
			f.Kind = kindCode
		case ft == codesType:
			f.Kind = kindCodes
		case ft.Kind() == reflect.String && ft.Implements(enumType):
			f.Kind = kindEnum
			f.Enum = reflect.Zero(ft).Interface().(enum).EnumValues()
		case ft.Kind() == reflect.Int || ft.Kind() == reflect.Int32 || ft.Kind() == reflect.Int64:
			f.Kind = kindCount
		case ft.Kind() == reflect.Bool:
			f.Kind = kindBool
		case ft.Kind() == reflect.String && sf.Name == "EventType":
			f.Kind = kindCode // the header's event_type, checked against EventType()
		default:
			return nil, fmt.Errorf("events: %s.%s has type %s: payloads hold only UUIDs, codes, enums, counts, durations, dates and timestamps", t.Name(), sf.Name, ft)
		}
		out = append(out, f)
	}
	return out, nil
}

// check validates e's values: required fields set, codes and enums well
// formed, counts not negative, the header consistent with the type.
func check(e Event) error {
	h := e.EventHeader()
	if h.EventType != e.EventType() {
		return validate.Errorf("EventType", "must be %q", e.EventType())
	}
	if e.AggregateID() == uuid.Nil {
		return validate.Errorf("AggregateID", "is required")
	}
	fields, err := fieldsOf(reflect.TypeOf(e))
	if err != nil {
		return err
	}
	v := reflect.ValueOf(e).Elem()
	for _, f := range fields {
		fv := v.FieldByIndex(f.Index)
		if fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				continue
			}
			fv = fv.Elem()
		} else if f.Required && fv.IsZero() && f.Kind != kindCount && f.Kind != kindBool && f.Kind != kindCodes {
			return validate.Errorf(f.GoName, "is required")
		}
		switch f.Kind {
		case kindCode:
			if f.GoName != "EventType" && !fv.Interface().(Code).Valid() {
				return validate.Errorf(f.GoName, "is not a well-formed code")
			}
		case kindCodes:
			for _, c := range fv.Interface().(Codes) {
				if !c.Valid() {
					return validate.Errorf(f.GoName, "holds a code that is not well formed")
				}
			}
		case kindEnum:
			if !slices.Contains(f.Enum, fv.String()) {
				return validate.Errorf(f.GoName, "must be one of %s", strings.Join(f.Enum, ", "))
			}
		case kindCount:
			if fv.Int() < 0 {
				return validate.Errorf(f.GoName, "must not be negative")
			}
		case kindUUID:
			if !f.Required && fv.Interface().(uuid.UUID) == uuid.Nil {
				return validate.Errorf(f.GoName, "is set to the zero UUID; leave it nil instead")
			}
		}
	}
	return nil
}

var keyPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,200}$`)

// newOfSameType returns a new zero value of proto's (pointer) type.
func newOfSameType(proto Event) Event {
	return reflect.New(reflect.TypeOf(proto).Elem()).Interface().(Event)
}
