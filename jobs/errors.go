package jobs

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in the api package.
const (
	EINVALID  = "invalid"
	ENOTFOUND = "not_found"
	ECONFLICT = "conflict"
	EINTERNAL = "internal"
	ETOOLARGE = "too_large"
	EUNAVAIL  = "unavailable"
	// EUNAUTHORIZED: the request has no credentials, or credentials that
	// are not valid (unknown, expired, malformed).
	EUNAUTHORIZED = "unauthorized"
	// EFORBIDDEN: the credentials are valid but lack the scope the request
	// needs.
	EFORBIDDEN = "forbidden"
	// EPOLICY: the job breaks a rule of its tenant's policy; the message
	// names the rule.
	EPOLICY = "policy_violation"
)

// Error is a domain error: a code clients can switch on and a message that
// names what was wrong, fit to show a user.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err: the message of an
// *Error, or a generic text for internal errors (whose details go to logs).
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// IsNotFound reports whether err is an ENOTFOUND domain error.
func IsNotFound(err error) bool { return ErrorCode(err) == ENOTFOUND }
