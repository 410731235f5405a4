package doctor

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/tlsca"
)

// newDir makes a data directory as a provisioned site has it: a SQLite
// database, a seed, credentials and the site's certificates, all 0600 in
// 0700 directories.
func newDir(t *testing.T, now time.Time) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "site")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "site.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA journal_mode=WAL; CREATE TABLE outbox (seq INTEGER PRIMARY KEY, body TEXT); INSERT INTO outbox (body) VALUES ('x')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := os.Chmod(filepath.Join(dir, "site.db"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"leaf.seed", "admin-credentials.json"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ca, err := tlsca.New("test fleet", now)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue("site", []string{"localhost"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlsca.WriteSite(dir, leaf.CertPEM, leaf.KeyPEM, ca.CertPEM); err != nil {
		t.Fatal(err)
	}
	return dir
}

// centralAt is a real HTTP server whose Date header is off by skew.
func centralAt(t *testing.T, skew time.Duration) func(ctx context.Context) (time.Time, error) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", time.Now().Add(skew).UTC().Format(http.TimeFormat))
		w.Write([]byte(`{"status":"ok"}`))
	}))
	t.Cleanup(srv.Close)
	return HTTPDate(srv.Client(), srv.URL+"/healthz")
}

func run(t *testing.T, cfg Config) *Report {
	t.Helper()
	cfg.Role, cfg.DBFile = "central", "site.db" // no site API in these tests
	r, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDoctor_HealthyDirIsOK(t *testing.T) {
	dir := newDir(t, time.Now())
	r := run(t, Config{Dir: dir})
	for _, c := range r.Results {
		if c.Check == "version" {
			continue // no HQ API given: a WARN saying so
		}
		if c.Status != OK {
			t.Errorf("%s: %s %s (fix: %s)", c.Check, c.Status, c.Detail, c.Fix)
		}
	}
	// A second run measures the growth rate from the first one's sample.
	later := time.Now().Add(24 * time.Hour)
	r = run(t, Config{Dir: dir, Now: func() time.Time { return later }})
	if g, _ := r.Get("disk growth"); g.Status != OK || !strings.Contains(g.Detail, "MiB/day") {
		t.Fatalf("disk growth on the second run: %+v", g)
	}
}

func TestDoctor_WorldReadableKeyFails(t *testing.T) {
	tests := []struct {
		name, file string
		mode       os.FileMode
		fix        string
	}{
		{"tls key", filepath.Join("tls", "site.key"), 0o644, "chmod 600 "},
		{"leaf seed", "leaf.seed", 0o604, "chmod 600 "},
		{"database", "site.db", 0o640, "chmod 600 "},
		{"directory", "tls", 0o755, "chmod 700 "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newDir(t, time.Now())
			path := filepath.Join(dir, tt.file)
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			r := run(t, Config{Dir: dir})
			c, _ := r.Get("file modes")
			if c.Status != Fail || !strings.Contains(c.Detail, path) || !strings.Contains(c.Fix, tt.fix+path) {
				t.Fatalf("file modes: %+v; want FAIL naming %s and %q", c, path, tt.fix+path)
			}
			if !r.Failed() {
				t.Fatal("the report does not fail")
			}
		})
	}
}

func TestDoctor_ClockSkew(t *testing.T) {
	tests := []struct {
		name string
		skew time.Duration
		want Status
	}{
		{"in step", 0, OK},
		{"20 s behind central", 20 * time.Second, Warn},
		{"10 min ahead of central", -10 * time.Minute, Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Run(t.Context(), Config{Role: "site", Dir: newDir(t, time.Now()), DBFile: "site.db", CentralClock: centralAt(t, tt.skew)})
			if err != nil {
				t.Fatal(err)
			}
			c, _ := r.Get("clock")
			if c.Status != tt.want {
				t.Fatalf("clock: %+v, want %s", c, tt.want)
			}
			if tt.want != OK && !strings.Contains(c.Fix, "timedatectl") {
				t.Fatalf("clock fix %q says nothing of how to synchronise", c.Fix)
			}
		})
	}
}

func TestDoctor_CorruptDatabaseFails(t *testing.T) {
	dir := newDir(t, time.Now())
	path := filepath.Join(dir, "site.db")
	// Checkpoint the WAL, then overwrite the header of the second page (the
	// table's b-tree).
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte(strings.Repeat("\xff", 64)), 4096); err != nil {
		t.Fatal(err)
	}
	f.Close()
	c, _ := run(t, Config{Dir: dir}).Get("database")
	if c.Status != Fail || !strings.Contains(c.Fix, "backup") {
		t.Fatalf("database: %+v, want FAIL with a restore hint", c)
	}
}

func TestDoctor_ExpiredCertificateFails(t *testing.T) {
	dir := newDir(t, time.Now().Add(-3*365*24*time.Hour)) // issued 3 years ago: the 2-year leaf expired
	c, _ := run(t, Config{Dir: dir}).Get("certificates")
	if c.Status != Fail || !strings.Contains(c.Detail, "site.crt expired") {
		t.Fatalf("certificates: %+v, want FAIL naming site.crt", c)
	}
}
