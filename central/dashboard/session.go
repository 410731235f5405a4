package dashboard

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vendsync/vendsync/internal/auth"
)

// SessionBucket is the key-value bucket holding dashboard sessions, shared
// by every central node. A key is the SHA-256 of a session's cookie value,
// so reading the bucket does not give a session away; entries expire with
// the bucket's TTL.
const SessionBucket = "HQ_SESSIONS"

// Cookie names.
const (
	sessionCookie = "vs_session"
	loginCookie   = "vs_login" // the sign-in form's CSRF token (double submit)
)

// errNoSession is returned for a missing, unknown, expired or revoked
// session.
var errNoSession = errors.New("no session")

// session is a signed-in HQ client.
type session struct {
	ClientID string    `json:"clientId"`
	Role     auth.Role `json:"role"`
	Name     string    `json:"name"`
	// CSRF is the token every state-changing request of the session must
	// carry (form field "csrf" or header X-CSRF-Token).
	CSRF    string    `json:"csrf"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`

	key string // the bucket key
}

// sessions stores sessions in SessionBucket.
type sessions struct {
	kv  jetstream.KeyValue
	ttl time.Duration
	now func() time.Time
}

func openSessions(ctx context.Context, js jetstream.JetStream, replicas int, ttl time.Duration, now func() time.Time) (*sessions, error) {
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      SessionBucket,
		Description: "HQ dashboard sessions (keys are hashes of the cookies)",
		History:     1,
		TTL:         ttl,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
	if errors.Is(err, jetstream.ErrBucketExists) {
		// Another node made it, perhaps with another TTL: each session
		// carries its own expiry, so use the bucket as it is.
		kv, err = js.KeyValue(ctx, SessionBucket)
	}
	if err != nil {
		return nil, fmt.Errorf("session bucket: %w", err)
	}
	return &sessions{kv: kv, ttl: ttl, now: now}, nil
}

// randomToken returns 32 random bytes, base64url.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("dashboard: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func sessionKey(token string) string {
	h := sha256.Sum256([]byte(token))
	return "s." + hex.EncodeToString(h[:])
}

// create starts a session for a client and returns its cookie value.
func (s *sessions) create(ctx context.Context, clientID string, role auth.Role, name string) (string, session, error) {
	now := s.now().UTC()
	tok := randomToken()
	sess := session{ClientID: clientID, Role: role, Name: name, CSRF: randomToken(), Created: now, Expires: now.Add(s.ttl), key: sessionKey(tok)}
	b, err := json.Marshal(sess)
	if err != nil {
		return "", session{}, fmt.Errorf("encode session: %w", err)
	}
	if _, err := s.kv.Create(ctx, sess.key, b); err != nil {
		return "", session{}, fmt.Errorf("store session: %w", err)
	}
	return tok, sess, nil
}

// get returns the session of a cookie value, or errNoSession.
func (s *sessions) get(ctx context.Context, token string) (session, error) {
	if len(token) != 43 { // 32 bytes, base64url without padding
		return session{}, errNoSession
	}
	key := sessionKey(token)
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return session{}, errNoSession
	}
	if err != nil {
		return session{}, fmt.Errorf("read session: %w", err)
	}
	var sess session
	if err := json.Unmarshal(e.Value(), &sess); err != nil {
		return session{}, fmt.Errorf("decode session: %w", err)
	}
	if !s.now().Before(sess.Expires) {
		return session{}, errNoSession
	}
	sess.key = key
	return sess, nil
}

// end deletes a session: every node refuses its cookie from now on.
func (s *sessions) end(ctx context.Context, sess session) error {
	if err := s.kv.Purge(ctx, sess.key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}

func clearCookie(w http.ResponseWriter, r *http.Request, name string) { setCookie(w, r, name, "", -1) }

// tokenEqual compares two secrets in constant time; empty never matches.
func tokenEqual(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// sameOrigin refuses a cross-site request: its Origin, when sent, must be
// this host; else its Sec-Fetch-Site, when sent, must not be cross-site.
// Browsers send one or the other with every POST; the CSRF token is the
// check that does not depend on them.
func sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" {
		scheme := "http://"
		if r.TLS != nil {
			scheme = "https://"
		}
		return o == scheme+r.Host
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	return false
}

// csrfValue is the CSRF token a request carries.
func csrfValue(r *http.Request) string {
	if v := r.Header.Get("X-CSRF-Token"); v != "" {
		return v
	}
	return r.PostFormValue("csrf")
}

// limiter bounds failed sign-ins per client address: after n in a window,
// the address must wait until the oldest leaves the window.
type limiter struct {
	n      int
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	seen map[string][]time.Time
}

func newLimiter(n int, window time.Duration, now func() time.Time) *limiter {
	return &limiter{n: n, window: window, now: now, seen: map[string][]time.Time{}}
}

// recent returns addr's failures within the window. The caller holds l.mu.
func (l *limiter) recent(addr string) []time.Time {
	cut := l.now().Add(-l.window)
	ts := l.seen[addr]
	i := 0
	for i < len(ts) && ts[i].Before(cut) {
		i++
	}
	if ts = ts[i:]; len(ts) == 0 {
		delete(l.seen, addr)
		return nil
	}
	l.seen[addr] = ts
	return ts
}

// blocked reports whether addr has used up its failures.
func (l *limiter) blocked(addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(addr)) >= l.n
}

// fail records a failed sign-in from addr.
func (l *limiter) fail(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.seen) > 10000 {
		for k := range l.seen {
			l.recent(k)
		}
	}
	l.seen[addr] = append(l.recent(addr), l.now())
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// safeNext is where to go after sign-in: a path under /ui/, never another
// site.
func safeNext(v string) string {
	if !strings.HasPrefix(v, Prefix) || strings.HasPrefix(v, Prefix+"/") || strings.ContainsAny(v, "\\\r\n") ||
		strings.HasPrefix(v, Prefix+"login") || strings.HasPrefix(v, Prefix+"logout") {
		return Prefix
	}
	return v
}
