package service

import (
	"os"
	"path/filepath"
	"testing"
)

// TestUnit_RenderGolden pins the unit files byte for byte (edge and
// central, with and without privileged ports).
func TestUnit_RenderGolden(t *testing.T) {
	var all []byte
	for _, u := range []Unit{
		{Role: RoleEdge, Binary: "/usr/local/bin/vendsync", DataDir: "/var/lib/vendsync", Config: "/var/lib/vendsync/vendsync.yaml", User: "vendsync"},
		{Role: RoleEdge, Binary: "/usr/local/bin/vendsync", DataDir: "/var/lib/vendsync", Config: "/var/lib/vendsync/vendsync.yaml", User: "vendsync", PrivilegedPorts: true},
		{Role: RoleCentral, Binary: "/opt/vs", DataDir: "/srv/c", User: "vs"},
		{Role: RoleCentral, Binary: "/opt/vs", DataDir: "/srv/c", Config: "/srv/c/c.yaml", User: "vs", PrivilegedPorts: true},
	} {
		b, err := u.Render()
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	golden := filepath.Join("testdata", "units.golden")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, all, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(all) != string(want) {
		t.Fatalf("rendered units differ from %s (UPDATE_GOLDEN=1 rewrites it):\n%s", golden, all)
	}
}
