package testkit_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/testkit"
)

// recorder is a testing.TB whose Fatalf records the message and stops the
// goroutine, as testing's does.
type recorder struct {
	testing.TB
	mu    sync.Mutex
	fatal string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.fatal = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

// run calls f with a recorder on its own goroutine and returns what it
// failed with ("" if it did not).
func run(f func(t testing.TB)) string {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fatal
}

func TestCheckFor(t *testing.T) {
	tests := []struct {
		name     string
		okAfter  int // calls before cond holds; -1 = never
		wantFail string
	}{
		{name: "at once", okAfter: 0},
		{name: "after a few polls", okAfter: 3},
		{name: "never", okAfter: -1, wantFail: "not yet (call"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			got := run(func(tb testing.TB) {
				testkit.CheckFor(tb, 200*time.Millisecond, func() error {
					calls++
					if tc.okAfter >= 0 && calls > tc.okAfter {
						return nil
					}
					return fmt.Errorf("not yet (call %d)", calls)
				})
			})
			if tc.wantFail == "" && got != "" {
				t.Fatalf("CheckFor failed: %s", got)
			}
			if tc.wantFail != "" && !strings.Contains(got, tc.wantFail) {
				t.Fatalf("CheckFor failed with %q, want the condition's last error %q", got, tc.wantFail)
			}
		})
	}
}

func TestEventually_NamesWhatItWaitedFor(t *testing.T) {
	got := run(func(tb testing.TB) {
		testkit.Eventually(tb, 50*time.Millisecond, "the moon", func() bool { return false })
	})
	if !strings.Contains(got, "the moon") {
		t.Fatalf("Eventually failed with %q, want it to name the moon", got)
	}
}

func TestConsistently(t *testing.T) {
	if got := run(func(tb testing.TB) {
		testkit.Consistently(tb, 100*time.Millisecond, func() error { return nil })
	}); got != "" {
		t.Fatalf("Consistently failed on a condition that holds: %s", got)
	}
	start := time.Now()
	got := run(func(tb testing.TB) {
		testkit.Consistently(tb, 10*time.Second, func() error {
			if time.Since(start) > 50*time.Millisecond {
				return errors.New("broke")
			}
			return nil
		})
	})
	if !strings.Contains(got, "broke") {
		t.Fatalf("Consistently failed with %q, want the condition's error", got)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Consistently took %s to notice, want it at the next poll", took)
	}
}

// FreePorts are distinct, bindable, and below the kernel's ephemeral range,
// where no listener on port 0 and no outgoing connection can take them.
func TestFreePorts_AreDistinct(t *testing.T) {
	ports := testkit.FreePorts(t, 5)
	seen := map[int]bool{}
	lo := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		fmt.Sscan(string(b), &lo)
	}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Fatalf("ports %v: want 5 distinct ports", ports)
		}
		if lo > 11000 && (p < 10000 || p >= lo) {
			t.Fatalf("port %d: want it in [10000, %d), below the ephemeral range", p, lo)
		}
		seen[p] = true
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("port %d: %v", p, err)
		}
		ln.Close()
	}
}

func TestJetStream_ServesItsDomain(t *testing.T) {
	js := testkit.JetStream(t, "hub")
	info, err := js.AccountInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := info.Domain, "hub"; got != want {
		t.Fatalf("domain = %q, want %q", got, want)
	}
}
