package service

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func testUnit(t *testing.T, role Role) Unit {
	t.Helper()
	bin, err := exec.LookPath("true") // an executable that exists: verify checks ExecStart
	if err != nil {
		t.Skip("no true(1) to stand in for the binary")
	}
	dir := t.TempDir()
	u := Unit{Role: role, Binary: bin, DataDir: filepath.Join(dir, "data"), User: "vendsync"}
	if role == RoleEdge {
		u.Config = filepath.Join(u.DataDir, "vendsync.yaml")
	}
	return u
}

func TestUnit_RenderHardened(t *testing.T) {
	tests := []struct {
		name       string
		role       Role
		privileged bool
		want       []string
	}{
		{"edge", RoleEdge, false, []string{"edge run --config ", "/data/vendsync.yaml\n", "CapabilityBoundingSet=\n"}},
		{"central", RoleCentral, false, []string{" central run --dir ", "CapabilityBoundingSet=\n"}},
		{"privileged ports", RoleEdge, true, []string{"CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n", "AmbientCapabilities=CAP_NET_BIND_SERVICE\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := testUnit(t, tt.role)
			u.PrivilegedPorts = tt.privileged
			text, err := u.Render()
			if err != nil {
				t.Fatal(err)
			}
			s := string(text)
			for _, want := range append(tt.want, "Restart=on-failure\n", "User=vendsync\n", "NoNewPrivileges=yes\n",
				"ProtectSystem=strict\n", "ReadWritePaths="+u.DataDir+"\n", "PrivateTmp=yes\n", "ProtectHome=yes\n", "ExecStart="+u.Binary+" ") {
				if !strings.Contains(s, want) {
					t.Errorf("unit lacks %q:\n%s", want, s)
				}
			}
		})
	}
}

func TestUnit_RefusesBadFields(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Unit)
		want string
	}{
		{"relative dir", func(u *Unit) { u.DataDir = "data" }, "dir"},
		{"dir with a space", func(u *Unit) { u.DataDir = "/var/lib/my site" }, "dir"},
		{"edge without config", func(u *Unit) { u.Config = "" }, "config"},
		{"root", func(u *Unit) { u.User = "root" }, "user"},
		{"role", func(u *Unit) { u.Role = "driver" }, "role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := testUnit(t, RoleEdge)
			tt.mod(&u)
			if _, err := u.Render(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Render() = %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

// systemd's own checker accepts both units without a warning (it prints
// unknown keys and bad values but still exits 0, so any output fails).
func TestUnit_SystemdAnalyzeVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (apt-get install systemd): units not verified")
	}
	for _, role := range []Role{RoleEdge, RoleCentral} {
		t.Run(string(role), func(t *testing.T) {
			u := testUnit(t, role)
			path, err := u.Write(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
				t.Fatalf("unit file %s: %v, mode %v", path, err, fi.Mode())
			}
			out, err := exec.Command(analyze, "verify", path).CombinedOutput()
			if err != nil || len(strings.TrimSpace(string(out))) > 0 {
				t.Fatalf("systemd-analyze verify %s: %v\n%s", path, err, out)
			}
		})
	}
}

func TestPrepareDataDir_OwnedAnd0700(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving a directory to another user needs root")
	}
	dir := filepath.Join(t.TempDir(), "site")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "site.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := PrepareDataDir(dir, "nobody-such-user"); err == nil {
		t.Fatal("an unknown user was accepted")
	}
	if err := PrepareDataDir(dir, "nobody"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Fatalf("data dir mode %v, want 0700", got)
	}
	for _, p := range []string{dir, filepath.Join(dir, "site.db")} {
		if uid := ownerOf(t, p); uid != nobodyUID(t) {
			t.Fatalf("%s owned by uid %d, want nobody", p, uid)
		}
	}
}
