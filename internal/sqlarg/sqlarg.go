// Package sqlarg turns Go zero values into SQL NULL arguments: the zero
// UUID, the empty string and the zero time mean "none" in the library's
// parameter structs.
package sqlarg

import (
	"time"

	"github.com/google/uuid"
)

// UUID returns nil for the zero UUID, else a pointer to id.
func UUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

// String returns nil for "", else a pointer to s.
func String(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Time returns nil for the zero time, else a pointer to t.
func Time(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
