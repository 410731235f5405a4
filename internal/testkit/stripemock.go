package testkit

import (
	"context"
	"testing"

	"github.com/vendsync/vendsync/internal/stripemock"
)

// StripeMock starts Stripe's own mock server (github.com/stripe/stripe-mock)
// on a loopback port for the test and returns its base URL; it is stopped
// when the test ends. A missing binary fails the test, saying how to
// install it (`make tools`): gateway tests never skip and never fake the
// gateway in-process.
func StripeMock(t testing.TB) string {
	t.Helper()
	bin, err := stripemock.Lookup()
	if err != nil {
		t.Fatalf("%v", err)
	}
	s, err := stripemock.Start(context.Background(), bin)
	if err != nil {
		t.Fatalf("stripe-mock: %v", err)
	}
	t.Cleanup(s.Close)
	return s.URL()
}
