//go:build torture

package torture

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/testkit"
)

// buildBinary builds ./cmd/vendsync into dir and returns its path.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "vendsync")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/vendsync/vendsync/cmd/vendsync").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/vendsync: %v\n%s", err, out)
	}
	return bin
}

// runCmd runs the binary to completion, failing t on a non-zero exit.
func runCmd(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("vendsync %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// proc is one long-running vendsync process (a central node or an edge),
// started again with the same arguments after it is killed. Its output is
// appended to a log file that survives restarts.
type proc struct {
	name    string
	bin     string
	args    []string
	logPath string

	mu   sync.Mutex
	env  []string // extra environment for the next start
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	log  *os.File
	runs int
}

func newProc(bin, name, logDir string, args ...string) *proc {
	return &proc{name: name, bin: bin, args: args, logPath: filepath.Join(logDir, name+".log")}
}

// start starts the process (it must not be running).
func (p *proc) start(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	f, err := os.OpenFile(p.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	p.runs++
	fmt.Fprintf(f, "\n=== start %d of %s at %s (env %v)\n", p.runs, p.name, time.Now().Format(time.RFC3339Nano), p.env)
	cmd := exec.Command(p.bin, append(p.args, "--log-level", "warn", "--log-format", "json")...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", p.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.log = cmd, done, f
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		f.Close()
		close(done)
	}()
}

// running reports whether the process is up.
func (p *proc) running() bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// signal sends sig and waits up to wait for the exit; SIGKILL follows if
// the process is still there. It returns the exit error.
func (p *proc) signal(sig syscall.Signal, wait time.Duration) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(wait):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s did not exit within %s of %v", p.name, wait, sig)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// kill9 kills the process with SIGKILL, as a power cut would.
func (p *proc) kill9() { _ = p.signal(syscall.SIGKILL, 10*time.Second) }

// stop asks the process to exit (SIGTERM) and waits for it.
func (p *proc) stop() error { return p.signal(syscall.SIGTERM, 30*time.Second) }

// pid is the running process's id (0 if none).
func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// output is everything the process wrote, over all its runs.
func (p *proc) output() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// waitOutput waits for a line matching re written during the current run.
func (p *proc) waitOutput(t *testing.T, re string, timeout time.Duration) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	marker := fmt.Sprintf("=== start %d of %s", p.runs, p.name)
	var m []string
	testkit.CheckFor(t, timeout, func() error {
		out := p.output()
		if i := strings.LastIndex(out, marker); i >= 0 {
			out = out[i:]
		}
		if m = rx.FindStringSubmatch(out); m != nil {
			return nil
		}
		if !p.running() {
			t.Fatalf("%s exited before printing %q:\n%s", p.name, re, tail(out, 4000))
		}
		return fmt.Errorf("%s has not printed %q", p.name, re)
	})
	return m
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// routeSockets counts the established TCP connections the process with pid
// holds whose local port is listen (routes into it) or whose remote port is
// one of peers (routes it dialled): what a partition must have closed. It
// reads /proc, so it answers -1 where there is none.
func routeSockets(pid, listen int, peers []int) int {
	if pid == 0 {
		return 0
	}
	inodes := map[string]bool{}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	for _, fd := range fds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/tcp", pid))
	if err != nil {
		return -1
	}
	peer := map[int]bool{}
	for _, p := range peers {
		peer[p] = true
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 10 || f[3] != "01" || !inodes[f[9]] { // 01: ESTABLISHED
			continue
		}
		lp, rp := hexPort(f[1]), hexPort(f[2])
		if lp == listen || peer[rp] {
			n++
		}
	}
	return n
}

func hexPort(addr string) int {
	_, p, ok := strings.Cut(addr, ":")
	if !ok {
		return -1
	}
	v, err := strconv.ParseInt(p, 16, 32)
	if err != nil {
		return -1
	}
	return int(v)
}

// fillDisk writes a ballast file in dir until the filesystem is full and
// returns its path and size.
func fillDisk(dir string) (string, int64, error) {
	path := filepath.Join(dir, "torture-ballast")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return path, 0, err
	}
	defer f.Close()
	chunk := bytes.Repeat([]byte{0xA5}, 1<<20)
	var n int64
	for {
		w, err := f.Write(chunk)
		n += int64(w)
		if err != nil {
			// ENOSPC: full. Fill the last few KB too.
			small := chunk[:4096]
			for {
				w, err := f.Write(small)
				n += int64(w)
				if err != nil {
					return path, n, nil
				}
			}
		}
	}
}
