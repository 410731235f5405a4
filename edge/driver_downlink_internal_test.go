package edge

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/sync/envelope"
)

// TestApplyDownlink_DriverCredential: a driver.<id> key from central makes
// a DRIVER client whose secret only central's answer knew; a revocation
// stops it and a later put does not undo it; keys that are not central
// driver credentials, or that name a local client, change nothing.
func TestApplyDownlink_DriverCredential(t *testing.T) {
	ctx := context.Background()
	cfg := initTestSite(t, "s1")
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })

	put := func(id string, c envelope.DriverCredential, rev uint64) {
		t.Helper()
		b, _ := json.Marshal(c)
		if err := n.applyDownlink(ctx, envelope.DriverKey(id), b, rev); err != nil {
			t.Fatalf("apply %s: %v", id, err)
		}
	}
	id, secret := auth.NewClientID(envelope.DriverClientPrefix), auth.NewSecret()
	put(id, envelope.DriverCredential{Name: "Asha", SecretHash: auth.HashSecret(secret)}, 1)
	c, err := n.Store.Authenticate(ctx, id, secret)
	if err != nil {
		t.Fatalf("the driver credential from central is refused: %v", err)
	}
	if c.Role != auth.RoleDriver {
		t.Fatalf("role = %s, want DRIVER", c.Role)
	}
	if _, err := n.Store.Authenticate(ctx, id, "wrong"); !errors.Is(err, store.ErrBadCredentials) {
		t.Fatalf("a wrong secret: %v", err)
	}

	// Revoked at central: refused here, and a replayed older value does
	// not bring it back.
	put(id, envelope.DriverCredential{Name: "Asha", SecretHash: auth.HashSecret(secret), Revoked: true}, 2)
	if _, err := n.Store.Authenticate(ctx, id, secret); !errors.Is(err, store.ErrBadCredentials) {
		t.Fatalf("a revoked driver credential: %v", err)
	}
	if !n.Store.Revoked(id) {
		t.Fatal("revocation not seen by the token check")
	}
	put(id, envelope.DriverCredential{Name: "Asha", SecretHash: auth.HashSecret(secret)}, 3)
	if _, err := n.Store.Authenticate(ctx, id, secret); !errors.Is(err, store.ErrBadCredentials) {
		t.Fatalf("a revoked credential came back: %v", err)
	}

	// The downlink cannot make or replace other clients.
	admin, adminSecret, err := n.Store.AddClient(ctx, auth.RoleAdmin, "", "site admin")
	if err != nil {
		t.Fatal(err)
	}
	evil := auth.NewSecret()
	for _, bad := range []string{admin.ClientID, "adm_0123456789abcdef", "hqd", "drv_0011223344556677"} {
		put(bad, envelope.DriverCredential{Name: "x", SecretHash: auth.HashSecret(evil)}, 4)
		if _, err := n.Store.Authenticate(ctx, bad, evil); err == nil {
			t.Fatalf("the downlink made or replaced client %s", bad)
		}
	}
	if _, err := n.Store.Authenticate(ctx, admin.ClientID, adminSecret); err != nil {
		t.Fatalf("the site's admin credential stopped working: %v", err)
	}
}
