package pickup

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

// Verify accepts the token Sign made, and only that spelling of it: a
// token from another key, a changed order, a signature with a line break
// in it or with other trailing bits (the same signature bytes spelled
// otherwise) are refused.
func TestVerify_OnlyTheSignedSpelling(t *testing.T) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	token, code := Sign(key, "site-a", "o-17")
	site, order, got, err := Verify(pub, token)
	if err != nil || site != "site-a" || order != "o-17" || got != code {
		t.Fatalf("Verify(Sign) = %q %q %q %v, want site-a o-17 %q", site, order, got, err, code)
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	forged, _ := Sign(other, "site-a", "o-17")
	i := strings.LastIndexByte(token, '.')
	sig := token[i+1:]
	// The last character of a 64-byte signature carries 4 bits of padding:
	// flipping one of them is the same bytes under a lenient decoder.
	last := strings.IndexByte(alphabet, sig[len(sig)-1])
	loose := token[:i+1] + sig[:len(sig)-1] + string(alphabet[last^1])
	tests := []struct {
		name, token string
		want        error
	}{
		{"another key", forged, ErrSignature},
		{"another order", strings.Replace(token, "o-17", "o-18", 1), ErrSignature},
		{"a line break in the signature", token[:i+5] + "\n" + token[i+5:], ErrMalformed},
		{"a carriage return at the end", token + "\r", ErrMalformed},
		{"other trailing bits", loose, ErrMalformed},
		{"not a token", "VS1.site-a.o-17", ErrMalformed},
	}
	for _, tc := range tests {
		if _, _, _, err := Verify(pub, tc.token); !errors.Is(err, tc.want) {
			t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
		}
	}
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
