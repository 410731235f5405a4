package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/auth"
)

func TestRequire_BearerSchemeIsCaseInsensitive(t *testing.T) {
	signer, err := auth.NewSigner(auth.NewKey(), "t", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := signer.Issue(auth.Claims{ClientID: "c", Role: auth.RoleOps}, time.Now())
	a := &Authenticator{Signer: signer}
	h := a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }), auth.RoleOps)
	tests := []struct {
		name, header string
		status       int
	}{
		{"Bearer", "Bearer " + tok, 204},
		{"bearer", "bearer " + tok, 204},
		{"BEARER", "BEARER " + tok, 204},
		{"several spaces", "Bearer   " + tok, 204},
		{"Basic", "Basic " + tok, 401},
		{"no token", "Bearer ", 401},
		{"no space", "Bearer" + tok, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", tt.header)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if got, want := w.Code, tt.status; got != want {
				t.Fatalf("status = %d, want %d (%s)", got, want, w.Body.String())
			}
		})
	}
}

func TestTokenHandler_LargeFormIs413(t *testing.T) {
	signer, err := auth.NewSigner(auth.NewKey(), "t", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	h := TokenHandler(signer, time.Now, 1<<10, func(ctx context.Context, id, secret string) (auth.Claims, error) {
		return auth.Claims{}, ErrBadCredentials
	}, TokenGuard{})
	form := url.Values{"client_id": {"x"}, "client_secret": {strings.Repeat("s", 4<<10)}}.Encode()
	r := httptest.NewRequest(http.MethodPost, "/auth/token", strings.NewReader(form))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if got, want := w.Code, http.StatusRequestEntityTooLarge; got != want {
		t.Fatalf("status = %d, want %d (%s)", got, want, w.Body.String())
	}
	if !strings.Contains(w.Body.String(), "BODY_TOO_LARGE") {
		t.Fatalf("body = %s, want BODY_TOO_LARGE", w.Body.String())
	}
}

// tokenServer serves TokenHandler with one client "good"/"right" and lim.
func tokenServer(t *testing.T, lim RateLimits, failed func(context.Context, AuthFailure)) http.Handler {
	t.Helper()
	signer, err := auth.NewSigner(auth.NewKey(), "t", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return TokenHandler(signer, time.Now, 1<<10, func(ctx context.Context, id, secret string) (auth.Claims, error) {
		if id == "good" && secret == "right" {
			return auth.Claims{ClientID: id, Role: auth.RoleOps}, nil
		}
		return auth.Claims{}, ErrBadCredentials
	}, TokenGuard{Limiter: NewLimiter(lim, nil), Failed: failed})
}

func askToken(h http.Handler, ip, id, secret string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/auth/token", strings.NewReader(`{"client_id":"`+id+`","client_secret":"`+secret+`"}`))
	r.RemoteAddr = ip + ":5000"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestTokenHandler_LockoutAfterRepeatedFailures: after LockoutAfter wrong
// secrets the right one is refused too (429 LOCKED_OUT with Retry-After),
// from any address; every failure and the lockout are reported.
func TestTokenHandler_LockoutAfterRepeatedFailures(t *testing.T) {
	lim := DefaultRateLimits()
	lim.FailuresPerIP = Rate{} // this test is about the per-client lockout
	var failures []AuthFailure
	h := tokenServer(t, lim, func(_ context.Context, f AuthFailure) { failures = append(failures, f) })
	for i := range lim.LockoutAfter {
		if w := askToken(h, "10.0.0.1", "good", "wrong"); w.Code != 401 {
			t.Fatalf("failure %d: %d", i, w.Code)
		}
	}
	for _, ip := range []string{"10.0.0.1", "10.0.0.2"} {
		w := askToken(h, ip, "good", "right")
		if w.Code != http.StatusTooManyRequests || !strings.Contains(w.Body.String(), "LOCKED_OUT") {
			t.Fatalf("right secret from %s after %d failures: %d %s, want 429 LOCKED_OUT", ip, lim.LockoutAfter, w.Code, w.Body.String())
		}
		if ra := w.Header().Get("Retry-After"); ra == "" || ra == "0" {
			t.Fatalf("Retry-After = %q", ra)
		}
	}
	if got, want := len(failures), lim.LockoutAfter+1; got != want {
		t.Fatalf("reported %d failures, want %d (each failure and the lockout)", got, want)
	}
	if failures[len(failures)-1].Reason != "LOCKED_OUT" || failures[0].RemoteIP != "10.0.0.1" {
		t.Fatalf("failures = %+v", failures)
	}
	// Another client is not affected.
	if w := askToken(h, "10.0.0.1", "other", "x"); w.Code != 401 {
		t.Fatalf("another client: %d", w.Code)
	}
}

func TestTokenHandler_SuccessResetsFailures(t *testing.T) {
	lim := DefaultRateLimits()
	lim.FailuresPerIP = Rate{}
	h := tokenServer(t, lim, nil)
	for range 3 {
		for range lim.LockoutAfter - 1 {
			askToken(h, "10.0.0.1", "good", "wrong")
		}
		if w := askToken(h, "10.0.0.1", "good", "right"); w.Code != 200 {
			t.Fatalf("right secret after %d failures: %d", lim.LockoutAfter-1, w.Code)
		}
	}
}

// TestTokenHandler_FailuresPerIP: one address guessing secrets for many
// client ids is slowed to the failure rate; another address is not.
func TestTokenHandler_FailuresPerIP(t *testing.T) {
	lim := DefaultRateLimits()
	lim.FailuresPerIP = Rate{PerSecond: 0.01, Burst: 5}
	h := tokenServer(t, lim, nil)
	for i := range 5 {
		if w := askToken(h, "10.0.0.1", fmt.Sprintf("c%d", i), "x"); w.Code != 401 {
			t.Fatalf("guess %d: %d", i, w.Code)
		}
	}
	w := askToken(h, "10.0.0.1", "good", "right")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("after 5 failures from one address: %d, want 429 with Retry-After", w.Code)
	}
	if w := askToken(h, "10.0.0.2", "good", "right"); w.Code != 200 {
		t.Fatalf("another address: %d", w.Code)
	}
}

func TestTokenHandler_RequestsPerIP(t *testing.T) {
	lim := DefaultRateLimits()
	lim.TokenPerIP = Rate{PerSecond: 0.01, Burst: 3}
	h := tokenServer(t, lim, nil)
	for range 3 {
		if w := askToken(h, "10.0.0.1", "good", "right"); w.Code != 200 {
			t.Fatalf("within the burst: %d", w.Code)
		}
	}
	if w := askToken(h, "10.0.0.1", "good", "right"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("past the burst: %d, want 429", w.Code)
	}
}

func TestLimiter_WritesPerClientAndIP(t *testing.T) {
	lim := DefaultRateLimits()
	lim.WritesPerClient = Rate{PerSecond: 0.01, Burst: 2}
	lim.WritesPerIP = Rate{PerSecond: 0.01, Burst: 3}
	h := NewLimiter(lim, nil).Writes(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	do := func(method, client, ip string) int {
		r := httptest.NewRequest(method, "/x", nil)
		r.RemoteAddr = ip + ":1"
		r = r.WithContext(WithClaims(r.Context(), auth.Claims{ClientID: client}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for _, tt := range []struct {
		method, client, ip string
		want               int
	}{
		{"POST", "a", "1.1.1.1", 204},
		{"PATCH", "a", "1.1.1.1", 204},
		{"POST", "a", "1.1.1.1", 429}, // client a spent
		{"GET", "a", "1.1.1.1", 204},  // reads pass
		{"POST", "b", "1.1.1.1", 204}, // third write from the address
		{"POST", "c", "1.1.1.1", 429}, // address spent
		{"POST", "c", "2.2.2.2", 204},
	} {
		if got := do(tt.method, tt.client, tt.ip); got != tt.want {
			t.Fatalf("%s by %s from %s: %d, want %d", tt.method, tt.client, tt.ip, got, tt.want)
		}
	}
}

// TestTokenHandler_BodyShapes: a form, JSON, and JSON labelled as a form
// (what curl -d '{…}' sends) all get a token; a bad form or bad JSON is
// refused naming what is wrong.
func TestTokenHandler_BodyShapes(t *testing.T) {
	h := tokenServer(t, RateLimits{}, nil)
	const form, json = "application/x-www-form-urlencoded", "application/json"
	tests := []struct {
		name, contentType, body string
		status                  int
		code                    string
	}{
		{"form", form, "client_id=good&client_secret=right&grant_type=client_credentials", 200, ""},
		{"json", json, `{"client_id":"good","client_secret":"right","grant_type":"client_credentials"}`, 200, ""},
		{"json without a type", "", `{"client_id":"good","client_secret":"right"}`, 200, ""},
		{"json sent as a form", form, ` {"client_id":"good","client_secret":"right","grant_type":"client_credentials"}`, 200, ""},
		{"wrong secret as a form", form, "client_id=good&client_secret=wrong", 401, "INVALID_CLIENT"},
		{"empty form", form, "", 400, "VALIDATION_FAILED"},
		{"bad form", form, "client_id=%zz", 400, "INVALID_FORM"},
		{"bad json as a form", form, `{"client_id":`, 400, "INVALID_JSON"},
		{"unknown field", json, `{"client_id":"good","client_secret":"right","scope":"x"}`, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/auth/token", strings.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d (%s)", w.Code, tt.status, w.Body.String())
			}
			if tt.status == 200 && !strings.Contains(w.Body.String(), `"access_token"`) {
				t.Fatalf("body = %s, want a token", w.Body.String())
			}
			if tt.code != "" && !strings.Contains(w.Body.String(), tt.code) {
				t.Fatalf("body = %s, want %s", w.Body.String(), tt.code)
			}
		})
	}
}
