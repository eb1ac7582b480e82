package dbtx

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/encoreos/platform-go/internal/telemetry"
	"github.com/encoreos/platform-go/internal/validate"
)

// SQLSTATE codes the library maps to its own errors.
const (
	codeInsufficientPrivilege = "42501" // also "new row violates row-level security policy"
	codeUniqueViolation       = "23505"
	codeForeignKeyViolation   = "23503"
	codeCheckViolation        = "23514"
	codeInvalidParameterValue = "22023"
	codeNoDataFound           = "P0002"
	codeWrongState            = "55000" // object_not_in_prerequisite_state
	codeAccountFirst          = "PAC01" // the library's: commit the accounting of a Part 2 disclosure first
)

// Code returns err's SQLSTATE, or "" when err does not come from PostgreSQL.
func Code(err error) string {
	var coded interface{ SQLState() string }
	if errors.As(err, &coded) {
		return coded.SQLState()
	}
	return ""
}

// Error is a PostgreSQL error with the parts that may quote stored values
// left out: PostgreSQL's Detail ("Failing row contains (...)"), Where and
// Hint, and the message of errors whose message quotes input (data
// exceptions). What remains is the SQLSTATE, the constraint and table
// names, and the messages of privilege and integrity errors and of the
// library's own functions, none of which carries values. Callers may log it.
type Error struct {
	Code       string
	Message    string
	Constraint string
	Table      string
}

func (e *Error) Error() string {
	msg := "database error " + e.Code
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Constraint != "" {
		msg += " (constraint " + e.Constraint + ")"
	}
	return msg
}

// SQLState returns the SQLSTATE code.
func (e *Error) SQLState() string { return e.Code }

// sanitize turns a *pgconn.PgError into an *Error.
func sanitize(pgErr *pgconn.PgError) *Error {
	e := &Error{Code: pgErr.Code, Constraint: pgErr.ConstraintName, Table: pgErr.TableName}
	switch {
	case strings.HasPrefix(pgErr.Code, "23"), strings.HasPrefix(pgErr.Code, "42"), pgErr.Code == codeInvalidParameterValue:
		e.Message = pgErr.Message
	}
	return e
}

// Field is what a database refusal means to the caller: the input field it
// is about and why, in the words of a field error ("PeerProviderID is not
// ..."), or, for a refusal about the record's state rather than the input,
// the package's sentinel error (Err).
type Field struct {
	Name, Reason string
	Err          error
}

// Fields maps the names the database gives its refusals (a constraint's
// name, or the column a library function names when it raises) to what
// they mean to the caller: the one place a package turns the database's
// rules into its errors, so that Go need not ask the database first.
type Fields map[string]Field

// Map returns, when err is an integrity refusal (SQLSTATE class 23) or a
// refusal for the record's state (object_not_in_prerequisite_state) that
// names one of f's constraints or columns, that entry's Err or else a field
// error (*validate.Error, which matches validate.ErrInvalid); otherwise
// MapError(err).
func (f Fields) Map(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (strings.HasPrefix(pgErr.Code, "23") || pgErr.Code == codeWrongState) {
		for _, name := range refusedNames(pgErr) {
			field, ok := f[name]
			switch {
			case !ok || name == "":
			case field.Err != nil:
				return fmt.Errorf("%w: %w", field.Err, sanitize(pgErr))
			default:
				return validate.Errorf(field.Name, "%s", field.Reason)
			}
		}
	}
	return MapError(err)
}

var (
	// The library's functions end a refusal's message with the column
	// they refuse, "... (peer_provider_id)"; PostgreSQL names a violated
	// constraint in its message.
	messageColumn     = regexp.MustCompile(`\(([a-z][a-z0-9_]*)\)$`)
	messageConstraint = regexp.MustCompile(`constraint "([^"]+)"`)
	shardSuffix       = regexp.MustCompile(`_[0-9]+$`)
)

// refusedNames returns the names a refusal gives: its constraint and
// column, and, where those fields did not come through (Citus passes a
// worker's error on with its SQLSTATE and message only), the names its
// message gives, a shard's suffix taken off ("..._fkey_102396").
func refusedNames(pgErr *pgconn.PgError) []string {
	names := []string{pgErr.ConstraintName, pgErr.ColumnName}
	if m := messageColumn.FindStringSubmatch(pgErr.Message); m != nil {
		names = append(names, m[1])
	}
	if m := messageConstraint.FindStringSubmatch(pgErr.Message); m != nil {
		names = append(names, m[1], shardSuffix.ReplaceAllString(m[1], ""))
	}
	return names
}

// ConstraintOf returns the name of the constraint err violated, or "".
func ConstraintOf(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.ConstraintName
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Constraint
	}
	return ""
}

// IsPermissionDenied reports whether PostgreSQL refused err's statement for
// lack of privilege, including a row-level security WITH CHECK violation.
func IsPermissionDenied(err error) bool { return Code(err) == codeInsufficientPrivilege }

// IsUniqueViolation reports whether err is a unique-constraint violation.
func IsUniqueViolation(err error) bool { return Code(err) == codeUniqueViolation }

// IsForeignKeyViolation reports whether err is a foreign-key violation.
func IsForeignKeyViolation(err error) bool { return Code(err) == codeForeignKeyViolation }

// IsCheckViolation reports whether err is a CHECK-constraint violation.
func IsCheckViolation(err error) bool { return Code(err) == codeCheckViolation }

// IsNoDataFound reports whether a function found no record to act on.
func IsNoDataFound(err error) bool { return Code(err) == codeNoDataFound }

// IsWrongState reports whether a record is not in the state an action
// needs (object_not_in_prerequisite_state).
func IsWrongState(err error) bool { return Code(err) == codeWrongState }

// IsAccountFirst reports whether a write refused to go on before the
// accounting of its Part 2 disclosure has committed: the library accounts
// and asks again, both in one pipeline (InAfter). Only a caller a consent
// covers is told.
func IsAccountFirst(err error) bool { return Code(err) == codeAccountFirst }

// IsInvalidParameter reports whether a function refused a parameter.
func IsInvalidParameter(err error) bool { return Code(err) == codeInvalidParameterValue }

// ErrPermissionDenied is returned (wrapped) when the acting user may not do
// what was asked: no permission, or a row-level security policy refused it.
var ErrPermissionDenied = telemetry.NewError("permission_denied", "permission denied")

// ErrNotFound is returned when a record does not exist or the acting user
// may not see it; the two are indistinguishable on purpose.
var ErrNotFound = telemetry.NewError("not_found", "not found")

// MapError turns PostgreSQL errors the library expects into its own
// sentinels (keeping the original in the chain for logs) and passes
// everything else through. pgx.ErrNoRows becomes ErrNotFound.
//
// PostgreSQL errors come back as *Error, without the parts that may quote
// stored values (PHI).
func MapError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		safe := sanitize(pgErr)
		if pgErr.Code == codeInsufficientPrivilege {
			return fmt.Errorf("%w: %w", ErrPermissionDenied, safe)
		}
		return safe
	}
	return err
}
