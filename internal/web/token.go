package web

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/internal/auth"
)

// ErrBadCredentials is what an Authenticate function returns (wrapped or
// not) for an unknown, revoked or wrong-secret client.
var ErrBadCredentials = errors.New("bad client credentials")

// TokenGuard throttles POST /auth/token and reports its failures.
type TokenGuard struct {
	// Limiter bounds requests and failures per address and locks a client
	// id out after repeated wrong secrets (nil: no limits).
	Limiter *Limiter
	// Failed is told of every refused credential and lockout (after the
	// answer is decided), e.g. to write it to an audit log (nil: logged
	// only).
	Failed func(ctx context.Context, f AuthFailure)
	// Log gets one line per refused credential, lockout and 429.
	Log zerolog.Logger
}

// AuthFailure is a refused token request.
type AuthFailure struct {
	ClientID string // as sent (clipped)
	RemoteIP string
	// Reason is BAD_CREDENTIALS (unknown client, wrong secret or revoked)
	// or LOCKED_OUT (this failure locked the client id out).
	Reason string
}

// TokenHandler serves POST /auth/token (OAuth 2 client credentials, JSON or
// form-encoded) for any API: authenticate checks the client and returns the
// claims to sign; its ErrBadCredentials answers 401 INVALID_CLIENT without
// saying which part was wrong. guard's limiter answers 429 (RATE_LIMITED or
// LOCKED_OUT, with Retry-After) before any secret is checked.
func TokenHandler(signer *auth.Signer, now func() time.Time, maxBody int64,
	authenticate func(ctx context.Context, clientID, secret string) (auth.Claims, error), guard TokenGuard) Handler {
	log := guard.Log.With().Str("component", "auth").Logger()
	return func(w http.ResponseWriter, r *http.Request) error {
		var req struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
			GrantType    string `json:"grant_type"`
		}
		body, err := ReadBody(w, r, maxBody, nil)
		if err != nil {
			return err
		}
		form := strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
		if t := bytes.TrimLeft(body, " \t\r\n"); form && (len(t) == 0 || t[0] != '{') {
			vals, err := url.ParseQuery(string(body))
			if err != nil {
				return Errorf(http.StatusBadRequest, "INVALID_FORM", "", "malformed form body: %v", err)
			}
			req.ClientID, req.ClientSecret, req.GrantType = vals.Get("client_id"), vals.Get("client_secret"), vals.Get("grant_type")
		} else if err := DecodeRead(body, &req, maxBody); err != nil {
			// JSON, whatever its Content-Type says: curl -d '{…}' labels
			// a JSON body as a form.
			return err
		}
		if req.GrantType != "" && req.GrantType != "client_credentials" {
			return Invalid("grant_type", "grant_type %q: only client_credentials is supported", req.GrantType)
		}
		if req.ClientID == "" {
			return Invalid("client_id", "client_id is required")
		}
		if req.ClientSecret == "" {
			return Invalid("client_secret", "client_secret is required")
		}
		ip := RemoteIP(r)
		if guard.Limiter != nil {
			if tm := guard.Limiter.AllowToken(ip, req.ClientID); tm != nil {
				log.Info().Str("client", clip(req.ClientID)).Str("remote", ip).Str("code", tm.Code).Msg("token request throttled")
				tm.write(w, r)
				return nil
			}
		}
		c, err := authenticate(r.Context(), req.ClientID, req.ClientSecret)
		if errors.Is(err, ErrBadCredentials) {
			f := AuthFailure{ClientID: clip(req.ClientID), RemoteIP: ip, Reason: "BAD_CREDENTIALS"}
			locked := guard.Limiter != nil && guard.Limiter.TokenFailed(ip, req.ClientID)
			log.Warn().Str("client", f.ClientID).Str("remote", ip).Bool("lockedOut", locked).Msg("token request refused: bad credentials")
			if guard.Failed != nil {
				guard.Failed(r.Context(), f)
				if locked {
					f.Reason = "LOCKED_OUT"
					guard.Failed(r.Context(), f)
				}
			}
			return Errorf(http.StatusUnauthorized, "INVALID_CLIENT", "client_id", "unknown client, wrong secret or revoked credentials")
		}
		if err != nil {
			return err
		}
		if guard.Limiter != nil {
			guard.Limiter.TokenSucceeded(req.ClientID)
		}
		tok, err := signer.Issue(c, now())
		if err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "no-store")
		WriteJSON(w, http.StatusOK, map[string]any{
			"access_token": tok, "token_type": "Bearer", "expires_in": int(signer.TTL().Seconds()), "role": c.Role,
		})
		return nil
	}
}
