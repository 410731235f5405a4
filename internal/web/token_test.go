package web

import (
	"context"
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
	})
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
