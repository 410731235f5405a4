package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/doctor"
	"github.com/vendsync/vendsync/internal/provision"
	"github.com/vendsync/vendsync/internal/testkit"
)

// doctorReport runs `vendsync doctor … --json` and returns its report and
// whether it exited 0.
func doctorReport(t *testing.T, args ...string) (*doctor.Report, bool) {
	t.Helper()
	out, err := runErr(t, append([]string{"doctor", "--json"}, args...)...)
	var r doctor.Report
	if jerr := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &r); jerr != nil {
		t.Fatalf("doctor %v: %v\n%s", args, jerr, out)
	}
	return &r, err == nil
}

// TestE2E_Doctor runs the doctor against a real central and a real site:
// all OK when healthy; a world-readable seed and a skewed clock fail with
// the file, the chmod and the clock named.
func TestE2E_Doctor(t *testing.T) {
	work := t.TempDir()
	centralDir := filepath.Join(work, "central")
	hqCreds := filepath.Join(centralDir, "admin-credentials.json")
	c := start(t, "central", "run", "--dir", centralDir, "--http", "127.0.0.1:0", "--leaf", "127.0.0.1:-1")
	m := c.expect(t, `HQ API (https://\S+), sites connect to (nats-leaf://\S+); fleet CA certificate (\S+)`, 60*time.Second)
	hq, leaf := m[1], m[2]
	t.Setenv("VENDSYNC_CA", m[3])

	dir := filepath.Join(work, "doc-site")
	run(t, "provision", "site", "--central", hq, "--credentials", hqCreds, "--site", "doc-site", "--city", "Berlin",
		"--timezone", "Europe/Berlin", "--hub", leaf, "--http", "127.0.0.1:0", "--out", dir)
	p := start(t, "edge", "run", "--config", filepath.Join(dir, provision.ConfigFile))
	edgeURL := p.expect(t, `edge \S+ listening on (https://\S+)`, 30*time.Second)[1]

	// Healthy: every check OK once the site has heard central's version.
	testkit.CheckFor(t, 30*time.Second, func() error {
		r, ok := doctorReport(t, "--dir", dir, "--edge", edgeURL, "--central", hq)
		var bad []string
		for _, c := range r.Results {
			if c.Status != doctor.OK {
				bad = append(bad, c.Check+": "+string(c.Status)+" "+c.Detail)
			}
		}
		if len(bad) > 0 || !ok {
			return &checkErr{bad, ok}
		}
		return nil
	})
	// Central's own doctor: no FAIL, the site's version seen.
	r, ok := doctorReport(t, "--central-dir", centralDir, "--central", hq)
	if !ok {
		t.Fatalf("central doctor failed: %+v", r.Results)
	}

	// A seed readable by everyone: FAIL naming the file and the chmod.
	seed := filepath.Join(dir, provision.LeafSeedFile)
	if err := os.Chmod(seed, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runErr(t, "doctor", "--dir", dir, "--edge", edgeURL, "--central", hq)
	if err == nil || !strings.Contains(out, "FAIL") || !strings.Contains(out, seed) || !strings.Contains(out, "chmod 600 "+seed) {
		t.Fatalf("doctor with a world-readable seed: err %v, want exit 1 naming %s and its chmod:\n%s", err, seed, out)
	}
	if err := os.Chmod(seed, 0o600); err != nil {
		t.Fatal(err)
	}

	// A central whose clock is 10 minutes ahead (a real server's Date header).
	skewed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", time.Now().Add(10*time.Minute).UTC().Format(http.TimeFormat))
	}))
	defer skewed.Close()
	r, ok = doctorReport(t, "--dir", dir, "--edge", edgeURL, "--central", skewed.URL)
	if c, _ := r.Get("clock"); ok || c.Status != doctor.Fail || !strings.Contains(c.Detail, "behind central") {
		t.Fatalf("doctor against a skewed central: exit 0 %v, clock %+v", ok, c)
	}
}

type checkErr struct {
	bad []string
	ok  bool
}

func (e *checkErr) Error() string {
	return "doctor exit 0: " + map[bool]string{true: "yes", false: "no"}[e.ok] + "; not OK: " + strings.Join(e.bad, "; ")
}
