package auth

import (
	"errors"
	"testing"
	"time"
)

// A remembered token is still refused once it expires, and a token is not
// remembered when it was already expired.
func TestSigner_VerifyCachedExpiry(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s, err := NewSigner(NewKey(), "site-a", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Issue(Claims{ClientID: "m1", Role: RoleMachine, MachineID: "VM_1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // the second call is answered from the cache
		c, err := s.Verify(tok, now.Add(time.Minute))
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if c.ClientID != "m1" || c.Role != RoleMachine || c.MachineID != "VM_1" {
			t.Fatalf("call %d: claims = %+v", i, c)
		}
	}
	if _, ok := s.cache.get(tok, s.key.Load()); !ok {
		t.Fatal("verified token not remembered")
	}
	if _, err := s.Verify(tok, now.Add(time.Hour)); !errors.Is(err, ErrExpired) {
		t.Fatalf("remembered token after expiry: err = %v, want ErrExpired", err)
	}

	late, _ := s.Issue(Claims{ClientID: "m2", Role: RoleMachine}, now)
	if _, err := s.Verify(late, now.Add(2*time.Hour)); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired token: err = %v, want ErrExpired", err)
	}
	if _, ok := s.cache.get(late, s.key.Load()); ok {
		t.Fatal("an expired token was remembered")
	}
}

// Only the exact bytes verified hit: a token with the same claims and a
// changed signature is checked, and refused.
func TestSigner_VerifyCachedTampered(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s, _ := NewSigner(NewKey(), "site-a", time.Hour)
	tok, _ := s.Issue(Claims{ClientID: "m1", Role: RoleAdmin}, now)
	if _, err := s.Verify(tok, now); err != nil {
		t.Fatal(err)
	}
	bad := tok[:len(tok)-2] + "AA"
	if bad == tok {
		bad = tok[:len(tok)-2] + "BB"
	}
	if _, err := s.Verify(bad, now); !errors.Is(err, ErrSignature) && !errors.Is(err, ErrMalformed) {
		t.Fatalf("tampered token: err = %v, want a signature error", err)
	}
}

// A token remembered under a key that Rotate replaced is refused at once.
func TestSigner_VerifyCachedRotated(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s, _ := NewSigner(NewKey(), "site-a", time.Hour)
	tok, _ := s.Issue(Claims{ClientID: "m1", Role: RoleAdmin}, now)
	if _, err := s.Verify(tok, now); err != nil {
		t.Fatal(err)
	}
	if err := s.Rotate(NewKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(tok, now); !errors.Is(err, ErrSignature) {
		t.Fatalf("token of the old key after Rotate: err = %v, want ErrSignature", err)
	}
}

// The cache stays bounded: when full, expired tokens go first, then all.
func TestVerified_Bounded(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	var v verified
	for i := range maxCached {
		v.put(string(rune(i+1))+"old", nil, Claims{ExpiresAt: now.Unix()}, now) // expired as of now
	}
	v.put("live", nil, Claims{ExpiresAt: now.Unix() + 60}, now)
	if got, want := len(v.m), 1; got != want {
		t.Fatalf("after dropping expired: %d entries, want %d", got, want)
	}
	for i := range 2 * maxCached {
		v.put(string(rune(i+1))+"live", nil, Claims{ExpiresAt: now.Unix() + 60}, now)
		if len(v.m) > maxCached {
			t.Fatalf("cache holds %d entries, bound is %d", len(v.m), maxCached)
		}
	}
}

// BenchmarkSigner_Verify compares a token checked in full (HMAC, base64 and
// JSON) with one remembered from an earlier call.
func BenchmarkSigner_Verify(b *testing.B) {
	now := time.Now()
	s, _ := NewSigner(NewKey(), "site-a", time.Hour)
	tok, _ := s.Issue(Claims{ClientID: "adm_0123456789abcdef", Role: RoleAdmin}, now)
	b.Run("full", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.verify(tok, *s.key.Load()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("remembered", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Verify(tok, now); err != nil {
				b.Fatal(err)
			}
		}
	})
}
