package web

import (
	"context"
	"testing"

	"github.com/vendsync/vendsync/internal/auth"
)

// TestWithClaims_ThroughDerivedContexts checks that the claims node answers
// ClaimsFrom directly and through contexts derived from it, passes other
// values through, and lets cancellation reach its children.
func TestWithClaims_ThroughDerivedContexts(t *testing.T) {
	type otherKey struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), otherKey{}, "v"))
	c := auth.Claims{ClientID: "m1", Role: auth.RoleMachine, MachineID: "VM_1", ExpiresAt: 9}
	ctx := WithClaims(parent, c)
	if got, ok := ClaimsFrom(ctx); !ok || got != c {
		t.Fatalf("ClaimsFrom = %+v, %v", got, ok)
	}
	child, stop := context.WithCancel(context.WithValue(ctx, otherKey{}, "w"))
	defer stop()
	if got, ok := ClaimsFrom(child); !ok || got != c {
		t.Fatalf("ClaimsFrom(derived) = %+v, %v", got, ok)
	}
	if ctx.Value(otherKey{}) != "v" || child.Value(otherKey{}) != "w" {
		t.Fatal("other values not passed through")
	}
	if _, ok := ClaimsFrom(parent); ok {
		t.Fatal("claims found where none were set")
	}
	inner := WithClaims(child, auth.Claims{ClientID: "m2"})
	if got, _ := ClaimsFrom(context.WithoutCancel(inner)); got.ClientID != "m2" {
		t.Fatalf("the nearest claims should win, got %+v", got)
	}
	cancel()
	<-child.Done() // blocks (and the test times out) if cancellation did not propagate
	if ctx.Err() == nil {
		t.Fatal("claims context not cancelled with its parent")
	}
}
