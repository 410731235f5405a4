package auth

import (
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
	otherIssuer, _ := NewSigner(s.key, "site-b", time.Hour)
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
