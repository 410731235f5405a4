package web

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Rate is a token bucket: Burst requests at once, refilled at PerSecond.
// The zero Rate is unlimited.
type Rate struct {
	PerSecond float64
	Burst     int
}

func (r Rate) unlimited() bool { return r.PerSecond <= 0 }

// RateLimits bound how fast one client or one address may use an API, and
// lock a client id out after repeated wrong secrets.
type RateLimits struct {
	// TokenPerIP bounds POST /auth/token requests from one address.
	TokenPerIP Rate
	// FailuresPerIP bounds failed token requests from one address: once
	// spent, every token request from it waits for the bucket to refill.
	FailuresPerIP Rate
	// WritesPerClient bounds writes (POST, PUT, PATCH, DELETE) made with
	// one client's tokens; WritesPerIP those from one address.
	WritesPerClient Rate
	WritesPerIP     Rate
	// LockoutAfter consecutive failed token requests for one client id
	// lock it for LockoutFor, even with the right secret (0: never).
	LockoutAfter int
	LockoutFor   time.Duration
}

// DefaultRateLimits are generous for machines, drivers and HQ tools and
// tight for guessing: 50 token requests at once per address (10/s after),
// 20 failures per address (then one per 5 s), 1,000 writes at once per
// client (200/s after) and 2,000 per address (1,000/s), and a client id
// locked for 15 minutes after 10 wrong secrets in a row.
func DefaultRateLimits() RateLimits {
	return RateLimits{
		TokenPerIP:      Rate{PerSecond: 10, Burst: 50},
		FailuresPerIP:   Rate{PerSecond: 0.2, Burst: 20},
		WritesPerClient: Rate{PerSecond: 200, Burst: 1000},
		WritesPerIP:     Rate{PerSecond: 1000, Burst: 2000},
		LockoutAfter:    10,
		LockoutFor:      15 * time.Minute,
	}
}

// NoRateLimits turns every limit off (benchmarks, load tests).
func NoRateLimits() RateLimits { return RateLimits{} }

// Validate names the first bad limit.
func (l RateLimits) Validate() error {
	for name, r := range map[string]Rate{"token per ip": l.TokenPerIP, "failures per ip": l.FailuresPerIP,
		"writes per client": l.WritesPerClient, "writes per ip": l.WritesPerIP} {
		if !r.unlimited() && r.Burst < 1 {
			return fmt.Errorf("rate limit %s: burst must be at least 1", name)
		}
	}
	if l.LockoutAfter < 0 {
		return errors.New("lockout after: must not be negative")
	}
	if l.LockoutAfter > 0 && l.LockoutFor <= 0 {
		return errors.New("lockout duration must be positive")
	}
	return nil
}

// Limiter enforces RateLimits in memory (each node its own). The zero
// value is not usable; use NewLimiter. It is safe for concurrent use.
type Limiter struct {
	lim RateLimits
	now func() time.Time

	mu       sync.Mutex
	buckets  map[bucketKey]*tokenBucket
	failures map[string]*failure // by client id
}

type bucketKey struct {
	kind string
	key  string
}

type tokenBucket struct {
	tokens float64
	at     time.Time
}

type failure struct {
	count       int
	lockedUntil time.Time
}

// maxKeys bounds the limiter's memory: past it, idle buckets and expired
// lockouts are dropped.
const maxKeys = 50_000

// NewLimiter returns a Limiter for lim; now defaults to time.Now.
func NewLimiter(lim RateLimits, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{lim: lim, now: now, buckets: map[bucketKey]*tokenBucket{}, failures: map[string]*failure{}}
}

// take spends one token of (kind, key)'s bucket at rate r, or says how
// long until one is available.
func (l *Limiter) take(kind, key string, r Rate) (time.Duration, bool) {
	if r.unlimited() {
		return 0, true
	}
	now := l.now()
	k := bucketKey{kind, key}
	b, ok := l.buckets[k]
	if !ok {
		if len(l.buckets) >= maxKeys {
			l.sweep(now)
		}
		b = &tokenBucket{tokens: float64(r.Burst), at: now}
		l.buckets[k] = b
	}
	b.tokens = math.Min(float64(r.Burst), b.tokens+now.Sub(b.at).Seconds()*r.PerSecond)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) / r.PerSecond * float64(time.Second)), false
}

// peek reports whether (kind, key)'s bucket has a token, without spending it.
func (l *Limiter) peek(kind, key string, r Rate) (time.Duration, bool) {
	if r.unlimited() {
		return 0, true
	}
	b, ok := l.buckets[bucketKey{kind, key}]
	if !ok {
		return 0, true
	}
	tokens := math.Min(float64(r.Burst), b.tokens+l.now().Sub(b.at).Seconds()*r.PerSecond)
	if tokens >= 1 {
		return 0, true
	}
	return time.Duration((1 - tokens) / r.PerSecond * float64(time.Second)), false
}

// sweep drops buckets idle long enough to be full again and lockouts that
// ended; called with mu held when the maps grow large.
func (l *Limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if now.Sub(b.at) > time.Hour {
			delete(l.buckets, k)
		}
	}
	for id, f := range l.failures {
		if now.After(f.lockedUntil) {
			delete(l.failures, id)
		}
	}
}

// TooMany is the 429 a limiter answers: code RATE_LIMITED or LOCKED_OUT,
// with how long to wait (the Retry-After header).
type TooMany struct {
	*Error
	RetryAfter time.Duration
}

func tooMany(code string, wait time.Duration, format string, args ...any) *TooMany {
	return &TooMany{Error: Errorf(http.StatusTooManyRequests, code, "", format, args...), RetryAfter: wait}
}

// write sets Retry-After (whole seconds, at least 1) and writes the error.
func (t *TooMany) write(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(max(t.RetryAfter, time.Second).Seconds()))))
	WriteError(w, r, t.Error)
}

// AllowToken decides whether a token request from ip for clientID may be
// checked at all: nil, or a *TooMany when the address is over its request
// or failure budget or the client id is locked out.
func (l *Limiter) AllowToken(ip, clientID string) *TooMany {
	l.mu.Lock()
	defer l.mu.Unlock()
	if f, ok := l.failures[clientID]; ok && l.now().Before(f.lockedUntil) {
		return tooMany("LOCKED_OUT", f.lockedUntil.Sub(l.now()), "client %s is locked out after %d failed token requests", clip(clientID), l.lim.LockoutAfter)
	}
	if wait, ok := l.peek("fail-ip", ip, l.lim.FailuresPerIP); !ok {
		return tooMany("RATE_LIMITED", wait, "too many failed token requests from this address")
	}
	if wait, ok := l.take("token-ip", ip, l.lim.TokenPerIP); !ok {
		return tooMany("RATE_LIMITED", wait, "too many token requests from this address")
	}
	return nil
}

// TokenFailed records a failed token request; it reports whether this
// failure locked clientID out.
func (l *Limiter) TokenFailed(ip, clientID string) (locked bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.take("fail-ip", ip, l.lim.FailuresPerIP)
	if l.lim.LockoutAfter <= 0 {
		return false
	}
	f, ok := l.failures[clientID]
	if !ok {
		if len(l.failures) >= maxKeys {
			l.sweep(l.now())
		}
		f = &failure{}
		l.failures[clientID] = f
	}
	f.count++
	if f.count >= l.lim.LockoutAfter {
		f.count = 0
		f.lockedUntil = l.now().Add(l.lim.LockoutFor)
		return true
	}
	return false
}

// TokenSucceeded forgets clientID's failures.
func (l *Limiter) TokenSucceeded(clientID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, clientID)
}

// Writes wraps h (behind Require, so claims are known) to answer 429 to a
// write once its client or address is over its budget. Reads pass.
func (l *Limiter) Writes(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			h.ServeHTTP(w, r)
			return
		}
		c, _ := ClaimsFrom(r.Context())
		l.mu.Lock()
		wait, ok := l.take("write-client", c.ClientID, l.lim.WritesPerClient)
		if ok {
			wait, ok = l.take("write-ip", RemoteIP(r), l.lim.WritesPerIP)
		}
		l.mu.Unlock()
		if !ok {
			tooMany("RATE_LIMITED", wait, "too many writes; retry after the time in Retry-After").write(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// RemoteIP is the address a request came from (the peer, never a header a
// client could set).
func RemoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
