package auth

import (
	"errors"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary tokens to Verify: it never panics, it returns
// only its documented errors, and the only token it accepts is the one
// Issue made (no second spelling of a signature or payload passes, and no
// forged claims do).
func FuzzVerify(f *testing.F) {
	now := time.Unix(1_700_000_000, 0)
	key := []byte("0123456789abcdef0123456789abcdef")
	s, err := NewSigner(key, "site-a", time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	good, err := s.Issue(Claims{ClientID: "mch_1", Role: RoleMachine, MachineID: "VM_1"}, now)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good + "=")
	f.Add(good[:len(good)-1])
	f.Add("a.b.c")
	f.Add("")
	f.Add("..")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := s.Verify(tok, now)
		if err != nil {
			for _, known := range []error{ErrMalformed, ErrSignature, ErrIssuer, ErrExpired, ErrLifetime} {
				if errors.Is(err, known) {
					return
				}
			}
			t.Fatalf("Verify(%q): undocumented error %v", tok, err)
		}
		if tok != good {
			t.Fatalf("Verify accepted %q, which Issue did not make (claims %+v)", tok, c)
		}
	})
}
