// Package webhook delivers alert notifications to subscribers' HTTPS
// endpoints: each body is signed with the subscription's secret
// (HMAC-SHA256 over the timestamp and the body), failures are retried with
// exponential back-off and jitter, and every attempt is logged through the
// Queue that holds the deliveries (central's read model).
//
// Receivers verify a delivery like this (any language):
//
//	header  Vendsync-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>
//	mac   = HMAC-SHA256(key = secret, message = "<t>." + raw body)
//	valid = hex(mac) == v1 (constant-time compare) and |now - t| <= 5 minutes
//
// and dedupe by the Vendsync-Delivery header, which stays the same across
// retries of one delivery.
//
// Outgoing requests are SSRF-guarded: only http and https URLs, no
// redirects, and unless AllowPrivate is set no loopback, private,
// link-local, multicast or unspecified address, checked on the address
// actually dialled (so a DNS name that resolves inward is refused too).
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Headers of every delivery.
const (
	HeaderSignature = "Vendsync-Signature"
	HeaderDelivery  = "Vendsync-Delivery"
	HeaderEvent     = "Vendsync-Event"
)

// DefaultTolerance is how far a signature's timestamp may be from the
// receiver's clock before Verify refuses it (replay window).
const DefaultTolerance = 5 * time.Minute

// Errors returned by Verify.
var (
	ErrNoSignature  = errors.New("no valid signature header")
	ErrBadSignature = errors.New("signature does not match")
	ErrStale        = errors.New("signature timestamp outside tolerance")
)

// NewSecret returns a fresh random subscription secret ("whsec_" and 64 hex
// digits).
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new secret: %w", err)
	}
	return "whsec_" + hex.EncodeToString(b), nil
}

// Sign returns the Vendsync-Signature header value for body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks header (a Vendsync-Signature value) against body and
// secret at now. It returns ErrNoSignature for a malformed header,
// ErrStale when the timestamp is further than tolerance from now (0:
// DefaultTolerance), and ErrBadSignature when no v1 signature matches.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return ErrBadSignature
}
