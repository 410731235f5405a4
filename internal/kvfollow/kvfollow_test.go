package kvfollow_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vendsync/vendsync/internal/kvfollow"
	"github.com/vendsync/vendsync/internal/natsserver"
	"github.com/vendsync/vendsync/internal/testkit"
)

// seen records what Run applied, restarts and readiness.
type seen struct {
	mu       sync.Mutex
	vals     map[string]string
	restarts []error
	ready    int
}

func newSeen() *seen { return &seen{vals: map[string]string{}} }

func (s *seen) config(kv jetstream.KeyValue) kvfollow.Config {
	return kvfollow.Config{
		Watch: func(ctx context.Context) (jetstream.KeyWatcher, error) { return kv.WatchAll(ctx) },
		Apply: func(e jetstream.KeyValueEntry) {
			s.mu.Lock()
			defer s.mu.Unlock()
			if e.Operation() == jetstream.KeyValuePut {
				s.vals[e.Key()] = string(e.Value())
			} else {
				delete(s.vals, e.Key())
			}
		},
		Ready: func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.ready++
		},
		Restart: func(err error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.restarts = append(s.restarts, err)
		},
		StartTimeout: 300 * time.Millisecond,
		MaxBackoff:   100 * time.Millisecond,
	}
}

func (s *seen) val(k string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.vals[k]
}

func (s *seen) counts() (ready, restarts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ready, len(s.restarts)
}

// waitVal waits until Run has applied k = want.
func (s *seen) waitVal(t *testing.T, k, want string) {
	t.Helper()
	testkit.CheckFor(t, 20*time.Second, func() error {
		if got := s.val(k); got != want {
			return fmt.Errorf("%s = %q, want %q", k, got, want)
		}
		return nil
	})
}

// run starts Run in a goroutine; the returned func stops it and checks it
// returned nil promptly.
func run(t *testing.T, cfg kvfollow.Config) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- kvfollow.Run(ctx, cfg) }()
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v, want nil once its context ended", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	}
}

// restartable is a server the test stops and starts again on the same
// port and store, a client that reconnects to it, and the bucket.
type restartable struct {
	port int
	dir  string
	srv  *server.Server
	nc   *nats.Conn
	kv   jetstream.KeyValue
}

func startRestartable(t *testing.T) *restartable {
	h := &restartable{port: testkit.FreePorts(t, 1)[0], dir: t.TempDir()}
	h.start(t)
	h.nc = testkit.Connect(t, h.srv, nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	h.kv = bucket(t, h.nc)
	return h
}

func (h *restartable) start(t *testing.T) { h.srv = startAt(t, h.port, h.dir) }

func (h *restartable) stop() {
	h.srv.Shutdown()
	h.srv.WaitForShutdown()
}

// startAt starts a JetStream server on port with its store in dir (a
// restart when dir holds an earlier server's store).
func startAt(t *testing.T, port int, dir string) *server.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := natsserver.Start(ctx, &server.Options{
		ServerName: "kvfollow", Host: "127.0.0.1", Port: port, NoSigs: true, JetStream: true, StoreDir: dir,
	}, natsserver.Config{Log: natsserver.Log{Logger: testkit.Logger(t)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	return srv
}

func bucket(t *testing.T, nc *nats.Conn) jetstream.KeyValue {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.CreateKeyValue(context.Background(), jetstream.KeyValueConfig{Bucket: "FOLLOWED"})
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func put(t *testing.T, kv jetstream.KeyValue, k, v string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := kv.PutString(ctx, k, v); err != nil {
		t.Fatalf("put %s: %v", k, err)
	}
}

// A watch that cannot start (the server is down when the node starts) is
// tried again until it starts; then the bucket's entries are applied and
// Ready is called once.
func TestRun_StartsAWatchThatCouldNotStart(t *testing.T) {
	h := startRestartable(t)
	put(t, h.kv, "site-1", "key-a")
	h.stop()
	kv := h.kv

	s := newSeen()
	stop := run(t, s.config(kv))
	defer stop()
	testkit.CheckFor(t, 20*time.Second, func() error {
		if _, n := s.counts(); n < 2 {
			return fmt.Errorf("%d restarts while the server is down, want 2 or more", n)
		}
		return nil
	})
	if ready, _ := s.counts(); ready != 0 {
		t.Fatalf("Ready called %d times with no watch started", ready)
	}

	h.start(t)
	s.waitVal(t, "site-1", "key-a")
	put(t, kv, "site-1", "key-b")
	s.waitVal(t, "site-1", "key-b")
	if ready, _ := s.counts(); ready != 1 {
		t.Fatalf("Ready called %d times, want 1", ready)
	}
	s.mu.Lock()
	first := s.restarts[0]
	s.mu.Unlock()
	if first == nil {
		t.Fatal("a restart was reported without its reason")
	}
}

// A watch that ends while it is still wanted (the server dropped it) is
// started again, and what changed meanwhile is applied.
func TestRun_StartsAgainAWatchThatEnded(t *testing.T) {
	srv := testkit.StartServer(t, "")
	kv := bucket(t, testkit.Connect(t, srv))
	put(t, kv, "u1", "admin")

	s := newSeen()
	cfg := s.config(kv)
	var mu sync.Mutex
	var watches []jetstream.KeyWatcher
	watch := cfg.Watch
	cfg.Watch = func(ctx context.Context) (jetstream.KeyWatcher, error) {
		w, err := watch(ctx)
		if err == nil {
			mu.Lock()
			watches = append(watches, w)
			mu.Unlock()
		}
		return w, err
	}
	stop := run(t, cfg)
	defer stop()
	s.waitVal(t, "u1", "admin")

	mu.Lock()
	first := watches[0]
	mu.Unlock()
	if err := first.Stop(); err != nil { // as the server ending it would
		t.Fatal(err)
	}
	put(t, kv, "u1", "revoked")
	put(t, kv, "u2", "ops")
	s.waitVal(t, "u1", "revoked")
	s.waitVal(t, "u2", "ops")
	mu.Lock()
	n := len(watches)
	mu.Unlock()
	if n < 2 {
		t.Fatalf("%d watches started, want a second after the first ended", n)
	}
	ready, restarts := s.counts()
	if ready != 1 || restarts < 1 {
		t.Fatalf("ready %d, restarts %d: want 1 and at least 1", ready, restarts)
	}
}

// A server restart under a running follower does not stop it following,
// and with Conn set it follows again as soon as the client reconnects.
func TestRun_FollowsAcrossAServerRestart(t *testing.T) {
	h := startRestartable(t)
	kv := h.kv
	put(t, kv, "k", "1")
	s := newSeen()
	cfg := s.config(kv)
	cfg.Conn = h.nc
	stop := run(t, cfg)
	defer stop()
	s.waitVal(t, "k", "1")

	h.stop()
	h.start(t)
	t0 := time.Now()
	testkit.CheckFor(t, 20*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := kv.PutString(ctx, "k", "2")
		return err
	})
	// Within well under the ~20 s a watch takes to notice by itself.
	testkit.CheckFor(t, 8*time.Second, func() error {
		if got := s.val("k"); got != "2" {
			return fmt.Errorf("k = %q %v after the server restarted, want \"2\"", got, time.Since(t0))
		}
		return nil
	})
	if _, restarts := s.counts(); restarts < 1 {
		t.Fatal("the watch was not started again after the reconnect")
	}
}

// Run refuses a Config it cannot follow with.
func TestRun_NeedsWatchAndApply(t *testing.T) {
	err := kvfollow.Run(context.Background(), kvfollow.Config{Apply: func(jetstream.KeyValueEntry) {}})
	if err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("Run without Watch = %v, want a Config error", err)
	}
	err = kvfollow.Run(context.Background(), kvfollow.Config{Watch: func(context.Context) (jetstream.KeyWatcher, error) { return nil, nil }})
	if err == nil {
		t.Fatal("Run without Apply returned nil")
	}
}
