package siteauth_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nkeys"

	"github.com/vendsync/vendsync/central/siteauth"
)

func TestRegistry_PersistsAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sites.json")
	r, err := siteauth.OpenRegistry(path)
	if err != nil {
		t.Fatal(err)
	}
	seed, pub, err := r.Issue("s1")
	if err != nil {
		t.Fatal(err)
	}
	kp, err := nkeys.FromSeed([]byte(seed))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := kp.PublicKey(); got != pub {
		t.Fatalf("seed's key = %s, want %s", got, pub)
	}
	if _, _, err := r.Issue("s2"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Fatalf("mode = %v, want %v", got, want)
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), seed) {
		t.Fatal("registry file holds a seed")
	}

	r2, err := siteauth.OpenRegistry(path)
	if err != nil {
		t.Fatal(err)
	}
	if site, ok := r2.Lookup(pub); !ok || site != "s1" {
		t.Fatalf("Lookup = %q, %v; want s1", site, ok)
	}
	if got := r2.Sites(); len(got) != 2 || got[0] != "s1" || got[1] != "s2" {
		t.Fatalf("Sites = %v", got)
	}
}

func TestRegistry_Errors(t *testing.T) {
	r, err := siteauth.OpenRegistry(filepath.Join(t.TempDir(), "sites.json"))
	if err != nil {
		t.Fatal(err)
	}
	_, pub, err := r.Issue("s1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Add("s2", pub); err == nil {
		t.Fatal("one key registered for two sites")
	}
	if _, err := r.Add("s2", "not-a-key"); err == nil {
		t.Fatal("accepted a malformed key")
	}
	if _, _, err := r.Issue("bad.site"); err == nil {
		t.Fatal("accepted a bad site id")
	}
	if _, err := r.Remove("nope"); !errors.Is(err, siteauth.ErrUnknownSite) {
		t.Fatalf("Remove unknown = %v, want ErrUnknownSite", err)
	}
	// Rotation replaces the old key.
	_, pub2, err := r.Issue("s1")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Lookup(pub); ok {
		t.Fatal("old key still valid after rotation")
	}
	if site, ok := r.Lookup(pub2); !ok || site != "s1" {
		t.Fatal("new key not registered")
	}
}

func TestPermissions_OnlyOwnSubjects(t *testing.T) {
	p := siteauth.Permissions("s1")
	for _, subj := range append(p.Publish.Allow, p.Subscribe.Allow...) {
		if strings.Contains(subj, "s2") {
			t.Fatalf("permission %q mentions another site", subj)
		}
	}
	for _, want := range []string{"fleet.s1.>", "$JS.hub.API.CONSUMER.CREATE.KV_CONFIG.*.$KV.CONFIG.s1.>"} {
		if !slices.Contains(p.Publish.Allow, want) {
			t.Errorf("publish allow lacks %s", want)
		}
	}
	for _, want := range []string{"_INBOX_s1.>", "vsync.wm.s1", "vsync.dl.s1.>"} {
		if !slices.Contains(p.Subscribe.Allow, want) {
			t.Errorf("subscribe allow lacks %s", want)
		}
	}
}
