package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/internal/testkit/fleet"
)

func TestHQPromotion_AddListDeactivate(t *testing.T) {
	dir := t.TempDir()
	c := fleet.StartCentral(t, dir, nil)
	defer c.Close()
	hq := []string{"--central", c.URL(), "--credentials", filepath.Join(dir, central.CredentialsFile), "--ca", c.CAPath()}
	args := func(a ...string) []string { return append(a, hq...) }

	out := run(t, args("hq", "promotion", "add", "launch", "--name", "Launch", "--percent", "50", "--code", "LAUNCH", "--quota", "100")...)
	if !strings.Contains(out, "promotion launch (version 1) created") {
		t.Fatalf("add: %q", out)
	}
	out = run(t, args("hq", "promotion", "add", "pune-lunch", "--name", "Lunch", "--scope", "city", "--city", "Pune",
		"--percent", "20", "--products", "COLA", "--days", "mon,fri", "--from", "12:00", "--to", "14:00")...)
	if !strings.Contains(out, "pune-lunch") {
		t.Fatalf("add city: %q", out)
	}
	// Refused before central is asked, naming the flag's field.
	if out, err := runErr(t, args("hq", "promotion", "add", "bad", "--name", "Bad", "--scope", "city", "--percent", "20")...); err == nil || !strings.Contains(out, "city") {
		t.Fatalf("city promotion without a city: err %v, %q", err, out)
	}
	if out, err := runErr(t, args("hq", "promotion", "add", "launch", "--name", "Again", "--percent", "5")...); err == nil || !strings.Contains(out, "PROMOTION_EXISTS") {
		t.Fatalf("an existing id: err %v, %q", err, out)
	}
	out = run(t, args("hq", "promotion", "list")...)
	if !strings.Contains(out, "launch") || !strings.Contains(out, "0/100") || !strings.Contains(out, "CITY Pune") {
		t.Fatalf("list:\n%s", out)
	}
	if out := run(t, args("hq", "promotion", "deactivate", "pune-lunch")...); !strings.Contains(out, "deactivated (version 2)") {
		t.Fatalf("deactivate: %q", out)
	}
	if out, err := runErr(t, args("hq", "promotion", "deactivate", "nope")...); err == nil || !strings.Contains(out, "nope") {
		t.Fatalf("deactivate unknown: err %v, %q", err, out)
	}
}
