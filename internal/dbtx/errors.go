package dbtx

import (
	"errors"

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
