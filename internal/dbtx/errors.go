package dbtx

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SQLSTATE codes the library maps to its own errors.
const (
	codeInsufficientPrivilege = "42501" // also "new row violates row-level security policy"
	codeUniqueViolation       = "23505"
	codeForeignKeyViolation   = "23503"
	codeCheckViolation        = "23514"
	codeInvalidParameterValue = "22023"
)

// Code returns err's SQLSTATE, or "" when err does not come from PostgreSQL.
func Code(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
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

// IsInvalidParameter reports whether a function refused a parameter.
func IsInvalidParameter(err error) bool { return Code(err) == codeInvalidParameterValue }

// ErrPermissionDenied is returned (wrapped) when the acting user may not do
// what was asked: no permission, or a row-level security policy refused it.
var ErrPermissionDenied = errors.New("permission denied")

// ErrNotFound is returned when a record does not exist or the acting user
// may not see it; the two are indistinguishable on purpose.
var ErrNotFound = errors.New("not found")

// MapError turns PostgreSQL errors the library expects into its own
// sentinels (keeping the original in the chain for logs) and passes
// everything else through. pgx.ErrNoRows becomes ErrNotFound.
func MapError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgx.ErrNoRows):
		return ErrNotFound
	case IsPermissionDenied(err):
		return fmt.Errorf("%w: %w", ErrPermissionDenied, err)
	}
	return err
}
