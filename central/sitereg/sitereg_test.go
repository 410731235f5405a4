package sitereg

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/vendsync/vendsync/internal/testkit"
)

type recorder struct {
	mu    sync.Mutex
	keys  map[string]string
	revok map[string]bool
}

func (r *recorder) AddSite(site, pub string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys[site], r.revok[site] = pub, false
	return nil
}

func (r *recorder) RevokeSite(site string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.revok[site] = true
	return nil
}

func (r *recorder) state(site string) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys[site], r.revok[site]
}

func TestRegistry_AddRevokeSync(t *testing.T) {
	ctx := context.Background()
	js := testkit.JetStream(t, "hub")
	reg, err := Open(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	seed, s, err := reg.Add(ctx, Site{ID: "blr-1", Name: "Tech Park", City: "Bangalore", Timezone: "Asia/Kolkata"}, false)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := nkeys.FromSeed([]byte(seed))
	if err != nil {
		t.Fatalf("seed is not an nkey seed: %v", err)
	}
	if pub, _ := kp.PublicKey(); pub != s.PublicKey {
		t.Fatalf("seed's public key %s != registered %s", pub, s.PublicKey)
	}
	if _, _, err := reg.Add(ctx, Site{ID: "blr-1"}, false); !errors.Is(err, ErrExists) {
		t.Fatalf("second Add: err = %v, want ErrExists", err)
	}
	// A node that starts later sees the existing registration, then changes.
	rec := &recorder{keys: map[string]string{}, revok: map[string]bool{}}
	sctx, cancel := context.WithCancel(ctx)
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- reg.Follow(sctx, rec, func() { close(ready) }, nil, nil) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Follow = %v", err)
		}
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Follow ended before the registry was applied: %v", err)
	}
	if got, _ := rec.state("blr-1"); got != s.PublicKey {
		t.Fatalf("hub key after sync = %q, want %q", got, s.PublicKey)
	}
	_, rotated, err := reg.Add(ctx, Site{ID: "blr-1", City: "Bangalore"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if rotated.PublicKey == s.PublicKey {
		t.Fatal("rotation kept the old key")
	}
	testkit.Eventually(t, 10*time.Second, "rotated key on the hub", func() bool { k, _ := rec.state("blr-1"); return k == rotated.PublicKey })
	if _, err := reg.Revoke(ctx, "blr-1"); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "revocation on the hub", func() bool { _, r := rec.state("blr-1"); return r })
	// A revoked site can be registered again (re-provisioned).
	if _, _, err := reg.Add(ctx, Site{ID: "blr-1"}, false); err != nil {
		t.Fatalf("re-register after revoke: %v", err)
	}
	if _, err := reg.Revoke(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoke unknown: err = %v, want ErrNotFound", err)
	}
	list, err := reg.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != "blr-1" {
		t.Fatalf("List = %+v, %v", list, err)
	}
}

func TestSite_Validate(t *testing.T) {
	bad := 100.0
	tests := []struct {
		name string
		s    Site
	}{
		{"bad id", Site{ID: "a.b"}},
		{"hub id", Site{ID: "hub"}},
		{"bad timezone", Site{ID: "x", Timezone: "Mars/Base"}},
		{"bad lat", Site{ID: "x", Lat: &bad}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.s.Validate(); err == nil {
				t.Fatal("Validate accepted it")
			}
		})
	}
}

func TestRegistry_RegisterAndImport(t *testing.T) {
	ctx := context.Background()
	reg, err := Open(ctx, testkit.JetStream(t, "hub"), 1)
	if err != nil {
		t.Fatal(err)
	}
	key := func() string {
		kp, err := nkeys.CreateUser()
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := kp.PublicKey()
		return pub
	}
	if _, err := reg.Register(ctx, Site{ID: "a", PublicKey: "nope"}, false); err == nil {
		t.Fatal("Register accepted a key that is not a user key")
	}
	pubA := key()
	if _, err := reg.Register(ctx, Site{ID: "a", City: "Lyon", PublicKey: pubA}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Revoke(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	// Import adds only sites the registry has never held: a revoked site
	// keeps its revocation.
	pubB := key()
	added, err := reg.Import(ctx, map[string]string{"a": key(), "b": pubB})
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != 1 || added[0] != "b" {
		t.Fatalf("imported %v, want [b]", added)
	}
	a, err := reg.Get(ctx, "a")
	if err != nil || a.RevokedAt == nil || a.PublicKey != pubA {
		t.Fatalf("a after import = %+v, %v; want revoked with its own key", a, err)
	}
	if b, err := reg.Get(ctx, "b"); err != nil || b.PublicKey != pubB || b.RevokedAt != nil {
		t.Fatalf("b after import = %+v, %v", b, err)
	}
	if added, err := reg.Import(ctx, map[string]string{"b": key()}); err != nil || len(added) != 0 {
		t.Fatalf("second import added %v, %v", added, err)
	}
}
