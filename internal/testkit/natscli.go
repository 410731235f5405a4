package testkit

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// NATSCLIModule is the nats CLI that .ci/run installs (go install
// NATSCLIModule), which the tests run against real servers.
const NATSCLIModule = "github.com/nats-io/natscli/nats@v0.5.1"

// NATSCLI returns the path of the standard nats CLI: on PATH, or in GOBIN
// or GOPATH/bin where go install puts it. It skips the test, saying how to
// install it, when there is none.
func NATSCLI(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("nats"); err == nil {
		return p
	}
	var dirs []string
	if d := os.Getenv("GOBIN"); d != "" {
		dirs = append(dirs, d)
	}
	if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) > 0 && strings.TrimSpace(lines[0]) != "" {
			dirs = append(dirs, strings.TrimSpace(lines[0]))
		}
		if len(lines) > 1 {
			for _, p := range filepath.SplitList(strings.TrimSpace(lines[1])) {
				dirs = append(dirs, filepath.Join(p, "bin"))
			}
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, "nats")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	t.Skip("the nats CLI is not installed (not on PATH, in GOBIN or GOPATH/bin): go install " + NATSCLIModule + " (.ci/run does)")
	return ""
}

// RunNATS runs the nats CLI at bin with args and a home of its own (so no
// saved context of the machine's user applies), and returns its combined
// output and error. It gives up after 30 seconds.
func RunNATS(t testing.TB, bin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	home := t.TempDir()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--timeout", "3s"}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "NATS_CONTEXT=")
	out, err := cmd.CombinedOutput()
	return string(out), err
}
