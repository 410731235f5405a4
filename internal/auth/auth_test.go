package auth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSigner_IssueVerify(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s, err := NewSigner(NewKey(), "site-a", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Issue(Claims{ClientID: "m1", Role: RoleMachine, MachineID: "VM_1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Verify(tok, now.Add(59*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if c.ClientID != "m1" || c.Role != RoleMachine || c.MachineID != "VM_1" {
		t.Fatalf("claims = %+v", c)
	}
	other, _ := NewSigner(NewKey(), "site-a", time.Hour)
	otherIssuer, _ := NewSigner(*s.key.Load(), "site-b", time.Hour)
	parts := strings.Split(tok, ".")
	tests := []struct {
		name  string
		s     *Signer
		token string
		at    time.Time
		want  error
	}{
		{"expired", s, tok, now.Add(time.Hour), ErrExpired},
		{"other key", other, tok, now, ErrSignature},
		{"other issuer", otherIssuer, tok, now, ErrIssuer},
		{"garbage", s, "abc", now, ErrMalformed},
		{"tampered payload", s, parts[0] + "." + parts[1] + "x." + parts[2], now, ErrSignature},
		{"bad signature encoding", s, parts[0] + "." + parts[1] + ".!!", now, ErrMalformed},
		// base64 decoding skips line breaks: the same signature spelled
		// with one must not pass as the token.
		{"line break in the signature", s, parts[0] + "." + parts[1] + "." + parts[2][:3] + "\n" + parts[2][3:], now, ErrMalformed},
		{"carriage return at the end", s, tok + "\r", now, ErrMalformed},
		{"space in the payload", s, parts[0] + "." + parts[1][:4] + " " + parts[1][4:] + "." + parts[2], now, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.s.Verify(tt.token, tt.at); !errors.Is(err, tt.want) {
				t.Fatalf("Verify err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	sec := NewSecret()
	h := HashSecret(sec)
	if !CheckSecret(h, sec) {
		t.Fatal("CheckSecret rejected the right secret")
	}
	if CheckSecret(h, sec+"x") {
		t.Fatal("CheckSecret accepted a wrong secret")
	}
	if NewSecret() == sec {
		t.Fatal("two secrets are equal")
	}
}

func TestParseRole(t *testing.T) {
	if r, err := ParseRole("driver"); err != nil || r != RoleDriver {
		t.Fatalf("ParseRole(driver) = %v, %v", r, err)
	}
	if _, err := ParseRole("root"); err == nil || !strings.Contains(err.Error(), "root") {
		t.Fatalf("ParseRole(root) err = %v", err)
	}
}

func TestNewSigner_ShortKey(t *testing.T) {
	if _, err := NewSigner([]byte("short"), "x", time.Hour); err == nil {
		t.Fatal("accepted a 5-byte key")
	}
}

// forge signs arbitrary claims with s's key, as someone holding the key
// (or a bug in Issue) could.
func forge(t *testing.T, s *Signer, c Claims) string {
	t.Helper()
	body, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	signing := header + "." + base64.RawURLEncoding.EncodeToString(body)
	return signing + "." + base64.RawURLEncoding.EncodeToString(s.mac(signing))
}

func TestSigner_VerifyCapsLifetime(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s, err := NewSigner(NewKey(), "site-a", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	year3000 := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	tests := []struct {
		name string
		c    Claims
		want error
	}{
		{"issued now, lives the TTL", Claims{ClientID: "a", Role: RoleAdmin, Issuer: "site-a", IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()}, nil},
		{"dated year 3000", Claims{ClientID: "a", Role: RoleAdmin, Issuer: "site-a", IssuedAt: now.Unix(), ExpiresAt: year3000}, ErrLifetime},
		{"issued in the past, expires far ahead", Claims{ClientID: "a", Role: RoleAdmin, Issuer: "site-a", IssuedAt: now.Add(-time.Hour).Unix(), ExpiresAt: now.Add(10 * time.Hour).Unix()}, ErrLifetime},
		{"issued in the future", Claims{ClientID: "a", Role: RoleAdmin, Issuer: "site-a", IssuedAt: now.Add(time.Hour).Unix(), ExpiresAt: now.Add(90 * time.Minute).Unix()}, ErrLifetime},
		{"no issue time", Claims{ClientID: "a", Role: RoleAdmin, Issuer: "site-a", ExpiresAt: now.Add(time.Minute).Unix()}, ErrLifetime},
		{"unknown role", Claims{ClientID: "a", Role: "ROOT", Issuer: "site-a", IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()}, ErrMalformed},
		{"no subject", Claims{Role: RoleAdmin, Issuer: "site-a", IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Verify(forge(t, s, tt.c), now)
			if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
				t.Fatalf("Verify err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSigner_Rotate(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s, err := NewSigner(NewKey(), "site-a", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := s.Issue(Claims{ClientID: "a", Role: RoleAdmin}, now)
	if err := s.Rotate(NewKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(old, now); !errors.Is(err, ErrSignature) {
		t.Fatalf("a token of the old key: err = %v, want ErrSignature", err)
	}
	fresh, _ := s.Issue(Claims{ClientID: "a", Role: RoleAdmin}, now)
	if _, err := s.Verify(fresh, now); err != nil {
		t.Fatalf("a token of the new key: %v", err)
	}
	if err := s.Rotate([]byte("short")); err == nil {
		t.Fatal("Rotate accepted a short key")
	}
}
