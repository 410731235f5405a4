// Package stripemock finds and runs Stripe's own mock server,
// github.com/stripe/stripe-mock, on a loopback port: the gateway that the
// tests and `vendsync demo` talk to through internal/payment. The binary is
// a real program installed with `go install Module` (`make tools` does it);
// nothing here fakes the gateway.
package stripemock

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Module is the pinned stripe-mock that `make tools` and .ci/run install
// (go install Module); keep it in step with the Makefile.
const Module = "github.com/stripe/stripe-mock@v0.203.0"

// InstallHint says how to install the binary; errors about a missing one
// carry it.
const InstallHint = "stripe-mock is not installed: run `make tools` (or go install " + Module + ")"

// ErrNotInstalled is returned by Lookup when no stripe-mock binary is found.
var ErrNotInstalled = errors.New(InstallHint)

// Lookup returns the path of the stripe-mock binary: $VENDSYNC_STRIPE_MOCK,
// then ./bin of the module (where `make tools` puts it), then PATH, GOBIN and
// GOPATH/bin. It returns ErrNotInstalled when there is none.
func Lookup() (string, error) {
	var candidates []string
	if p := os.Getenv("VENDSYNC_STRIPE_MOCK"); p != "" {
		candidates = append(candidates, p)
	}
	if root := moduleRoot(); root != "" {
		candidates = append(candidates, filepath.Join(root, "bin", "stripe-mock"))
	}
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		candidates = append(candidates, p)
	}
	if d := os.Getenv("GOBIN"); d != "" {
		candidates = append(candidates, filepath.Join(d, "stripe-mock"))
	}
	if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) > 0 && strings.TrimSpace(lines[0]) != "" {
			candidates = append(candidates, filepath.Join(strings.TrimSpace(lines[0]), "stripe-mock"))
		}
		if len(lines) > 1 {
			for _, p := range filepath.SplitList(strings.TrimSpace(lines[1])) {
				candidates = append(candidates, filepath.Join(p, "bin", "stripe-mock"))
			}
		}
	}
	for _, p := range candidates {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", ErrNotInstalled
}

// moduleRoot walks up from the working directory to the directory holding
// go.mod, or returns "".
func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Server is a running stripe-mock process.
type Server struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
	once sync.Once
	werr error
}

// Start runs the stripe-mock binary at bin on loopback ports the system
// chooses and returns once it listens. It returns an error if the process
// does not start or does not say where it listens within 30 seconds.
func Start(ctx context.Context, bin string) (*Server, error) {
	// Both listeners on loopback with system-chosen ports: left unset, the
	// HTTPS one binds every interface on 12112 and two servers collide.
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:", "-https-addr", "127.0.0.1:")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("stripe-mock stdout: %w", err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start stripe-mock: %w", err)
	}
	s := &Server{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		const prefix = "Listening for HTTP at address: "
		for sc.Scan() {
			if a, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), prefix); ok {
				select {
				case addr <- a:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	go func() {
		s.werr = cmd.Wait()
		close(s.done)
	}()
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case a := <-addr:
		s.url = "http://" + a
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("stripe-mock exited before listening: %v", s.werr)
	case <-timer.C:
		s.Close()
		return nil, errors.New("stripe-mock did not listen within 30s")
	case <-ctx.Done():
		s.Close()
		return nil, fmt.Errorf("start stripe-mock: %w", ctx.Err())
	}
}

// URL is the server's HTTP base URL, e.g. http://127.0.0.1:40589.
func (s *Server) URL() string { return s.url }

// Close stops the process and waits for it to exit.
func (s *Server) Close() {
	s.once.Do(func() {
		_ = s.cmd.Process.Kill()
		<-s.done
	})
}
