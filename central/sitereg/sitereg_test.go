package sitereg

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nkeys"
	"github.com/rs/zerolog"

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
	defer cancel()
	ready, err := reg.Sync(sctx, rec, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	<-ready
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
