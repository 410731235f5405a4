package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vendsync/vendsync/edge/dex/dextest"
	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/edgeapi"
)

// TestDEXCommands: `vendsync dex upload` sends a machine's DEX file to a
// real edge, says a resend changed nothing, shows the reconciliation of the
// second read (the vends that never reached the ledger), and `dex list`
// lists it; bad input is refused naming what is wrong.
func TestDEXCommands(t *testing.T) {
	s := edgetest.Start(t, edgetest.Options{})
	s.Machine("M1")
	s.Product("M1", "P1", 150, 100)
	dir := t.TempDir()
	c := s.Client(auth.RoleDriver, "")
	b, _ := json.Marshal(map[string]string{"client_id": c.ClientID, "client_secret": c.ClientSecret})
	creds := filepath.Join(dir, "driver.json")
	if err := os.WriteFile(creds, b, 0o600); err != nil {
		t.Fatal(err)
	}
	m := &dextest.Machine{Serial: "CTRL-M1", Model: "GVC1"}
	m.Add("P1", "", 150)
	write := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, m.Read(dextest.ReadOptions{}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := []string{"dex", "upload", "--edge", s.URL(), "--credentials", creds, "--machine", "M1", "--format", "table"}
	first := write("first.dex")
	if out := run(t, append(base, first)...); !strings.Contains(out, "first read of this machine") || !strings.Contains(out, "P1") {
		t.Fatalf("first upload:\n%s", out)
	}
	if out := run(t, append(base, first)...); !strings.Contains(out, "already uploaded") {
		t.Fatalf("resend of the same file:\n%s", out)
	}
	if r := s.Do("POST", "/events/sales", s.Token(auth.RoleMachine, "M1"), s.Sale("t1", "M1", "P1", 1, 150)); r.Status != 201 {
		t.Fatalf("sale: %d %s", r.Status, r.Body)
	}
	m.Vend("P1", 1, 150, false)
	m.Vend("P1", 2, 300, false) // never reached the edge
	out := run(t, append(base, write("second.dex"))...)
	if !strings.Contains(out, "unreported 2 (3.00)") {
		t.Fatalf("second upload does not show 2 unreported vends worth 3.00:\n%s", out)
	}
	var list edgeapi.ReconciliationList
	if err := json.Unmarshal([]byte(run(t, "dex", "list", "--edge", s.URL(), "--credentials", creds, "--format", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Reconciliations) != 1 || list.Reconciliations[0].UnreportedCount != 2 || list.Reconciliations[0].LedgerCount != 1 {
		t.Fatalf("dex list = %+v", list)
	}

	empty := filepath.Join(dir, "empty.dex")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.dex")
	if err := os.WriteFile(garbage, []byte("hello\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"dex", "upload", "--edge", s.URL(), "--credentials", creds, first}, "--machine is required"},
		{[]string{"dex", "upload", "--edge", s.URL(), "--credentials", creds, "--machine", "M1", filepath.Join(dir, "nope.dex")}, "no such file"},
		{[]string{"dex", "upload", "--edge", s.URL(), "--credentials", creds, "--machine", "M1", empty}, "is empty"},
		{[]string{"dex", "upload", "--edge", s.URL(), "--credentials", creds, "--machine", "M1", "--read-at", "yesterday", first}, "--read-at"},
		{[]string{"dex", "upload", "--edge", s.URL(), "--credentials", creds, "--machine", "M1", garbage}, "INVALID_DEX"},
		{[]string{"report", "reconciliation", "--by", "planet", "--format", "yaml"}, "--format"},
	} {
		out, err := runErr(t, bad.args...)
		if err == nil || !strings.Contains(out, bad.want) {
			t.Errorf("vendsync %s: err %v, out %q; want an error naming %q", strings.Join(bad.args, " "), err, out, bad.want)
		}
	}
}
