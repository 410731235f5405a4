// Package edgetest runs real edge nodes for tests: a site initialized in a
// temporary directory, opened on a random local port, with a settable clock,
// an HTTP client that speaks the API's JSON, and checks of the store's
// invariants (stock, aggregates against raw sales, a gap-free outbox).
package edgetest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/sync/bucket"
)

// Clock is a settable clock for edge.IngestConfig.Now.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Options configure Start. The zero value is a UTC site on the real clock.
type Options struct {
	// Site id (default "test-site"), Timezone (default "UTC").
	Site, Timezone string
	// Clock, when set, drives the writer, the token signer and the API.
	Clock *Clock
	// Configure adjusts the node's config before New.
	Configure func(*edge.Config)
}

// Site is an initialized site with a running node.
type Site struct {
	t     testing.TB
	Dir   string
	Node  *edge.Node
	Clock *Clock
	Admin edge.Credentials
	// HTTP is the site's own client: its idle connections are closed before
	// the node shuts down (net/http's Shutdown waits up to 5s for a dialled
	// connection that never sent a request).
	HTTP *http.Client
	opts Options

	adminToken string
}

// Start initializes a site in a temporary directory and opens a node on
// 127.0.0.1:0. The node is closed when the test ends.
func Start(t testing.TB, o Options) *Site {
	t.Helper()
	if o.Site == "" {
		o.Site = "test-site"
	}
	if o.Timezone == "" {
		o.Timezone = "UTC"
	}
	dir := t.TempDir()
	creds, err := edge.Init(context.Background(), dir, store.SiteInit{ID: o.Site, Name: "Test", City: "Testville", Timezone: o.Timezone})
	if err != nil {
		t.Fatalf("init site: %v", err)
	}
	s := &Site{t: t, Dir: dir, Clock: o.Clock, Admin: creds, opts: o, HTTP: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}}
	s.open()
	t.Cleanup(func() {
		if s.Node != nil {
			s.HTTP.CloseIdleConnections()
			if err := s.Node.Close(); err != nil {
				t.Errorf("close node: %v", err)
			}
			s.Node = nil
		}
	})
	return s
}

func (s *Site) open() {
	s.t.Helper()
	cfg := edge.DefaultConfig()
	cfg.Dir = s.Dir
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.SweepEvery = time.Hour // tests sweep explicitly
	if s.Clock != nil {
		cfg.Ingest.Now = s.Clock.Now
	}
	if s.opts.Configure != nil {
		s.opts.Configure(&cfg)
	}
	n, err := edge.New(cfg)
	if err != nil {
		s.t.Fatalf("new node: %v", err)
	}
	if err := n.Open(context.Background()); err != nil {
		s.t.Fatalf("open node: %v", err)
	}
	s.Node = n
	s.adminToken = ""
}

// Close closes the node (Open opens it again).
func (s *Site) Close() {
	s.t.Helper()
	s.HTTP.CloseIdleConnections()
	if err := s.Node.Close(); err != nil {
		s.t.Fatalf("close node: %v", err)
	}
	s.Node = nil
}

// Open opens a new node on the site's directory after Close.
func (s *Site) Open() {
	s.t.Helper()
	if s.Node != nil {
		s.t.Fatalf("open: the node is already open")
	}
	s.open()
}

// Reopen closes the node and opens a new one on the same directory.
func (s *Site) Reopen() {
	s.t.Helper()
	s.Close()
	s.open()
}

// Now is the site's clock reading (the real clock without a Clock).
func (s *Site) Now() time.Time {
	if s.Clock != nil {
		return s.Clock.Now()
	}
	return time.Now()
}

// URL is the node's base URL.
func (s *Site) URL() string { return s.Node.URL() }

// DB is the node's read pool.
func (s *Site) DB() *sql.DB { return s.Node.Store.DB.R }

// AdminToken returns a token for the initial ADMIN client.
func (s *Site) AdminToken() string {
	s.t.Helper()
	if s.adminToken == "" {
		s.adminToken = s.TokenFor(s.Admin)
	}
	return s.adminToken
}

// Client creates a client with role (bound to machineID for MACHINE).
func (s *Site) Client(role auth.Role, machineID string) edge.Credentials {
	s.t.Helper()
	c, secret, err := s.Node.Store.AddClient(context.Background(), role, machineID, "test "+string(role))
	if err != nil {
		s.t.Fatalf("add %s client: %v", role, err)
	}
	return edge.Credentials{ClientID: c.ClientID, ClientSecret: secret}
}

// Token creates a client with role and returns a token for it.
func (s *Site) Token(role auth.Role, machineID string) string {
	s.t.Helper()
	return s.TokenFor(s.Client(role, machineID))
}

// TokenFor gets a token for creds through POST /auth/token.
func (s *Site) TokenFor(c edge.Credentials) string {
	s.t.Helper()
	r := s.Do("POST", "/auth/token", "", map[string]string{"client_id": c.ClientID, "client_secret": c.ClientSecret, "grant_type": "client_credentials"})
	if r.Status != http.StatusOK {
		s.t.Fatalf("POST /auth/token: %d %s", r.Status, r.Body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	r.Decode(s.t, &tok)
	return tok.AccessToken
}

// Response is an API answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Decode unmarshals the body into v, failing the test if it cannot.
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %d answer %q: %v", r.Status, r.Body, err)
	}
}

// APIError is the API's error body.
type APIError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

// Error decodes the body as {"error":{...}}, failing the test if it is not one.
func (r Response) Error(t testing.TB) APIError {
	t.Helper()
	var body struct {
		Error *APIError `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Error == nil {
		t.Fatalf("answer %d is not the error shape: %q (%v)", r.Status, r.Body, err)
	}
	if body.Error.Code == "" || body.Error.Message == "" {
		t.Fatalf("error without code or message: %q", r.Body)
	}
	return *body.Error
}

// Do sends a request to the node. body may be nil, a string or []byte (sent
// as is), or any value (sent as JSON). headers are name, value pairs.
func (s *Site) Do(method, path, token string, body any, headers ...string) Response {
	s.t.Helper()
	r, err := Send(context.Background(), s.HTTP, s.URL(), method, path, token, body, headers...)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// Send is Do for any base URL, returning the error instead of failing (safe
// to call from goroutines other than the test's).
func Send(ctx context.Context, c *http.Client, base, method, path, token string, body any, headers ...string) (Response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return Response{}, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return Response{}, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, err
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// Count runs a query returning one integer.
func Count(t testing.TB, db *sql.DB, q string, args ...any) int64 {
	t.Helper()
	var n sql.NullInt64
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n.Int64
}

// Counts snapshots the row counts of every table a write may touch.
func Counts(t testing.TB, db *sql.DB) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, tbl := range []string{"vending_machines", "products", "machine_inventory", "sales_events", "telemetry_events",
		"fault_events", "alerts", "audit_logs", "outbox", "sales_agg"} {
		out[tbl] = Count(t, db, "SELECT COUNT(*) FROM "+tbl)
	}
	out["sum(quantity)"] = Count(t, db, "SELECT COALESCE(SUM(quantity), 0) FROM machine_inventory")
	out["sum(agg.tx_count)"] = Count(t, db, "SELECT COALESCE(SUM(tx_count), 0) FROM sales_agg")
	out["last_seq"] = Count(t, db, store.LastSeqQuery)
	return out
}

// Metric returns the value of the sample of metric whose labels include
// every label=value pair in labels (0 if there is none), read from /metrics.
func Metric(t testing.TB, base, metric string, labels map[string]string) float64 {
	t.Helper()
	r, err := Send(context.Background(), &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}, base, "GET", "/metrics", "", nil)
	if err != nil || r.Status != http.StatusOK {
		t.Fatalf("GET /metrics: %v %d", err, r.Status)
	}
	var sum float64
	for _, line := range strings.Split(string(r.Body), "\n") {
		if !strings.HasPrefix(line, metric+"{") && !strings.HasPrefix(line, metric+" ") {
			continue
		}
		ok := true
		for k, v := range labels {
			if !strings.Contains(line, fmt.Sprintf("%s=%q", k, v)) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		var f float64
		if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &f); err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum += f
	}
	return sum
}

// Counter sums the samples of the node's counter metric whose labels include
// every label=value pair in labels, read from its registry (what /metrics
// serves, without scraping it).
func (s *Site) Counter(metric string, labels map[string]string) float64 {
	s.t.Helper()
	mfs, err := s.Node.Metrics.Registry.Gather()
	if err != nil {
		s.t.Fatalf("gather metrics: %v", err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != metric {
			continue
		}
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			ok := true
			for k, v := range labels {
				if have[k] != v {
					ok = false
				}
			}
			if ok {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// CheckStore checks the invariants every acknowledged write keeps: the
// outbox is gap-free from 1 to sync_state.last_seq, every sale's seq is a
// sale event in it, and every aggregate row equals the sum over raw sales
// (and no bucket the raw sales imply is missing).
func CheckStore(t testing.TB, db *sql.DB, loc *time.Location) {
	t.Helper()
	CheckOutbox(t, db)
	CheckAggregates(t, db, loc)
	if n := Count(t, db, `SELECT COUNT(*) FROM sales_events s LEFT JOIN outbox o ON o.seq = s.seq WHERE o.kind IS NOT 'sale'`); n != 0 {
		t.Fatalf("%d sales have no sale event at their outbox seq", n)
	}
	CheckLots(t, db)
}

// CheckLots checks every slot holds exactly the units of its lots (edge/lot).
func CheckLots(t testing.TB, db *sql.DB) {
	t.Helper()
	if n := Count(t, db, `SELECT COUNT(*) FROM machine_inventory i
		WHERE i.quantity <> (SELECT COALESCE(SUM(l.quantity), 0) FROM lots l WHERE l.machine_id = i.machine_id AND l.product_id = i.product_id)`); n != 0 {
		t.Fatalf("%d slots whose quantity is not the sum of their lots", n)
	}
	// The lot ledger is complete: every lot holds the sum of its movements
	// (restocks, sales, counts, removals, refunds), so every slot holds
	// the sum of its lots' movements.
	if n := Count(t, db, `SELECT COUNT(*) FROM lots l
		WHERE l.quantity <> (SELECT COALESCE(SUM(m.delta), 0) FROM lot_movements m WHERE m.lot_id = l.lot_id)`); n != 0 {
		t.Fatalf("%d lots whose quantity is not the sum of their movements", n)
	}
	if n := Count(t, db, `SELECT COUNT(*) FROM machine_inventory i
		WHERE i.quantity <> (SELECT COALESCE(SUM(m.delta), 0) FROM lot_movements m WHERE m.machine_id = i.machine_id AND m.product_id = i.product_id)`); n != 0 {
		t.Fatalf("%d slots whose quantity is not the sum of their lot movements", n)
	}
}

// CheckOutbox checks the outbox holds exactly seq 1..last_seq (nothing
// trimmed: sync_state.last_seq, the highest trimmed, is 0).
func CheckOutbox(t testing.TB, db *sql.DB) {
	t.Helper()
	var n, lo, hi, last, trimmed int64
	if err := db.QueryRow(`SELECT COUNT(*), COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0), (`+store.LastSeqQuery+`),
		(SELECT last_seq FROM sync_state) FROM outbox`).Scan(&n, &lo, &hi, &last, &trimmed); err != nil {
		t.Fatalf("outbox: %v", err)
	}
	if trimmed != 0 {
		t.Fatalf("sync_state.last_seq = %d with nothing trimmed", trimmed)
	}
	if n == 0 {
		if last != 0 {
			t.Fatalf("outbox empty but last_seq = %d", last)
		}
		return
	}
	if lo != 1 || hi != n || last != hi {
		t.Fatalf("outbox not gap-free: count %d, min %d, max %d, last_seq %d", n, lo, hi, last)
	}
}

// CheckAlerts checks the alerts table against the outbox: at most one open
// alert per condition, every closed alert has a close time and reason, and
// each alert's opening (and closing) went into the outbox, which is gap-free.
func CheckAlerts(t testing.TB, db *sql.DB) {
	t.Helper()
	if n := Count(t, db, `SELECT COUNT(*) FROM (SELECT 1 FROM alerts WHERE status = 'OPEN' GROUP BY machine_id, product_id, alert_type HAVING COUNT(*) > 1)`); n != 0 {
		t.Fatalf("%d conditions with more than one open alert", n)
	}
	if n := Count(t, db, `SELECT COUNT(*) FROM alerts WHERE status = 'CLOSED' AND (closed_at IS NULL OR COALESCE(close_reason, '') = '')`); n != 0 {
		t.Fatalf("%d closed alerts without close time or reason", n)
	}
	events := Count(t, db, `SELECT COUNT(*) FROM outbox WHERE kind = 'alert'`)
	want := Count(t, db, `SELECT COUNT(*) + SUM(status = 'CLOSED') FROM alerts`)
	if events != want {
		t.Fatalf("%d alert events in the outbox, want %d (one per opening and closing)", events, want)
	}
	CheckOutbox(t, db)
}

type aggKey struct {
	dim, win string
	bucket   int64
	key      string
}

type aggVal struct{ tx, qty, rev int64 }

// CheckAggregates recomputes every sales_agg row from sales_events (machine,
// product, and the machine's current location) in the site's timezone and
// compares both ways.
func CheckAggregates(t testing.TB, db *sql.DB, loc *time.Location) {
	t.Helper()
	rows, err := db.Query(`SELECT s.machine_id, s.product_id, m.city, m.building, s.quantity, s.amount_cents, s.event_time
		FROM sales_events s JOIN vending_machines m USING (machine_id)`)
	if err != nil {
		t.Fatalf("read sales: %v", err)
	}
	want := map[aggKey]aggVal{}
	for rows.Next() {
		var mid, pid, city, building string
		var qty, amount, at int64
		if err := rows.Scan(&mid, &pid, &city, &building, &qty, &amount, &at); err != nil {
			t.Fatalf("read sales: %v", err)
		}
		lk := store.Location{City: city, Building: building}.Key()
		keys := bucket.Keys(time.UnixMilli(at), loc)
		for _, dk := range [][2]string{{"machine", mid}, {"product", pid}, {"location", lk}} {
			for i, w := range bucket.All {
				k := aggKey{dk[0], string(w), keys[i], dk[1]}
				v := want[k]
				v.tx++
				v.qty += qty
				v.rev += amount
				want[k] = v
			}
		}
	}
	rows.Close()
	got := map[aggKey]aggVal{}
	rows, err = db.Query(`SELECT dim, win, bucket, key, tx_count, quantity, revenue_cents FROM sales_agg`)
	if err != nil {
		t.Fatalf("read sales_agg: %v", err)
	}
	for rows.Next() {
		var k aggKey
		var v aggVal
		if err := rows.Scan(&k.dim, &k.win, &k.bucket, &k.key, &v.tx, &v.qty, &v.rev); err != nil {
			t.Fatalf("read sales_agg: %v", err)
		}
		got[k] = v
	}
	rows.Close()
	for k, w := range want {
		if g := got[k]; g != w {
			t.Fatalf("sales_agg %s/%s/%s/%s = %+v, raw sales sum to %+v", k.dim, k.win, bucket.Label(k.bucket), k.key, g, w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Fatalf("sales_agg %s/%s/%s/%s = %+v has no raw sales", k.dim, k.win, bucket.Label(k.bucket), k.key, g)
		}
	}
}

// Machine registers a machine through the API with the admin token.
func (s *Site) Machine(id string, extra ...map[string]any) {
	s.t.Helper()
	body := map[string]any{"machineId": id, "location": map[string]any{"city": "Testville", "building": "B1"}, "paymentMethods": []string{"CARD", "CASH"}}
	for _, e := range extra {
		for k, v := range e {
			body[k] = v
		}
	}
	if r := s.Do("POST", "/machines", s.AdminToken(), body); r.Status != http.StatusCreated {
		s.t.Fatalf("POST /machines %s: %d %s", id, r.Status, r.Body)
	}
}

// Product stocks a product on a machine through the API with the admin token.
func (s *Site) Product(machineID, productID string, priceCents, qty int64, extra ...map[string]any) {
	s.t.Helper()
	body := map[string]any{"productId": productID, "name": "Product " + productID,
		"price": json.Number(fmt.Sprintf("%d.%02d", priceCents/100, priceCents%100)), "quantity": qty}
	for _, e := range extra {
		for k, v := range e {
			body[k] = v
		}
	}
	if r := s.Do("POST", "/machines/"+machineID+"/products", s.AdminToken(), body); r.Status != http.StatusCreated {
		s.t.Fatalf("POST /machines/%s/products %s: %d %s", machineID, productID, r.Status, r.Body)
	}
}

// Sale is a sale body with the given fields; timestamp defaults to the
// site's clock.
func (s *Site) Sale(tx, machineID, productID string, qty, amountCents int64) map[string]any {
	return map[string]any{"transactionId": tx, "machineId": machineID, "productId": productID, "quantity": qty,
		"amount": json.Number(fmt.Sprintf("%d.%02d", amountCents/100, amountCents%100)), "paymentMethod": "CARD",
		"timestamp": s.Now().UTC().Format(time.RFC3339Nano)}
}

// Stock reads a slot's quantity from the store.
func (s *Site) Stock(machineID, productID string) int64 {
	s.t.Helper()
	return Count(s.t, s.DB(), `SELECT quantity FROM machine_inventory WHERE machine_id = ? AND product_id = ?`, machineID, productID)
}

// OpenAlerts returns the open alert types of a machine (and product, "" for
// machine-level ones), sorted, as one comma-separated string.
func (s *Site) OpenAlerts(machineID, productID string) string {
	s.t.Helper()
	rows, err := s.DB().Query(`SELECT alert_type FROM alerts WHERE status = 'OPEN' AND machine_id = ? AND product_id = ? ORDER BY alert_type`, machineID, productID)
	if err != nil {
		s.t.Fatalf("read alerts: %v", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var typ string
		if err := rows.Scan(&typ); err != nil {
			s.t.Fatalf("read alerts: %v", err)
		}
		out = append(out, typ)
	}
	return strings.Join(out, ",")
}

// Sweep runs the writer's alert sweep now.
func (s *Site) Sweep() {
	s.t.Helper()
	if err := s.Node.Writer.Sweep(context.Background()); err != nil {
		s.t.Fatalf("sweep: %v", err)
	}
}
