// Package errs is the domain error of vendsync: what a rule says when it
// refuses a request, in terms that know nothing of HTTP. An Error has a Kind
// (the class of refusal: invalid input, something missing, a conflict, …), a
// Code that clients can switch on (AMOUNT_MISMATCH, IDEMPOTENCY_CONFLICT, …),
// the Field it is about and a Message for people. Only the HTTP layer turns a
// Kind into a status (internal/web); a downlink applier or a file importer
// reads the same errors without speaking HTTP.
//
// Any error that is not an *Error is Internal: the request did not fail
// because of what it asked, so it may succeed when retried.
package errs

import (
	"errors"
	"fmt"
)

// Kind is the class of a domain error.
type Kind string

// The kinds of domain error.
const (
	// Internal is every error that is not a refusal: a failed write, a bug.
	Internal Kind = "internal"
	// Invalid: the request is malformed or a value is out of range.
	Invalid Kind = "invalid"
	// NotFound: the thing the request names does not exist.
	NotFound Kind = "not_found"
	// Conflict: the request contradicts the current state (a duplicate, a
	// retired machine, an idempotency key reused with another body).
	Conflict Kind = "conflict"
	// Unprocessable: the request is well formed but refers to something the
	// rules cannot accept (an unknown machine, an amount that does not add up).
	Unprocessable Kind = "unprocessable"
	// Forbidden: the caller may not do this.
	Forbidden Kind = "forbidden"
	// Unavailable: the request cannot be served now; retrying later may work.
	Unavailable Kind = "unavailable"
)

// Codes used by more than one package. Rules define their own beside them.
const (
	CodeValidation = "VALIDATION_FAILED"
	CodeNotFound   = "NOT_FOUND"
	CodeForbidden  = "FORBIDDEN"
	CodeInternal   = "INTERNAL"
)

// Error is a domain error. It marshals to the API's error object
// {"code","message","field"}.
type Error struct {
	Kind    Kind   `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Error returns the code, message and field in one line.
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (field %s)", e.Code, e.Message, e.Field)
	}
	return e.Code + ": " + e.Message
}

// Errorf returns an *Error of kind with code about field ("" for none), its
// message formatted from format and args.
func Errorf(kind Kind, code, field, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Invalidf returns an Invalid VALIDATION_FAILED error naming field.
func Invalidf(field, format string, args ...any) *Error {
	return Errorf(Invalid, CodeValidation, field, format, args...)
}

// NotFoundf returns a NotFound NOT_FOUND error naming field.
func NotFoundf(field, format string, args ...any) *Error {
	return Errorf(NotFound, CodeNotFound, field, format, args...)
}

// Forbiddenf returns a Forbidden FORBIDDEN error naming field.
func Forbiddenf(field, format string, args ...any) *Error {
	return Errorf(Forbidden, CodeForbidden, field, format, args...)
}

// As returns the first *Error in err's chain, if there is one.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// KindOf returns the kind of err: "" for nil, Internal for an error that is
// not an *Error.
func KindOf(err error) Kind {
	if err == nil {
		return ""
	}
	if e, ok := As(err); ok && e.Kind != "" {
		return e.Kind
	}
	return Internal
}

// CodeOf returns the code of err: "" for nil, INTERNAL for an error that is
// not an *Error.
func CodeOf(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := As(err); ok && e.Code != "" {
		return e.Code
	}
	return CodeInternal
}

// Rejected reports whether err refuses the request for what it asks: a
// domain error whose kind is neither Internal nor Unavailable. Sending the
// same request again would be refused again, so a retrying caller (the
// downlink, an importer) records it and moves on instead.
func Rejected(err error) bool {
	k := KindOf(err)
	return k != "" && k != Internal && k != Unavailable
}
