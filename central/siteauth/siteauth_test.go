package siteauth_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nkeys"

	"github.com/vendsync/vendsync/central/siteauth"
)

func userKey(t *testing.T) string {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func TestAuthenticator_AdmitsOneKeyPerSite(t *testing.T) {
	a := siteauth.NewAuthenticator(userKey(t))
	pub := userKey(t)
	if err := a.AddSite("s1", pub); err != nil {
		t.Fatal(err)
	}
	if err := a.AddSite("s2", userKey(t)); err != nil {
		t.Fatal(err)
	}
	if site, ok := a.Lookup(pub); !ok || site != "s1" {
		t.Fatalf("Lookup = %q, %v; want s1", site, ok)
	}
	if got := a.Sites(); len(got) != 2 || got[0] != "s1" || got[1] != "s2" {
		t.Fatalf("Sites = %v", got)
	}
	if err := a.AddSite("s2", pub); err == nil {
		t.Fatal("one key admitted for two sites")
	}
	if err := a.AddSite("s2", "not-a-key"); err == nil {
		t.Fatal("accepted a malformed key")
	}
	if err := a.AddSite("bad.site", userKey(t)); err == nil {
		t.Fatal("accepted a bad site id")
	}
	// Rotation replaces the old key.
	pub2 := userKey(t)
	if err := a.AddSite("s1", pub2); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Lookup(pub); ok {
		t.Fatal("old key still valid after rotation")
	}
	if site, ok := a.Lookup(pub2); !ok || site != "s1" {
		t.Fatal("new key not admitted")
	}
	if err := a.RevokeSite("s1"); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Lookup(pub2); ok {
		t.Fatal("revoked key still valid")
	}
	if err := a.RevokeSite("nope"); err != nil {
		t.Fatalf("RevokeSite of an unknown site = %v", err)
	}
	if got := a.Sites(); len(got) != 1 || got[0] != "s2" {
		t.Fatalf("Sites = %v, want [s2]", got)
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
