package natsserver

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/rs/zerolog"
)

// lines is a concurrency-safe log sink that decodes zerolog's JSON lines.
type lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lines) all(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, ln := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if ln == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(ln), &m); err != nil {
			t.Fatalf("log line %q: %v", ln, err)
		}
		out = append(out, m)
	}
	return out
}

func TestStart_JetStreamServerIsReady(t *testing.T) {
	var out lines
	srv, err := Start(context.Background(), &server.Options{ServerName: "t", DontListen: true, JetStream: true, StoreDir: t.TempDir()},
		Config{Log: Log{Logger: zerolog.New(&out).Level(zerolog.InfoLevel)}, ReadyTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	if !srv.JetStreamEnabled() {
		t.Fatal("jetstream not enabled after Start")
	}
	if err := WaitCurrent(context.Background(), srv); err != nil {
		t.Fatalf("single server not current: %v", err)
	}
	// The banner is a notice: not logged at the default level.
	if got := out.all(t); len(got) != 0 {
		t.Fatalf("logged %d lines at the default level, want 0; first: %v", len(got), got[0])
	}
}

func TestStart_FailsWhenJetStreamDoesNotStart(t *testing.T) {
	// A store directory that is a file: the server starts, JetStream does not.
	store := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(store, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	srv, err := Start(context.Background(), &server.Options{ServerName: "t", DontListen: true, JetStream: true, StoreDir: store},
		Config{Log: Log{Logger: zerolog.Nop()}, ReadyTimeout: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "JetStream") {
		t.Fatalf("Start = %v, %v; want JetStream's start error", srv, err)
	}
	if took := time.Since(began); took > 30*time.Second {
		t.Fatalf("Start failed after %s, want at once", took)
	}
}

func TestStart_FailsAtOnceWhenThePortIsTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	began := time.Now()
	_, err = Start(context.Background(), &server.Options{ServerName: "t", Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: t.TempDir()},
		Config{Log: Log{Logger: zerolog.Nop()}, ReadyTimeout: time.Minute})
	if err == nil || !strings.Contains(err.Error(), strconv.Itoa(port)) {
		t.Fatalf("Start = %v, want an error naming port %d", err, port)
	}
	if took := time.Since(began); took > 30*time.Second {
		t.Fatalf("Start failed after %s, want at once", took)
	}
}

func TestParseLevel(t *testing.T) {
	info := zerolog.New(nil).Level(zerolog.InfoLevel)
	debug := zerolog.New(nil).Level(zerolog.DebugLevel)
	tests := []struct {
		name    string
		level   string
		log     zerolog.Logger
		want    zerolog.Level
		wantErr bool
	}{
		{name: "default is warn", level: "", log: info, want: zerolog.WarnLevel},
		{name: "default under a debug logger is info", level: "", log: debug, want: zerolog.InfoLevel},
		{name: "asked", level: "debug", log: info, want: zerolog.DebugLevel},
		{name: "unknown", level: "loud", log: info, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseLevel(tc.level, tc.log)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseLevel(%q) error = %v, wantErr %v", tc.level, err, tc.wantErr)
			}
			if err == nil && got != tc.want {
				t.Fatalf("ParseLevel(%q) = %v, want %v", tc.level, got, tc.want)
			}
		})
	}
}

func TestLogger_RepeatedErrorsAreRateLimitedWithAHint(t *testing.T) {
	var out lines
	l := newLogger(Log{Logger: zerolog.New(&out).Level(zerolog.InfoLevel), Repeat: time.Minute,
		Hints: []Hint{{Match: "Authorization Violation", Hint: "re-provision"}}})
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return now }

	// A refused leaf connection, retried every 2s for 3 minutes, with a new
	// connection id each time.
	for i := range 90 {
		l.Errorf("%s - lid:%d - Leafnode Error 'Authorization Violation'", "127.0.0.1:7422", i)
		l.Noticef("Leafnode connection created")
		now = now.Add(2 * time.Second)
	}
	l.Warnf("another warning")

	got := out.all(t)
	if n, want := len(got), 4; n != want {
		t.Fatalf("logged %d lines, want %d (3 of the repeated error, 1 warning): %v", n, want, got)
	}
	for i, m := range got[:3] {
		if m["level"] != "error" || m["hint"] != "re-provision" {
			t.Fatalf("line %d = %v, want an error with the hint", i, m)
		}
	}
	if _, ok := got[0]["repeated"]; ok {
		t.Fatalf("first line carries repeated: %v", got[0])
	}
	if got, want := got[1]["repeated"], float64(29); got != want {
		t.Fatalf("second line repeated = %v, want %v", got, want)
	}
	if got[3]["message"] != "another warning" {
		t.Fatalf("last line = %v, want the other warning", got[3])
	}
}
