// Package validate holds the validation error every public package returns
// (re-exported there as ValidationError) and small checks they share.
package validate

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/internal/telemetry"
)

// ErrInvalid matches every validation error with errors.Is.
var ErrInvalid = telemetry.NewError(kind, "invalid input")

// kind is the error kind of every validation error in spans and metrics:
// one code, whatever the field and the reason.
const kind = "invalid"

// Error says which field of a call's input is wrong and why. Its message
// names the field and the rule, never the value (which may be PHI).
type Error struct {
	Field  string // the Go field name, e.g. "ChartID"
	Reason string // what is wrong, e.g. "is required"
}

func (e *Error) Error() string { return fmt.Sprintf("invalid input: %s %s", e.Field, e.Reason) }

// Kind returns "invalid", the error's kind in spans and logs.
func (e *Error) Kind() string { return kind }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Errorf builds an *Error.
func Errorf(field, format string, args ...any) *Error {
	return &Error{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Required returns an *Error when id is the zero UUID.
func Required(field string, id uuid.UUID) error {
	if id == uuid.Nil {
		return &Error{Field: field, Reason: "is required (got the zero UUID)"}
	}
	return nil
}

// Text returns an *Error when s is not valid UTF-8 without NUL characters
// (PostgreSQL text cannot hold them), or when s, trimmed, is shorter than
// min or longer than max characters.
func Text(field, s string, min, max int) error {
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return &Error{Field: field, Reason: "must be valid UTF-8 text without NUL characters"}
	}
	n := utf8.RuneCountInString(strings.TrimSpace(s))
	switch {
	case utf8.RuneCountInString(s) > max:
		// The stored text is the untrimmed one: count all of it.
		return &Error{Field: field, Reason: fmt.Sprintf("may have at most %d characters", max)}
	case n == 0 && min > 0:
		return &Error{Field: field, Reason: "is required"}
	case n < min:
		return &Error{Field: field, Reason: fmt.Sprintf("needs at least %d characters", min)}
	}
	return nil
}

// First returns the first non-nil error, so that a call checks its inputs in
// order and reports the first problem.
func First(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
