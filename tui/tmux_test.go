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
	tmux, bin := smokeBinary(t)

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

// smokeBinary skips without tmux or in -short, and builds the binary.
func smokeBinary(t *testing.T) (tmux, bin string) {
	t.Helper()
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux is not installed (.ci/run installs it)")
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	bin = filepath.Join(t.TempDir(), "vendsync")
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
	return tmux, bin
}

// tmuxApp is the app running in a tmux session.
type tmuxApp struct {
	t          *testing.T
	tmux, sock string
	stderr     string
}

func (a *tmuxApp) run(args ...string) (string, error) {
	cmd := exec.Command(a.tmux, append([]string{"-L", a.sock}, args...)...)
	cmd.Env = append(os.Environ(), "TERM=xterm-256color")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (a *tmuxApp) screen() string {
	out, _ := a.run("capture-pane", "-p", "-t", "drv")
	return out
}

func (a *tmuxApp) wait(want ...string) {
	a.t.Helper()
	testkit.CheckFor(a.t, 30*time.Second, func() error {
		s := a.screen()
		for _, w := range want {
			if !strings.Contains(s, w) {
				stderr, _ := os.ReadFile(a.stderr)
				return fmt.Errorf("screen does not show %q:\n%s\nstderr: %s", w, s, stderr)
			}
		}
		return nil
	})
}

func (a *tmuxApp) send(keys ...string) {
	a.t.Helper()
	if out, err := a.run(append([]string{"send-keys", "-t", "drv"}, keys...)...); err != nil {
		a.t.Fatalf("send-keys %v: %v\n%s", keys, err, out)
	}
}

// TestSmoke_TmuxTwoSiteDay drives the real binary over a day at two real
// sites: ` + "`vendsync hq driver add`" + ` writes the route file, the app walks
// site A (restock, visit record), moves to site B, whose edge is taken down
// mid-visit (the restock queued, the planogram from cache), and delivers
// B's queue when it is back; driver.log holds every step.
func TestSmoke_TmuxTwoSiteDay(t *testing.T) {
	tmux, bin := smokeBinary(t)
	routeFile := filepath.Join(t.TempDir(), "route.json")
	d := newDayWith(t, func(central, adminFile string, edges map[string]string) RouteFile {
		out, err := exec.Command(bin, "hq", "driver", "add", "Asha", "--sites", "site-a,site-b", "--edge", "site-a="+edges["site-a"],
			"--edge", "site-b="+edges["site-b"], "--central", central, "--credentials", adminFile, "--out", routeFile).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "route file written") {
			t.Fatalf("vendsync hq driver add: %v\n%s", err, out)
		}
		rf, err := ReadRouteFile(routeFile)
		if err != nil {
			t.Fatal(err)
		}
		return rf
	})
	cache := t.TempDir()
	a := &tmuxApp{t: t, tmux: tmux, sock: fmt.Sprintf("vendsync-day-%d", os.Getpid()), stderr: filepath.Join(cache, "stderr")}
	t.Cleanup(func() { a.run("kill-server") })
	app := fmt.Sprintf("%s driver --route-file %s --cache %s --retry 200ms 2>%s", bin, routeFile, cache, a.stderr)
	if out, err := a.run("new-session", "-d", "-s", "drv", "-x", "120", "-y", "35", app); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	a.wait("Stops", "route of Asha", "site-a", "site-b", "km/h")
	a.send("Enter")
	a.wait("Machines at site site-a", "M1", "edge online")
	a.send("Enter")
	a.wait("Machine M1 · site site-a", "Cola site-a")
	a.send("Enter")
	a.wait("SUGGEST")
	a.send("A", "Enter")
	a.wait("P1 +8")
	a.send("y")
	a.wait("restocked M1")
	a.send("Escape") // (alone: ESC then a key is read as alt+key)
	a.wait("visit of M1 recorded")
	a.send("S", "Down", "Enter")
	a.wait("Machines at site site-b", "edge online")
	a.send("Enter")
	a.wait("Machine M1 · site site-b", "Cola site-b")
	d.sites["site-b"].Close() // mid-visit
	a.send("Enter")
	a.wait("SUGGEST")
	a.send("A", "Enter", "y")
	a.wait("queued", "edge offline")
	a.send("Escape")
	a.wait("Machines at site site-b", "pending 2")
	a.send("S")
	a.wait("done", "site-b")
	d.sites["site-b"].Open()
	a.send("Tab")
	a.wait("Machines at site site-b", "pending 0")
	if got := d.sites["site-b"].Stock("M1", "P1"); got != 10 {
		t.Fatalf("site-b M1/P1 = %d, want 10", got)
	}
	a.send("q")
	testkit.CheckFor(t, 10*time.Second, func() error {
		if _, err := a.run("has-session", "-t", "drv"); err == nil {
			return fmt.Errorf("the app did not quit on q:\n%s", a.screen())
		}
		return nil
	})
	b, err := os.ReadFile(filepath.Join(cache, "driver.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"site chosen", "queued", "restock delivered", "waits in the queue", "queued work delivered", "stop marked", "driver app stopped"} {
		if !strings.Contains(string(b), want) {
			t.Fatalf("driver.log lacks %q:\n%s", want, b)
		}
	}
}
