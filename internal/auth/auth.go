// Package auth issues and verifies vendsync access tokens and handles client
// secrets.
//
// Tokens are compact JWTs (HS256) carrying the client id, its role, and for a
// MACHINE client the machine it is bound to. Secrets are 32 random bytes, so a
// single SHA-256 is enough to store them: there is no low-entropy password to
// stretch, and verification stays cheap on the token endpoint.
package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Role is what a client may do.
type Role string

// The roles of seed 000 plus DRIVER (restock staff).
const (
	RoleMachine Role = "MACHINE"
	RoleDriver  Role = "DRIVER"
	RoleOps     Role = "OPS"
	RoleFinance Role = "FINANCE"
	RoleAdmin   Role = "ADMIN"
	// RoleWarehouse runs depots and vans: receipts, transfers, bulk
	// updates, channel syncs (issue 11).
	RoleWarehouse Role = "WAREHOUSE"
	// RoleProcurement runs suppliers and purchase orders (issue 11).
	RoleProcurement Role = "PROCUREMENT"
	// RoleCustomer is a shopper of central's customer API (pre-orders):
	// it sees only its own orders. Its client id is the customer's opaque
	// token; no personal data is kept.
	RoleCustomer Role = "CUSTOMER"
)

// Roles lists every role.
var Roles = []Role{RoleMachine, RoleDriver, RoleOps, RoleFinance, RoleAdmin, RoleWarehouse, RoleProcurement, RoleCustomer}

// EdgeRoles lists the roles a site issues: WAREHOUSE and PROCUREMENT work
// on central's depots, vans and purchase orders only, CUSTOMER on central's
// customer API.
var EdgeRoles = []Role{RoleMachine, RoleDriver, RoleOps, RoleFinance, RoleAdmin}

// ParseRole accepts a role name in any case.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToUpper(strings.TrimSpace(s)))
	for _, k := range Roles {
		if r == k {
			return r, nil
		}
	}
	return "", fmt.Errorf("role %q: must be one of MACHINE, DRIVER, OPS, FINANCE, ADMIN, WAREHOUSE, PROCUREMENT, CUSTOMER", s)
}

// Claims are what a token asserts.
type Claims struct {
	ClientID  string `json:"sub"`
	Role      Role   `json:"role"`
	MachineID string `json:"mid,omitempty"`
	Issuer    string `json:"iss"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp"`
}

// Errors returned by Verify.
var (
	ErrMalformed = errors.New("malformed token")
	ErrSignature = errors.New("bad token signature")
	ErrExpired   = errors.New("token expired")
	ErrIssuer    = errors.New("token issued by another party")
	// ErrLifetime is a validly signed token whose times this signer would
	// never have issued: issued in the future, or living (or left to live)
	// longer than the signer's TTL. Only a holder of the key can make one.
	ErrLifetime = errors.New("token lifetime exceeds what this issuer grants")
)

// ClockSkew is how far a token's issue time may be ahead of the verifier's
// clock (central nodes and a site's processes share a clock only roughly).
const ClockSkew = time.Minute

// Signer issues and verifies tokens with one HMAC key, which Rotate may
// replace while it is in use.
type Signer struct {
	key    atomic.Pointer[[]byte]
	issuer string
	ttl    time.Duration
	cache  verified
}

// NewSigner returns a Signer. key must be at least 32 bytes.
func NewSigner(key []byte, issuer string, ttl time.Duration) (*Signer, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("token key is %d bytes, need at least 32", len(key))
	}
	if ttl <= 0 {
		ttl = time.Hour
	}
	s := &Signer{issuer: issuer, ttl: ttl}
	k := append([]byte(nil), key...)
	s.key.Store(&k)
	return s, nil
}

// Rotate makes key the signing key: tokens signed with the old one are
// refused from now on. It returns an error for a key shorter than 32 bytes.
func (s *Signer) Rotate(key []byte) error {
	if len(key) < 32 {
		return fmt.Errorf("token key is %d bytes, need at least 32", len(key))
	}
	k := append([]byte(nil), key...)
	s.key.Store(&k)
	return nil
}

// KeyIs reports whether key is the current signing key.
func (s *Signer) KeyIs(key []byte) bool { return hmac.Equal(*s.key.Load(), key) }

// TTL is how long issued tokens live.
func (s *Signer) TTL() time.Duration { return s.ttl }

var header = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// Issue signs a token for c, setting its issuer, issue and expiry times.
func (s *Signer) Issue(c Claims, now time.Time) (string, error) {
	c.Issuer = s.issuer
	c.IssuedAt = now.Unix()
	c.ExpiresAt = now.Add(s.ttl).Unix()
	body, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	signing := header + "." + base64.RawURLEncoding.EncodeToString(body)
	return signing + "." + base64.RawURLEncoding.EncodeToString(s.mac(signing)), nil
}

// Verify checks a token's signature, issuer, expiry and lifetime and returns
// its claims. It returns ErrMalformed (also for a token without a subject or
// with an unknown role), ErrSignature, ErrIssuer, ErrExpired or ErrLifetime
// (issued more than ClockSkew ahead of now, or expiring more than the TTL
// after it was issued or after now).
//
// A token whose signature, issuer, subject and role checked out is
// remembered, with the key that checked it, until it expires (see
// verified): a client that sends the same token on every request costs one
// map lookup instead of an HMAC and a JSON decode. Its times are checked
// against now on every call, and a token remembered under a key that
// Rotate has since replaced is checked again (and refused). Whether the
// client may still use it (revocation) is for the caller to decide, every
// time.
func (s *Signer) Verify(token string, now time.Time) (Claims, error) {
	key := s.key.Load()
	c, ok := s.cache.get(token, key)
	if !ok {
		var err error
		if c, err = s.verify(token, *key); err != nil {
			return c, err
		}
		if err := s.checkTimes(c, now); err != nil {
			return c, err
		}
		s.cache.put(token, key, c, now)
		return c, nil
	}
	return c, s.checkTimes(c, now)
}

// checkTimes checks a token's expiry and lifetime against now.
func (s *Signer) checkTimes(c Claims, now time.Time) error {
	if now.Unix() >= c.ExpiresAt {
		return ErrExpired
	}
	ttl, skew := int64(s.ttl/time.Second), int64(ClockSkew/time.Second)
	if c.IssuedAt <= 0 || c.IssuedAt > now.Unix()+skew || c.ExpiresAt-c.IssuedAt > ttl || c.ExpiresAt > now.Unix()+ttl+skew {
		return ErrLifetime
	}
	return nil
}

// verify checks a token's signature (with key), issuer, subject and role
// and decodes its claims.
func (s *Signer) verify(token string, key []byte) (Claims, error) {
	var c Claims
	dot := strings.LastIndexByte(token, '.')
	if dot < 0 || strings.Count(token, ".") != 2 || !tokenChars(token) {
		return c, ErrMalformed
	}
	signing, sig := token[:dot], token[dot+1:]
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil {
		return c, ErrMalformed
	}
	if !hmac.Equal(got, macWith(key, signing)) {
		return c, ErrSignature
	}
	h, payload, _ := strings.Cut(signing, ".")
	if h != header {
		return c, ErrMalformed
	}
	body, err := base64.RawURLEncoding.Strict().DecodeString(payload)
	if err != nil {
		return c, ErrMalformed
	}
	if err := json.Unmarshal(body, &c); err != nil {
		return c, ErrMalformed
	}
	if c.Issuer != s.issuer {
		return c, ErrIssuer
	}
	if c.ClientID == "" || !slices.Contains(Roles, c.Role) {
		return c, ErrMalformed
	}
	return c, nil
}

// tokenChars reports whether t holds only base64url's characters and
// dots. Go's base64 decoder skips \r and \n even when strict, so without
// this a signature with a line break in it was a second spelling of the
// same token, and Verify accepted it (FuzzVerify found it).
func tokenChars(t string) bool {
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

func (s *Signer) mac(msg string) []byte { return macWith(*s.key.Load(), msg) }

func macWith(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// NewKey returns 32 random bytes for a Signer.
func NewKey() []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("auth: crypto/rand failed: " + err.Error())
	}
	return b
}

// NewClientID returns a fresh client id with the given prefix, e.g. "adm_3f9c…".
func NewClientID(prefix string) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic("auth: crypto/rand failed: " + err.Error())
	}
	return fmt.Sprintf("%s_%x", prefix, b)
}

// NewSecret returns a fresh client secret (32 random bytes, base64url).
func NewSecret() string { return base64.RawURLEncoding.EncodeToString(NewKey()) }

// HashSecret returns the stored form of a secret.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// CheckSecret reports whether secret matches a stored hash, in constant time.
func CheckSecret(hash []byte, secret string) bool {
	h := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(hash, h[:]) == 1
}
