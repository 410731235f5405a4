// Package web is the HTTP plumbing shared by the edge and central APIs: one
// JSON error shape (domain errors from internal/errs mapped to statuses in
// one place, statusOf), strict JSON decoding, bearer-token auth with role
// checks, and request metrics.
package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/internal/jsonappend"
)

// Error is an API error: an HTTP status and the body
// {"error":{"code","message","field"}}. Handlers use it for what only HTTP
// knows (a malformed body, a missing token); rules return *errs.Error
// instead, which WriteError maps to a status.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (field %s)", e.Code, e.Message, e.Field)
	}
	return e.Code + ": " + e.Message
}

// clamped returns e with its message and field cut to a bounded length,
// so no answer repeats a long stretch of what the client sent.
func (e *Error) clamped() *Error {
	if len(e.Message) <= maxMessage && len(e.Field) <= maxEcho {
		return e
	}
	c := *e
	c.Message, c.Field = clipN(c.Message, maxMessage), clip(c.Field)
	return &c
}

// Errorf builds an *Error.
func Errorf(status int, code, field, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Invalid is a 400 VALIDATION_FAILED error naming field.
func Invalid(field, format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, "VALIDATION_FAILED", field, format, args...)
}

// NotFound is a 404 NOT_FOUND error.
func NotFound(field, format string, args ...any) *Error {
	return Errorf(http.StatusNotFound, "NOT_FOUND", field, format, args...)
}

// WriteJSON writes v as JSON with status, followed by a newline. A v that
// is a jsonappend.Appender appends its own encoding (the same bytes) into a
// pooled buffer; one that appends nothing (a value encoding/json refuses)
// writes an empty body, as encoding/json's failure does.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	// The header's value is shared by every answer (Header.Set would make a
	// new slice each time): net/http only reads it, and Set or Add by
	// anyone later replaces or copies it.
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	if a, ok := v.(jsonappend.Appender); ok {
		// The same bytes as the encoder below, without its reflection.
		bp := answerBufs.Get().(*[]byte)
		b := a.AppendJSON((*bp)[:0])
		if len(b) > 0 { // nothing: a value encoding/json would refuse, which writes nothing
			b = append(b, '\n')
			_, _ = w.Write(b)
		}
		if cap(b) <= maxPooledAnswer {
			*bp = b
			answerBufs.Put(bp)
		}
		return
	}
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

var jsonContentType = []string{"application/json"}

// answerBufs holds the buffers WriteJSON appends answers to; one larger
// than maxPooledAnswer is left to the garbage collector.
var answerBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

const maxPooledAnswer = 256 << 10

// statusOf is the one mapping of domain error kinds to HTTP statuses.
func statusOf(k errs.Kind) int {
	switch k {
	case errs.Invalid:
		return http.StatusBadRequest
	case errs.NotFound:
		return http.StatusNotFound
	case errs.Conflict:
		return http.StatusConflict
	case errs.Unprocessable:
		return http.StatusUnprocessableEntity
	case errs.Forbidden:
		return http.StatusForbidden
	case errs.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// httpError is err as an API error: an *Error as it is, a domain error with
// the status of its kind, anything else a 500 INTERNAL whose message hides
// the details (503 UNAVAILABLE for a cancelled or timed-out request).
func httpError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if de, ok := errs.As(err); ok && de.Kind != errs.Internal {
		return &Error{Status: statusOf(de.Kind), Code: de.Code, Message: de.Message, Field: de.Field}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Status: http.StatusServiceUnavailable, Code: "UNAVAILABLE", Message: "request cancelled or timed out"}
	}
	return &Error{Status: http.StatusInternalServerError, Code: errs.CodeInternal, Message: "internal error"}
}

// WriteError writes err in the API's error shape with the status httpError
// gives it.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	e := httpError(err)
	e = e.clamped()
	if rec, ok := w.(*recorder); ok {
		rec.errCode = e.Code
		rec.cause = err
	}
	if e.Status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		// Unavailable is for now, not for good: say when to try again.
		w.Header().Set("Retry-After", RetryAfterUnavailable)
	}
	WriteJSON(w, e.Status, map[string]*Error{"error": e})
}

// RetryAfterUnavailable is the Retry-After (seconds) of every 503 answer
// that does not set its own.
const RetryAfterUnavailable = "5"

// Handler is an http.Handler that returns its error for WriteError.
type Handler func(w http.ResponseWriter, r *http.Request) error

func (h Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h(w, r); err != nil {
		WriteError(w, r, err)
	}
}

// Decode reads one JSON value of at most maxBytes from r's body into dst. It
// refuses unknown fields, wrong types, trailing data and oversized bodies,
// and, stricter than encoding/json, invalid UTF-8, duplicate keys, keys that
// match a field only when case is ignored and control characters in
// identifiers (see strictCheck), each with an error that names the problem
// and, where known, the field, and that repeats at most a short prefix of
// the input.
func Decode(w http.ResponseWriter, r *http.Request, dst any, maxBytes int64) error {
	if TooLong(r, maxBytes) {
		return tooLarge(maxBytes)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
	if err != nil {
		return readError(err, maxBytes)
	}
	return decodeStrict(b, dst, maxBytes)
}

// ReadBody reads r's body of at most maxBytes, appended to buf (which may
// come from a pool), with Decode's errors for a body too large or not
// readable. A handler with a decoder of its own for the usual shape of its
// body reads it with ReadBody and hands anything else to DecodeRead.
func ReadBody(w http.ResponseWriter, r *http.Request, maxBytes int64, buf []byte) ([]byte, error) {
	if TooLong(r, maxBytes) {
		return buf, tooLarge(maxBytes)
	}
	rd := http.MaxBytesReader(w, r.Body, maxBytes)
	if cap(buf)-len(buf) < 512 {
		buf = slices.Grow(buf, 512)
	}
	for {
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, readError(err, maxBytes)
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

// TooLong says whether r declares a body longer than maxBytes (its
// Content-Length), which a handler refuses before reading a byte of it: a
// client that asked to be told to continue (Expect: 100-continue, which curl
// sends for bodies over 1 MiB) then gets the refusal instead of "100
// Continue", and never sends the body. Read, the body would be cut off at
// the limit and the connection closed while the client was still sending,
// which the client sees as a reset, not as the answer.
func TooLong(r *http.Request, maxBytes int64) bool { return r.ContentLength > maxBytes }

func tooLarge(maxBytes int64) error {
	return Errorf(http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE", "", "body exceeds %d bytes", maxBytes)
}

// DecodeRead decodes a body ReadBody read with maxBytes into dst: exactly
// Decode's checks and errors. dst keeps no reference to b.
func DecodeRead(b []byte, dst any, maxBytes int64) error {
	return decodeStrict(b, dst, maxBytes)
}

func readError(err error, maxBytes int64) error {
	var tooB *http.MaxBytesError
	if errors.As(err, &tooB) {
		return decodeError(err, maxBytes)
	}
	return Errorf(http.StatusBadRequest, "INVALID_JSON", "", "body could not be read: %v", err)
}

// DecodeBytes is Decode for a body already in memory (one event of a
// batch): the same checks, trailing data included.
func DecodeBytes(b []byte, dst any) error {
	return decodeStrict(b, dst, 0)
}

func decodeStrict(b []byte, dst any, maxBytes int64) error {
	if err := strictCheck(b, dst); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err, maxBytes)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return decodeError(err, maxBytes)
		}
		return Errorf(http.StatusBadRequest, "INVALID_JSON", "", "body has data after the JSON value")
	}
	return nil
}

func decodeError(err error, maxBytes int64) error {
	var (
		syn  *json.SyntaxError
		typ  *json.UnmarshalTypeError
		tooB *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooB):
		return tooLarge(maxBytes)
	case errors.Is(err, io.EOF):
		return Errorf(http.StatusBadRequest, "INVALID_JSON", "", "body is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(http.StatusBadRequest, "INVALID_JSON", "", "body ends in the middle of the JSON value")
	case errors.As(err, &syn):
		return Errorf(http.StatusBadRequest, "INVALID_JSON", "", "malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return Errorf(http.StatusBadRequest, "INVALID_JSON", "", "body must be a JSON object, got %s", clipN(typ.Value, 2*maxEcho))
		}
		return Errorf(http.StatusBadRequest, "INVALID_FIELD", clip(field), "field %s must be %s, got %s", clip(field), kindName(typ.Type.Kind().String()), clipN(typ.Value, 2*maxEcho))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return Errorf(http.StatusBadRequest, "UNKNOWN_FIELD", clip(field), "unknown field %q", clip(field))
	}
	return Errorf(http.StatusBadRequest, "INVALID_JSON", "", "%s", clipN(err.Error(), 2*maxEcho))
}

func kindName(k string) string {
	switch k {
	case "int", "int64", "int32", "uint64", "float64", "float32":
		return "a number"
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "true or false"
	}
	return k
}

type claimsKey struct{}

// claimsCtx carries a request's claims: one allocation per request, where
// context.WithValue would make two (its node and the boxed claims).
type claimsCtx struct {
	context.Context
	c auth.Claims
}

// Value answers claimsKey with a pointer to the claims, anything else from
// the parent.
func (c *claimsCtx) Value(key any) any {
	if _, ok := key.(claimsKey); ok {
		return &c.c
	}
	return c.Context.Value(key)
}

func (c *claimsCtx) String() string { return "web.WithClaims" }

// ClaimsFrom returns the verified claims of the request's token.
func ClaimsFrom(ctx context.Context) (auth.Claims, bool) {
	if cc, ok := ctx.(*claimsCtx); ok {
		return cc.c, true
	}
	if c, ok := ctx.Value(claimsKey{}).(*auth.Claims); ok {
		return *c, true
	}
	return auth.Claims{}, false
}

// WithClaims returns ctx carrying c (used by tests and in-process callers).
func WithClaims(ctx context.Context, c auth.Claims) context.Context {
	return &claimsCtx{Context: ctx, c: c}
}

// Authenticator checks bearer tokens.
type Authenticator struct {
	Signer *auth.Signer
	Now    func() time.Time
}

// BearerToken returns the token of an "Authorization: Bearer <token>"
// header; the scheme is case-insensitive (RFC 7235) and may be followed by
// more than one space.
func BearerToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimLeft(tok, " ")
	return tok, tok != ""
}

// Require wraps h so it runs only for a valid token whose role is in roles:
// 401 UNAUTHENTICATED without a valid token, 403 FORBIDDEN for another role.
func (a *Authenticator) Require(h http.Handler, roles ...auth.Role) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := BearerToken(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer`)
			WriteError(w, r, Errorf(http.StatusUnauthorized, "UNAUTHENTICATED", "Authorization", "a bearer token is required; get one from POST /auth/token"))
			return
		}
		now := time.Now
		if a.Now != nil {
			now = a.Now
		}
		c, err := a.Signer.Verify(raw, now())
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			WriteError(w, r, Errorf(http.StatusUnauthorized, "UNAUTHENTICATED", "Authorization", "invalid token: %v", err))
			return
		}
		allowed := false
		for _, role := range roles {
			if c.Role == role {
				allowed = true
				break
			}
		}
		if !allowed {
			WriteError(w, r, Errorf(http.StatusForbidden, "FORBIDDEN", "", "role %s may not call %s %s", c.Role, r.Method, r.URL.Path))
			return
		}
		h.ServeHTTP(w, r.WithContext(WithClaims(r.Context(), c)))
	})
}
