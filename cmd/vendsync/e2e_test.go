package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
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

	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/provision"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/tlsca"
	"github.com/vendsync/vendsync/sync/wire"
)

// binary is the vendsync binary TestMain builds for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vendsync-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "vendsync")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build vendsync: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run runs the binary to completion and returns its stdout; a non-zero exit fails t.
func run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runErr(t, args...)
	if err != nil {
		t.Fatalf("vendsync %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

// proc is a long-running vendsync process.
type proc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    bytes.Buffer
	lines  chan string
	done   chan struct{}
	waitEr error
}

func start(t *testing.T, args ...string) *proc {
	t.Helper()
	return startBin(t, binary, args...)
}

// startBin is start with another build of the binary.
func startBin(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, append(args, "--log-level", "warn", "--log-format", "json")...), lines: make(chan string, 100), done: make(chan struct{})}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = &lockedWriter{p: p}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		p.waitEr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(t) })
	return p
}

type lockedWriter struct{ p *proc }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.out.Write(b)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// expect waits for a stdout line matching re and returns its submatches.
func (p *proc) expect(t *testing.T, re string, timeout time.Duration) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(timeout)
	for {
		select {
		case l := <-p.lines:
			if m := rx.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-p.done:
			t.Fatalf("%s exited (%v) before printing %q:\n%s", p.cmd.Args, p.waitEr, re, p.output())
		case <-deadline:
			t.Fatalf("%s: no line %q after %s:\n%s", p.cmd.Args, re, timeout, p.output())
		}
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.waitEr != nil {
			t.Errorf("%s: exit after SIGTERM: %v\n%s", p.cmd.Args, p.waitEr, p.output())
		}
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		t.Errorf("%s did not stop within 20s of SIGTERM", p.cmd.Args)
	}
}

// newEdgeClient is a client of the edge at base with the credentials in a file.
func newEdgeClient(t *testing.T, base, credsFile, caFile string) *client.Edge {
	t.Helper()
	creds, err := client.ReadCredentials(credsFile)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := tlsca.ClientConfig(caFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.NewEdge(base, creds, client.Options{TLS: tc})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// syncState is the site's GET /sync, failing t if it cannot be read.
func syncState(t *testing.T, c *client.Edge) edgeapi.SyncState {
	t.Helper()
	s, err := c.Sync(t.Context())
	if err != nil {
		t.Fatalf("GET /sync: %v", err)
	}
	return s
}

// e2eSite is one provisioned and running site.
type e2eSite struct {
	id, dir, url string
	proc         *proc
	admin        *client.Edge
	machines     map[string]*client.Edge
	sold         int64 // cents
	tx           int64
}

// ca is the CA certificate the site's clients pin (the fleet CA, written
// by provision site).
func (s *e2eSite) ca() string { return filepath.Join(s.dir, tlsca.TLSDir, tlsca.CAFile) }

func (s *e2eSite) sell(t *testing.T, n int, tag string) {
	t.Helper()
	i := 0
	for id, m := range s.machines {
		for j := 0; j < n; j++ {
			q := int64(1 + (i+j)%3)
			tx := fmt.Sprintf("%s-%s-%s-%d", s.id, tag, id, j)
			if _, err := m.Sale(t.Context(), edgeapi.Sale{TransactionID: tx, MachineID: id, ProductID: "COLA",
				Quantity: q, Amount: wire.Money(250 * q), PaymentMethod: "CARD", Timestamp: time.Now().UTC().Format(time.RFC3339Nano),
			}); err != nil {
				t.Fatalf("sale %s: %v", tx, err)
			}
			s.sold += 250 * q
			s.tx++
		}
		i++
	}
}

// sitesTotals reads `vendsync query sales --by site --format json`.
// cliPoll is how often a test polls a condition that runs the CLI: every
// `vendsync query` signs in anew, and central answers at most 10 token
// requests a second from one address (after a burst of 50), so polling at
// testkit.PollInterval was rate limited wherever the CLI runs fast.
const cliPoll = 250 * time.Millisecond

func sitesTotals(t *testing.T, hq, creds string) map[string][2]int64 {
	t.Helper()
	var a struct {
		Rows []struct {
			Key          string          `json:"key"`
			Transactions int64           `json:"transactions"`
			Revenue      json.RawMessage `json:"revenue"`
		} `json:"rows"`
	}
	out := run(t, "query", "sales", "--central", hq, "--credentials", creds, "--by", "site", "--window", "month", "--format", "json")
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatalf("query sales json: %v\n%s", err, out)
	}
	got := map[string][2]int64{}
	for _, r := range a.Rows {
		v := got[r.Key]
		v[0] += r.Transactions
		v[1] += cents(t, string(r.Revenue))
		got[r.Key] = v
	}
	return got
}

func cents(t *testing.T, s string) int64 {
	t.Helper()
	f, err := strconv.ParseFloat(strings.Trim(s, `"`), 64)
	if err != nil {
		t.Fatalf("money %q: %v", s, err)
	}
	return int64(f*100 + 0.5)
}

// TestE2E_ProvisionSyncQueryRevoke drives the real binary as an installer
// and HQ would: central, two provisioned sites with machines, sales over
// HTTP, one site's link cut and restored, queries in JSON and CSV, and a
// revoked site refused.
func TestE2E_ProvisionSyncQueryRevoke(t *testing.T) {
	work := t.TempDir()
	hqCreds := filepath.Join(work, "central", "admin-credentials.json")

	c := start(t, "central", "run", "--dir", filepath.Join(work, "central"), "--http", "127.0.0.1:0", "--leaf", "127.0.0.1:-1")
	m := c.expect(t, `HQ API (https://\S+), sites connect to (nats-leaf://\S+); fleet CA certificate (\S+)`, 60*time.Second)
	hq, leaf := m[1], m[2]
	// Every command below pins the fleet CA, as an installer given central's
	// ca.pem would (VENDSYNC_CA is the root's --ca).
	t.Setenv("VENDSYNC_CA", m[3])
	// Site b reaches central through a link the test can cut.
	link := testkit.NewLink(t, leaf)

	sites := map[string]*e2eSite{}
	for _, s := range []struct{ id, city, tz, hub string }{
		{"blr-e2e", "Bangalore", "Asia/Kolkata", leaf},
		{"ber-e2e", "Berlin", "Europe/Berlin", link.URL()},
	} {
		dir := filepath.Join(work, s.id)
		args := []string{"provision", "site", "--central", hq, "--credentials", hqCreds, "--site", s.id, "--city", s.city,
			"--timezone", s.tz, "--lat", "12.9", "--lng", "13.4", "--hub", s.hub, "--http", "127.0.0.1:0", "--out", dir}
		out := run(t, args...)
		if !strings.Contains(out, "provisioned in "+dir) {
			t.Fatalf("provision site: %s", out)
		}
		if again := run(t, args...); !strings.Contains(again, "nothing to do") {
			t.Fatalf("re-running provision site: %q, want nothing to do", again)
		}
		seed, err := os.ReadFile(filepath.Join(dir, provision.LeafSeedFile))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, strings.TrimSpace(string(seed))) {
			t.Fatal("provision site printed the seed")
		}
		if fi, _ := os.Stat(filepath.Join(dir, provision.LeafSeedFile)); fi.Mode().Perm() != 0o600 {
			t.Fatalf("seed mode %v, want 0600", fi.Mode().Perm())
		}
		ids := s.id + "-m1," + s.id + "-m2"
		run(t, "provision", "machine", "--dir", dir, "--machine", ids, "--city", s.city, "--building", "HQ", "--payment-methods", "CASH,CARD", "--out-dir", filepath.Join(dir, "machines"))
		p := start(t, "edge", "run", "--config", filepath.Join(dir, provision.ConfigFile))
		url := p.expect(t, `edge \S+ listening on (https://\S+)`, 30*time.Second)[1]
		site := &e2eSite{id: s.id, dir: dir, url: url, proc: p, machines: map[string]*client.Edge{}}
		site.admin = newEdgeClient(t, url, filepath.Join(dir, "admin-credentials.json"), site.ca())
		for _, id := range strings.Split(ids, ",") {
			price, qty := wire.Money(250), int64(100000)
			if _, err := site.admin.AddProduct(t.Context(), id, edgeapi.NewProduct{ProductID: "COLA", Name: "Cola", Price: &price, Quantity: &qty}); err != nil {
				t.Fatalf("add product to %s: %v", id, err)
			}
			site.machines[id] = newEdgeClient(t, url, filepath.Join(dir, "machines", id+".json"), site.ca())
		}
		sites[s.id] = site
	}
	// A site registered at central but missing locally needs --rotate.
	if out, err := runErr(t, "provision", "site", "--central", hq, "--credentials", hqCreds, "--site", "blr-e2e", "--city", "Bangalore",
		"--timezone", "Asia/Kolkata", "--hub", leaf, "--out", filepath.Join(work, "elsewhere")); err == nil || !strings.Contains(out, "--rotate") {
		t.Fatalf("provision site into an empty dir for a registered site: err %v, out %q; want a --rotate hint", err, out)
	}
	// Bad input is refused before anything is done.
	if out, err := runErr(t, "provision", "site", "--central", hq, "--credentials", hqCreds, "--site", "x", "--city", "X",
		"--timezone", "Mars/Olympus", "--hub", leaf, "--out", filepath.Join(work, "x")); err == nil || !strings.Contains(out, "--timezone") {
		t.Fatalf("bad timezone: err %v, out %q", err, out)
	}

	blr, ber := sites["blr-e2e"], sites["ber-e2e"]
	blr.sell(t, 20, "first")
	ber.sell(t, 15, "first")
	converged := func(want ...*e2eSite) func() error {
		return func() error {
			got := sitesTotals(t, hq, hqCreds)
			for _, s := range want {
				if got[s.id] != [2]int64{s.tx, s.sold} {
					return fmt.Errorf("central %v, want %s %d tx %d cents", got, s.id, s.tx, s.sold)
				}
			}
			return nil
		}
	}
	testkit.CheckForEvery(t, 30*time.Second, cliPoll, converged(blr, ber)) // both sites at central

	// Berlin's link goes down; it keeps selling; central keeps its old figure.
	link.Cut()
	before := ber.sold
	ber.sell(t, 10, "offline")
	blr.sell(t, 5, "second")
	testkit.CheckForEvery(t, 30*time.Second, cliPoll, converged(blr)) // bangalore's new sales
	time.Sleep(500 * time.Millisecond)
	if got := sitesTotals(t, hq, hqCreds)[ber.id][1]; got != before {
		t.Fatalf("berlin at central while offline: %d cents, want %d", got, before)
	}

	// CSV: header and one row per site with the same figures.
	out := run(t, "query", "sales", "--central", hq, "--credentials", hqCreds, "--by", "site", "--window", "month", "--format", "csv")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v\n%s", err, out)
	}
	if got, want := strings.Join(recs[0], ","), "site,bucket,transactions,quantity,revenue"; got != want {
		t.Fatalf("csv header %q, want %q", got, want)
	}
	csvCents := map[string]int64{}
	for _, r := range recs[1:] {
		csvCents[r[0]] += cents(t, r[4])
	}
	if csvCents[blr.id] != blr.sold || csvCents[ber.id] != before {
		t.Fatalf("csv revenue %v, want %s %d and %s %d", csvCents, blr.id, blr.sold, ber.id, before)
	}
	// By machine: each row names the machine's site (ids may repeat across
	// sites), and the rows sum to the same figures.
	out = run(t, "query", "sales", "--central", hq, "--credentials", hqCreds, "--by", "machine", "--window", "month", "--format", "csv")
	recs, err = csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("csv by machine: %v\n%s", err, out)
	}
	if got, want := strings.Join(recs[0], ","), "site,machine,bucket,transactions,quantity,revenue"; got != want {
		t.Fatalf("csv by machine header %q, want %q", got, want)
	}
	machineCents := map[string]int64{}
	for _, r := range recs[1:] {
		if !strings.HasPrefix(r[1], r[0]+"-") {
			t.Fatalf("machine %s listed under site %q", r[1], r[0])
		}
		machineCents[r[0]] += cents(t, r[5])
	}
	if machineCents[blr.id] != blr.sold || machineCents[ber.id] != before {
		t.Fatalf("csv by machine revenue %v, want %s %d and %s %d", machineCents, blr.id, blr.sold, ber.id, before)
	}
	sitesOut := run(t, "query", "sites", "--central", hq, "--credentials", hqCreds, "--format", "csv")
	if !strings.Contains(sitesOut, blr.id) || !strings.Contains(sitesOut, ber.id) {
		t.Fatalf("query sites: %s", sitesOut)
	}

	// Berlin's process stops while offline (a power cut, cleanly) and starts
	// again from its config: the outbox survived, and it drains once the
	// link comes back. Its offline sales arrive exactly once.
	ber.proc.stop(t)
	link.Restore("")
	ber.proc = start(t, "edge", "run", "--config", filepath.Join(ber.dir, provision.ConfigFile))
	ber.url = ber.proc.expect(t, `edge \S+ listening on (https://\S+)`, 30*time.Second)[1]
	ber.admin = newEdgeClient(t, ber.url, filepath.Join(ber.dir, "admin-credentials.json"), ber.ca())
	for id := range ber.machines {
		ber.machines[id] = newEdgeClient(t, ber.url, filepath.Join(ber.dir, "machines", id+".json"), ber.ca())
	}
	testkit.CheckForEvery(t, 60*time.Second, cliPoll, converged(blr, ber)) // berlin converged after the link came back

	// Reports: the daily reports and a streamed export carry the same
	// figures. A daily report counts each site's own calendar day, and in
	// Bangalore and Berlin "today" may already be tomorrow or still
	// yesterday, so the days around today together hold every sale.
	var daily struct {
		Totals struct {
			Transactions int64           `json:"transactions"`
			Revenue      json.RawMessage `json:"revenue"`
		} `json:"totals"`
	}
	var dailyTx int64
	for d := -1; d <= 1; d++ {
		date := time.Now().AddDate(0, 0, d).Format(time.DateOnly)
		out = run(t, "report", "daily", "--central", hq, "--credentials", hqCreds, "--date", date, "--format", "json")
		if err := json.Unmarshal([]byte(out), &daily); err != nil {
			t.Fatalf("report daily %s: %v\n%s", date, err, out)
		}
		dailyTx += daily.Totals.Transactions
	}
	// Sales are stamped now: in Bangalore and Berlin "today" may already
	// be tomorrow or still yesterday, so ask for the three days around it.
	exportFile := filepath.Join(work, "export.csv")
	from, to := time.Now().AddDate(0, 0, -1).Format(time.DateOnly), time.Now().AddDate(0, 0, 2).Format(time.DateOnly)
	run(t, "report", "export", "--central", hq, "--credentials", hqCreds, "--by", "site", "--window", "day", "--from", from, "--to", to, "--out", exportFile)
	b, err := os.ReadFile(exportFile)
	if err != nil {
		t.Fatal(err)
	}
	recs, err = csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("export csv: %v\n%s", err, b)
	}
	var exported int64
	for _, r := range recs[1:] {
		exported += cents(t, r[4])
	}
	if exported != blr.sold+ber.sold {
		t.Fatalf("export: %d cents, want %d", exported, blr.sold+ber.sold)
	}
	if dailyTx == 0 || dailyTx > blr.tx+ber.tx {
		t.Fatalf("daily reports around today: %d transactions, want 1..%d", dailyTx, blr.tx+ber.tx)
	}

	// Revoked: Berlin's leaf is disconnected and refused; its outbox stops draining.
	run(t, "provision", "revoke", "--central", hq, "--credentials", hqCreds, "--site", ber.id)
	testkit.CheckFor(t, 20*time.Second, func() error {
		if s := syncState(t, ber.admin); s.Uplink.Connected {
			return fmt.Errorf("berlin still connected: %+v", s)
		}
		return nil
	})
	revokedAt := ber.sold
	ber.sell(t, 3, "revoked")
	time.Sleep(3 * time.Second) // long enough for several reconnect attempts
	s := syncState(t, ber.admin)
	if s.Uplink.Connected || s.Outbox.Depth == 0 {
		t.Fatalf("revoked site: %+v, want disconnected with a non-empty outbox", s)
	}
	if got := sitesTotals(t, hq, hqCreds)[ber.id][1]; got != revokedAt {
		t.Fatalf("revoked site's sales reached central: %d cents, want %d", got, revokedAt)
	}
	// --rotate reinstalls Bangalore elsewhere: a new key, and the old one
	// (still used by the running edge) stops working.
	out = run(t, "provision", "site", "--central", hq, "--credentials", hqCreds, "--site", blr.id, "--city", "Bangalore",
		"--timezone", "Asia/Kolkata", "--hub", leaf, "--out", filepath.Join(work, "elsewhere"), "--rotate")
	if !strings.Contains(out, "provisioned in") {
		t.Fatalf("provision site --rotate: %s", out)
	}
	testkit.CheckFor(t, 20*time.Second, func() error {
		if s := syncState(t, blr.admin); s.Uplink.Connected {
			return fmt.Errorf("bangalore's old key still connected: %+v", s)
		}
		return nil
	})
	list := run(t, "provision", "list", "--central", hq, "--credentials", hqCreds, "--format", "csv")
	if !regexp.MustCompile(ber.id + `,[^\n]*,revoked,`).MatchString(list) {
		t.Fatalf("provision list does not show %s revoked:\n%s", ber.id, list)
	}
}

// TestE2E_Demo runs `vendsync demo` briefly: the fleet starts, one site's
// link goes down and comes back, and at the end central's totals equal the
// sum of the sites' on every node (else the demo exits non-zero).
func TestE2E_Demo(t *testing.T) {
	dir := t.TempDir()
	began := time.Now()
	out, err := runErr(t, "demo", "--duration", "20s", "--offline-after", "4s", "--offline-for", "6s", "--dir", dir, "--refresh", "1s")
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	t.Logf("demo took %s", time.Since(began).Round(time.Second))
	for _, want := range []string{"HQ API", "admin-credentials.json", "Bangalore", "Berlin", "New York", "nyc-midtown", "sum of the sites", "equal the sum of the sites", "(its link to central will go down and come back)"} {
		if !strings.Contains(out, want) {
			t.Fatalf("demo output lacks %q:\n%s", want, out)
		}
	}
	m := regexp.MustCompile(`fleet up in (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no start-up time in:\n%s", out)
	}
	if d, err := time.ParseDuration(m[1]); err != nil || d > 45*time.Second {
		t.Fatalf("start-up took %s, want well under a minute", m[1])
	}
	sum := regexp.MustCompile(`sum of the sites\s+(\d+)\s+(\S+)`).FindStringSubmatch(out)
	if sum == nil || sum[1] == "0" {
		t.Fatalf("no sales summed:\n%s", out)
	}
	for i := 1; i <= 3; i++ {
		node := regexp.MustCompile(fmt.Sprintf(`central-%d\s+(\d+)\s+(\S+)`, i)).FindStringSubmatch(out)
		if node == nil || node[1] != sum[1] || node[2] != sum[2] {
			t.Fatalf("central-%d totals %v, want %v:\n%s", i, node, sum[1:], out)
		}
	}
	// --dir keeps the data; the log went to a file, not the terminal.
	if _, err := os.Stat(filepath.Join(dir, "demo.log")); err != nil {
		t.Fatalf("--dir %s does not hold the demo's log: %v", dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "site-nyc-midtown", provision.ConfigFile)); err != nil {
		t.Fatalf("--dir %s does not hold the demo's data", dir)
	}
	logs, _ := os.ReadFile(filepath.Join(dir, "demo.log"))
	for i, line := range bytes.Split(bytes.TrimSpace(logs), []byte("\n")) {
		if k := repeatedKey(line); k != "" {
			t.Fatalf("demo.log line %d has %q twice: %s", i+1, k, line)
		}
	}
	if !strings.Contains(string(logs), "cutting the site's link") || !regexp.MustCompile(`"wasOffline":true[^\n]*demo: link restored`).Match(logs) {
		t.Fatalf("the New York site's link never went down and came back (demo.log)")
	}
}

// repeatedKey returns a key that a JSON log line's object holds twice ("" if
// none, or if the line is not an object).
func repeatedKey(line []byte) string {
	dec := json.NewDecoder(bytes.NewReader(line))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return ""
		}
		k, _ := t.(string)
		if seen[k] {
			return k
		}
		seen[k] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return ""
		}
	}
	return ""
}
