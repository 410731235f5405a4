package tui

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/testkit"
)

// TestSmoke_Tmux drives the real binary in a tmux session: route, pick list
// export, the site's machines, help, quit.
func TestSmoke_Tmux(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux is not installed (.ci/run installs it)")
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	bin := filepath.Join(t.TempDir(), "vendsync")
	build := exec.Command("go", "build", "-o", bin, "./cmd/vendsync")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "driver", "--help").CombinedOutput(); err != nil || !strings.Contains(string(out), "--credentials") {
		if strings.Contains(string(out), "unknown command") {
			t.Skip("`vendsync driver` is not wired into cmd/vendsync/main.go yet (newDriverCmd)")
		}
		t.Fatalf("vendsync driver --help: %v\n%s", err, out)
	}

	w := newWorld(t)
	cache := t.TempDir()
	creds := writeCreds(t, w.creds)
	sock := fmt.Sprintf("vendsync-test-%d", os.Getpid())
	run := func(args ...string) (string, error) {
		cmd := exec.Command(tmux, append([]string{"-L", sock}, args...)...)
		cmd.Env = append(os.Environ(), "TERM=xterm-256color")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() { run("kill-server") })
	app := fmt.Sprintf("%s driver --central %s --edge %s --credentials %s --cache %s --retry 200ms 2>%s",
		bin, w.central.URL, w.edgeURL(), creds, cache, filepath.Join(cache, "stderr"))
	if out, err := run("new-session", "-d", "-s", "drv", "-x", "120", "-y", "35", app); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	screen := func() string {
		out, _ := run("capture-pane", "-p", "-t", "drv")
		return out
	}
	waitScreen := func(want ...string) {
		t.Helper()
		testkit.CheckFor(t, 20*time.Second, func() error {
			s := screen()
			for _, w := range want {
				if !strings.Contains(s, w) {
					stderr, _ := os.ReadFile(filepath.Join(cache, "stderr"))
					return fmt.Errorf("screen does not show %q:\n%s\nstderr: %s", w, s, stderr)
				}
			}
			return nil
		})
	}
	send := func(keys ...string) {
		t.Helper()
		if out, err := run(append([]string{"send-keys", "-t", "drv"}, keys...)...); err != nil {
			t.Fatalf("send-keys %v: %v\n%s", keys, err, out)
		}
	}

	waitScreen("vendsync driver · Route", "test-site", "1 out of stock", "central online")
	send("Space", "p")
	waitScreen("Pick list", "TOTAL")
	send("e")
	waitScreen("exported")
	if _, err := os.Stat(filepath.Join(cache, "picklist.csv")); err != nil {
		t.Fatalf("pick list not exported: %v", err)
	}
	send("Tab")
	waitScreen("Machines at site", "M1", "edge online")
	send("Enter")
	waitScreen("Sandwich", "2025-03-01")
	send("?")
	waitScreen("filter", "quit")
	send("/", "S", "a", "n", "d", "Enter")
	waitScreen("/Sand")
	send("q")
	testkit.CheckFor(t, 10*time.Second, func() error {
		if _, err := run("has-session", "-t", "drv"); err == nil {
			return fmt.Errorf("the app did not quit on q:\n%s", screen())
		}
		return nil
	})
	if b, err := os.ReadFile(filepath.Join(cache, "driver.log")); err != nil || !strings.Contains(string(b), "driver app stopped") {
		t.Fatalf("driver.log: %v %s", err, b)
	}
}
