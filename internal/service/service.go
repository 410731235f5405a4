// Package service installs vendsync as a systemd service: it renders a
// hardened unit for a site (`edge run`) or a central node (`central run`),
// writes it, and prepares the service user and its data directory.
//
// The unit confines the process to its data directory: ProtectSystem=strict
// makes the rest of the file system read-only, ReadWritePaths opens the data
// directory again, and the process runs as its own unprivileged user with no
// capabilities (CAP_NET_BIND_SERVICE only when it must bind a port below
// 1024).
package service

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// Role is what the service runs.
type Role string

// The roles a unit can run.
const (
	RoleEdge    Role = "edge"
	RoleCentral Role = "central"
)

// DefaultUnitDir is where systemd looks for administrator units.
const DefaultUnitDir = "/etc/systemd/system"

// DefaultUser is the service user the package and `install` create.
const DefaultUser = "vendsync"

// Unit describes one service.
type Unit struct {
	Role Role
	// Binary is the absolute path of the vendsync binary.
	Binary string
	// DataDir is the data directory (absolute): the only place the service
	// may write.
	DataDir string
	// Config is the absolute path of the config file `run` reads (edge:
	// the provisioned DIR/vendsync.yaml; central: optional, "" runs with
	// --dir DataDir).
	Config string
	// User runs the service (and owns DataDir).
	User string
	// PrivilegedPorts grants CAP_NET_BIND_SERVICE, for a listener on a port
	// below 1024; otherwise the capability bounding set is empty.
	PrivilegedPorts bool
}

// Name is the unit's file name: vendsync-edge.service or
// vendsync-central.service.
func (u Unit) Name() string { return "vendsync-" + string(u.Role) + ".service" }

// Validate names the first bad field. Paths must be absolute and free of
// characters a unit file would need quoting for.
func (u Unit) Validate() error {
	if u.Role != RoleEdge && u.Role != RoleCentral {
		return fmt.Errorf("service: role %q must be edge or central", u.Role)
	}
	for _, p := range []struct{ name, v string }{{"binary", u.Binary}, {"dir", u.DataDir}, {"config", u.Config}} {
		if p.v == "" && p.name == "config" && u.Role == RoleCentral {
			continue
		}
		if !filepath.IsAbs(p.v) {
			return fmt.Errorf("service: %s %q must be an absolute path", p.name, p.v)
		}
		if strings.ContainsAny(p.v, " \t\n\"'\\$%;") {
			return fmt.Errorf("service: %s %q: a path with spaces, quotes, '$', '%%' or ';' is not supported in a unit", p.name, p.v)
		}
	}
	if u.User == "" || u.User == "root" || strings.ContainsAny(u.User, " \t\n:/") {
		return fmt.Errorf("service: user %q must be a plain user name other than root", u.User)
	}
	return nil
}

// ExecStart is the command line the unit runs.
func (u Unit) ExecStart() string {
	if u.Role == RoleEdge {
		return u.Binary + " edge run --config " + u.Config
	}
	if u.Config != "" {
		return u.Binary + " central run --dir " + u.DataDir + " --config " + u.Config
	}
	return u.Binary + " central run --dir " + u.DataDir
}

// Render returns the unit file's text. It returns Validate's error. The
// text is assembled with a strings.Builder rather than text/template: any
// use of text/template keeps every exported method of every type in the
// binary (it looks methods up by name), which made the binary a quarter
// larger and its resident memory about 10 MB higher.
func (u Unit) Render() ([]byte, error) {
	if err := u.Validate(); err != nil {
		return nil, err
	}
	what := "central node"
	if u.Role == RoleEdge {
		what = "site appliance (edge)"
	}
	caps := "CapabilityBoundingSet=\nAmbientCapabilities=\n"
	if u.PrivilegedPorts {
		caps = "CapabilityBoundingSet=CAP_NET_BIND_SERVICE\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n"
	}
	var b strings.Builder
	b.WriteString("# Written by `vendsync " + string(u.Role) + " install`. Logs go to the journal:\n")
	b.WriteString("#   journalctl -u " + u.Name() + "\n")
	b.WriteString(`[Unit]
Description=vendsync ` + what + `
Documentation=https://github.com/vendsync/vendsync
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User=` + u.User + `
Group=` + u.User + `
ExecStart=` + u.ExecStart() + `
Restart=on-failure
RestartSec=5s
# SIGTERM: finish in-flight requests, flush the outbox relay, close SQLite.
KillSignal=SIGTERM
TimeoutStopSec=60s
UMask=0077
LimitNOFILE=65536
Environment=VENDSYNC_LOG_FORMAT=json

# Hardening: read-only system, writable data directory only.
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=` + u.DataDir + `
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
SystemCallArchitectures=native
`)
	b.WriteString(caps)
	b.WriteString(`
[Install]
WantedBy=multi-user.target
`)
	return []byte(b.String()), nil
}

// Write renders the unit into dir/Name() (mode 0644, as systemd units are)
// and returns its path.
func (u Unit) Write(dir string) (string, error) {
	text, err := u.Render()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("write unit: %w", err)
	}
	path := filepath.Join(dir, u.Name())
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, text, 0o644); err != nil {
		return "", fmt.Errorf("write unit: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("write unit: %w", err)
	}
	return path, nil
}

// ErrNoUser is returned by PrepareDataDir when the service user does not
// exist (create it with CreateUser or `useradd`).
var ErrNoUser = errors.New("service user does not exist")

// CreateUser adds name as a system user without a login shell or home
// directory of its own (home is the data directory), unless it exists. It
// reports whether it created the user.
func CreateUser(name, home string) (bool, error) {
	if _, err := user.Lookup(name); err == nil {
		return false, nil
	}
	out, err := exec.Command("useradd", "--system", "--user-group", "--home-dir", home, "--no-create-home",
		"--shell", "/usr/sbin/nologin", "--comment", "vendsync service", name).CombinedOutput()
	if err != nil {
		return false, fmt.Errorf("useradd %s: %w: %s", name, err, bytes.TrimSpace(out))
	}
	return true, nil
}

// PrepareDataDir makes dir (and its parents) if needed, gives it and
// everything in it to user, and sets dir to 0700. It returns an error
// wrapping ErrNoUser when user does not exist.
func PrepareDataDir(dir, name string) error {
	usr, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("%w: %s (create it with --create-user, or: useradd --system --user-group --shell /usr/sbin/nologin %s)", ErrNoUser, name, name)
	}
	uid, err1 := strconv.Atoi(usr.Uid)
	gid, err2 := strconv.Atoi(usr.Gid)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("user %s: uid %q gid %q are not numbers", name, usr.Uid, usr.Gid)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	}); err != nil {
		return fmt.Errorf("give %s to %s: %w", dir, name, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	return nil
}
