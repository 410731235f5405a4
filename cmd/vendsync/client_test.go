package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// `edge client add --machine` binds a MACHINE client only to a machine the
// site has: credentials for a machine that does not exist are refused.
func TestEdgeClientAdd_MachineMustExist(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "site")
	run(t, "edge", "init", "--dir", dir, "--site", "cli-site", "--city", "Pune", "--timezone", "UTC")

	out, err := runErr(t, "edge", "client", "add", "--dir", dir, "--role", "MACHINE", "--machine", "VM_404")
	if err == nil || !strings.Contains(out, "VM_404") || !strings.Contains(out, "not registered") {
		t.Fatalf("client for an unknown machine: err %v, out %q; want a refusal naming VM_404", err, out)
	}
	if list := run(t, "edge", "client", "list", "--dir", dir); strings.Contains(list, "VM_404") {
		t.Fatalf("a client was created anyway:\n%s", list)
	}

	run(t, "provision", "machine", "--dir", dir, "--machine", "VM_1", "--city", "Pune", "--building", "HQ", "--payment-methods", "CARD")
	if out := run(t, "edge", "client", "add", "--dir", dir, "--role", "MACHINE", "--machine", "VM_1"); !strings.Contains(out, "client_secret") {
		t.Fatalf("client for a registered machine: %q", out)
	}
}
