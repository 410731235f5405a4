package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/testkit"
)

// fakeEdge implements the edge API contract minimally, to test the
// simulator as a client. Unlike the real edge it lets stock go negative, so
// a test can see a simulator that sells what a machine does not have.
type fakeEdge struct {
	t         *testing.T
	expiresIn float64

	mu          sync.Mutex
	tokenSeq    int
	tokens      map[string]time.Time // valid tokens and their expiry
	machines    map[string]bool
	stock       map[string]map[string]*fakeItem // machine → product
	sales       map[string][]byte               // transactionId → body
	attempts    map[string][]string             // transactionId → Idempotency-Key of each attempt
	replays     int
	mismatches  []string // problems with sales the fake saw
	telemetry   int
	doorOpen    int
	faults      int
	patches     int
	batches     []int // size of each batch
	minStock    int
	fail503     int    // answer the first attempt(s) of every sale with 503
	replay201   bool   // answer a replay 201 + Idempotent-Replayed: true instead of 200
	timezone    string // the site timezone /aggregations/sales reports ("" → 404)
	revokeAfter int    // revoke every token after this many sales (0: never)
	unauthed    int    // 401s answered
}

// Request bodies as the fake edge decodes them.
type machineBody struct {
	MachineID      string   `json:"machineId"`
	Location       location `json:"location"`
	PaymentMethods []string `json:"paymentMethods"`
}

type location struct {
	City     string   `json:"city"`
	Building string   `json:"building"`
	Lat      *float64 `json:"lat,omitempty"`
	Lng      *float64 `json:"lng,omitempty"`
}

type productBody struct {
	ProductID     string `json:"productId"`
	Name          string `json:"name"`
	Price         Money  `json:"price"`
	Quantity      int    `json:"quantity"`
	ExpiryDate    string `json:"expiryDate"`
	LowStockLimit int    `json:"lowStockLimit"`
}

type batchBody struct {
	Events []json.RawMessage `json:"events"`
}

type fakeItem struct {
	price Money
	qty   int
	low   int
}

func newFakeEdge(t *testing.T) (*fakeEdge, *httptest.Server) {
	f, h := newFakeEdgeHandler(t)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return f, srv
}

func newFakeEdgeHandler(t *testing.T) (*fakeEdge, http.Handler) {
	f := &fakeEdge{
		t:         t,
		expiresIn: 3600,
		tokens:    map[string]time.Time{},
		machines:  map[string]bool{},
		stock:     map[string]map[string]*fakeItem{},
		sales:     map[string][]byte{},
		attempts:  map[string][]string{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth/token", f.token)
	mux.HandleFunc("POST /machines", f.auth(f.addMachine))
	mux.HandleFunc("POST /machines/{id}/products", f.auth(f.addProduct))
	mux.HandleFunc("PATCH /machines/{id}/products/{pid}", f.auth(f.setStock))
	mux.HandleFunc("GET /machines/{id}/inventory", f.auth(f.inventory))
	mux.HandleFunc("POST /events/sales", f.auth(f.sale))
	mux.HandleFunc("POST /events/batch", f.auth(f.batch))
	mux.HandleFunc("POST /events/telemetry", f.auth(f.addTelemetry))
	mux.HandleFunc("POST /events/faults", f.auth(f.addFault))
	mux.HandleFunc("GET /aggregations/sales", f.auth(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		tz := f.timezone
		f.mu.Unlock()
		if tz == "" {
			writeErr(w, 404, "NOT_FOUND", "")
			return
		}
		writeJSON(w, 200, map[string]any{"timezone": tz, "rows": []any{}})
	}))
	return f, mux
}

func writeErr(w http.ResponseWriter, status int, code, field string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%q,"message":"fake","field":%q}}`, code, field)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeEdge) token(w http.ResponseWriter, r *http.Request) {
	var req struct{ ClientID, ClientSecret, GrantType string }
	var raw map[string]string
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		writeErr(w, 400, "BAD_JSON", "")
		return
	}
	req.ClientID, req.ClientSecret, req.GrantType = raw["client_id"], raw["client_secret"], raw["grant_type"]
	if req.GrantType != "client_credentials" {
		writeErr(w, 400, "UNSUPPORTED_GRANT", "grant_type")
		return
	}
	if req.ClientID != "sim" || req.ClientSecret != "secret" {
		writeErr(w, 401, "BAD_CREDENTIALS", "")
		return
	}
	f.mu.Lock()
	f.tokenSeq++
	tok := fmt.Sprintf("tok-%d", f.tokenSeq)
	f.tokens[tok] = time.Now().Add(time.Duration(f.expiresIn * float64(time.Second)))
	exp := f.expiresIn
	f.mu.Unlock()
	writeJSON(w, 200, map[string]any{"access_token": tok, "expires_in": exp})
}

func (f *fakeEdge) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		f.mu.Lock()
		exp, known := f.tokens[tok]
		valid := ok && known && time.Now().Before(exp)
		if !valid {
			f.unauthed++
		}
		f.mu.Unlock()
		if !valid {
			writeErr(w, 401, "UNAUTHORIZED", "")
			return
		}
		h(w, r)
	}
}

func (f *fakeEdge) addMachine(w http.ResponseWriter, r *http.Request) {
	var m machineBody
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m.MachineID == "" || m.Location.City == "" || len(m.PaymentMethods) == 0 {
		writeErr(w, 400, "VALIDATION", "machineId")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.machines[m.MachineID] {
		writeErr(w, 409, "MACHINE_EXISTS", "machineId")
		return
	}
	f.machines[m.MachineID] = true
	f.stock[m.MachineID] = map[string]*fakeItem{}
	writeJSON(w, 201, m)
}

func (f *fakeEdge) addProduct(w http.ResponseWriter, r *http.Request) {
	var p productBody
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil || p.ProductID == "" || p.Price <= 0 {
		writeErr(w, 400, "VALIDATION", "productId")
		return
	}
	if _, err := time.Parse(time.DateOnly, p.ExpiryDate); err != nil {
		writeErr(w, 400, "VALIDATION", "expiryDate")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	items, ok := f.stock[r.PathValue("id")]
	if !ok {
		writeErr(w, 404, "MACHINE_NOT_FOUND", "")
		return
	}
	if _, ok := items[p.ProductID]; ok {
		writeErr(w, 409, "PRODUCT_EXISTS", "productId")
		return
	}
	items[p.ProductID] = &fakeItem{price: p.Price, qty: p.Quantity, low: p.LowStockLimit}
	writeJSON(w, 201, p)
}

func (f *fakeEdge) setStock(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Quantity *int `json:"quantity"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Quantity == nil || *body.Quantity < 0 {
		writeErr(w, 400, "VALIDATION", "quantity")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	it, ok := f.stock[r.PathValue("id")][r.PathValue("pid")]
	if !ok {
		writeErr(w, 404, "PRODUCT_NOT_FOUND", "")
		return
	}
	it.qty = *body.Quantity
	f.patches++
	writeJSON(w, 200, map[string]any{"quantity": it.qty})
}

func (f *fakeEdge) inventory(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := r.PathValue("id")
	items, ok := f.stock[id]
	if !ok {
		writeErr(w, 404, "MACHINE_NOT_FOUND", "")
		return
	}
	var out []map[string]any
	for pid, it := range items {
		out = append(out, map[string]any{"productId": pid, "name": pid, "price": it.price, "quantity": it.qty, "expiryDate": "2030-01-01", "lowStockLimit": it.low, "status": "OK"})
	}
	writeJSON(w, 200, map[string]any{"machineId": id, "items": out})
}

// record applies a sale; the caller holds f.mu. It returns the HTTP status.
func (f *fakeEdge) record(body []byte) (int, string) {
	var s sale
	if err := json.Unmarshal(body, &s); err != nil || s.TransactionID == "" {
		return 400, "VALIDATION"
	}
	if prev, ok := f.sales[s.TransactionID]; ok {
		if !bytes.Equal(prev, body) {
			f.mismatches = append(f.mismatches, "transaction "+s.TransactionID+" reused with another body")
			return 409, "IDEMPOTENCY_CONFLICT"
		}
		return 200, ""
	}
	it, ok := f.stock[s.MachineID][s.ProductID]
	if !ok {
		return 404, "PRODUCT_NOT_FOUND"
	}
	if want := it.price * Money(s.Quantity); s.Amount != want {
		f.mismatches = append(f.mismatches, fmt.Sprintf("sale %s amount %v, want %v", s.TransactionID, s.Amount, want))
		return 422, "AMOUNT_MISMATCH"
	}
	if _, err := time.Parse(time.RFC3339, s.Timestamp); err != nil {
		return 400, "VALIDATION"
	}
	f.sales[s.TransactionID] = body
	it.qty -= s.Quantity // a sale is a fact: recorded even when stock is short
	f.minStock = min(f.minStock, it.qty)
	return 201, ""
}

func (f *fakeEdge) sale(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(r.Body)
	var s sale
	_ = json.Unmarshal(buf.Bytes(), &s)
	key := r.Header.Get("Idempotency-Key")
	f.mu.Lock()
	f.attempts[s.TransactionID] = append(f.attempts[s.TransactionID], key)
	if key != s.TransactionID {
		f.mismatches = append(f.mismatches, fmt.Sprintf("Idempotency-Key %q for transaction %q", key, s.TransactionID))
	}
	n := len(f.attempts[s.TransactionID])
	if n <= f.fail503 {
		f.mu.Unlock()
		writeErr(w, 503, "UNAVAILABLE", "")
		return
	}
	status, code := f.record(buf.Bytes())
	if status == 200 {
		f.replays++
	}
	if f.revokeAfter > 0 && len(f.sales)%f.revokeAfter == 0 && status == 201 {
		clear(f.tokens) // as if the edge restarted with a new signing key
	}
	replay201 := f.replay201
	f.mu.Unlock()
	if code != "" {
		writeErr(w, status, code, "")
		return
	}
	if status == 200 && replay201 {
		w.Header().Set("Idempotent-Replayed", "true")
		status = 201
	}
	writeJSON(w, status, map[string]any{"status": "ACCEPTED", "transactionId": s.TransactionID})
}

func (f *fakeEdge) batch(w http.ResponseWriter, r *http.Request) {
	var b batchBody
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		writeErr(w, 400, "BAD_JSON", "")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.batches = append(f.batches, len(b.Events))
	var results []map[string]any
	for _, e := range b.Events {
		var s sale
		_ = json.Unmarshal(e, &s)
		status, code := f.record(e)
		res := map[string]any{"transactionId": s.TransactionID, "status": "ACCEPTED"}
		switch {
		case status == 200:
			res["status"] = "DUPLICATE"
		case code != "":
			res["status"] = "REJECTED"
			res["error"] = map[string]string{"code": code}
		}
		results = append(results, res)
	}
	writeJSON(w, 200, map[string]any{"results": results})
}

func (f *fakeEdge) addTelemetry(w http.ResponseWriter, r *http.Request) {
	var tel telemetry
	if err := json.NewDecoder(r.Body).Decode(&tel); err != nil || (tel.DoorStatus != "OPEN" && tel.DoorStatus != "CLOSED") || tel.PowerStatus != "ON" {
		writeErr(w, 400, "VALIDATION", "doorStatus")
		return
	}
	f.mu.Lock()
	f.telemetry++
	if tel.DoorStatus == "OPEN" {
		f.doorOpen++
	}
	f.mu.Unlock()
	writeJSON(w, 201, map[string]string{"status": "ACCEPTED"})
}

func (f *fakeEdge) addFault(w http.ResponseWriter, r *http.Request) {
	var ft fault
	if err := json.NewDecoder(r.Body).Decode(&ft); err != nil || ft.FaultType == "" || ft.MachineID == "" {
		writeErr(w, 400, "VALIDATION", "faultType")
		return
	}
	f.mu.Lock()
	f.faults++
	f.mu.Unlock()
	writeJSON(w, 201, map[string]string{"status": "OPEN"})
}

// runConfig is a small, fast, flat-rate config against srv.
func runConfig(srv *httptest.Server) Config {
	cfg := DefaultConfig()
	cfg.EdgeURL = srv.URL
	cfg.ClientID, cfg.ClientSecret = "sim", "secret"
	cfg.Machines = 3
	cfg.Products = 5
	cfg.Seasonality = FlatSeasonality()
	cfg.Timezone = time.UTC
	cfg.SalesPerMinute = 0
	cfg.TelemetryEvery = 0
	cfg.RestockDelay = 0
	cfg.FaultProbability = 0
	cfg.ReplayProbability = 0
	cfg.RetryBackoff = time.Millisecond
	cfg.Concurrency = 4
	cfg.Duration = 50 * time.Millisecond
	cfg.HTTPClient = srv.Client()
	return cfg
}

func (f *fakeEdge) checkNoMismatch(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.mismatches) > 0 {
		t.Fatalf("the edge saw %d bad requests, first: %s", len(f.mismatches), f.mismatches[0])
	}
}

func TestRun_SetupIsIdempotent(t *testing.T) {
	f, srv := newFakeEdge(t)
	cfg := runConfig(srv)
	for i := range 2 {
		st, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		if len(st.Errors) != 0 {
			t.Fatalf("run %d: errors %v, want none (409s are expected)", i+1, st.Errors)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if got, want := len(f.machines), cfg.Machines; got != want {
		t.Fatalf("%d machines, want %d", got, want)
	}
	for id, items := range f.stock {
		if got, want := len(items), cfg.Products; got != want {
			t.Fatalf("machine %s has %d products, want %d", id, got, want)
		}
	}
}

func TestRun_SalesHaveUniqueIDsAndCorrectAmounts(t *testing.T) {
	tests := []struct {
		name      string
		replay201 bool
	}{
		{"replays answered 200", false},
		{"replays answered 201 with Idempotent-Replayed", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testSales(t, tt.replay201) })
	}
}

func testSales(t *testing.T, replay201 bool) {
	f, srv := newFakeEdge(t)
	f.replay201 = replay201
	cfg := runConfig(srv)
	// First run registers; then central "changes a price" on the edge: the
	// simulator must charge the edge's price.
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.stock[cfg.machineID(0)]["P101"].price = 4550
	f.stock[cfg.machineID(1)]["P102"].qty = 1 // below its limit: restocked first
	f.mu.Unlock()

	cfg.SalesPerMinute = 12000 // 200/s
	cfg.Duration = 1500 * time.Millisecond
	cfg.ReplayProbability = 0.05
	cfg.FaultProbability = 0.05
	cfg.TelemetryEvery = 100 * time.Millisecond
	st, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.checkNoMismatch(t)
	f.mu.Lock()
	defer f.mu.Unlock()
	if st.SalesSent < 100 {
		t.Fatalf("only %d sales sent in %v", st.SalesSent, cfg.Duration)
	}
	if got, want := int64(len(f.sales)), st.SalesAccepted; got != want {
		t.Fatalf("edge recorded %d sales, simulator counted %d accepted", got, want)
	}
	if got, want := st.SalesAccepted, st.SalesSent; got != want {
		t.Fatalf("accepted %d of %d sent", got, want)
	}
	for id, keys := range f.attempts {
		if len(keys) > 1+f.replays {
			t.Fatalf("transaction %s posted %d times", id, len(keys))
		}
	}
	var revenue Money
	for _, b := range f.sales {
		var s sale
		_ = json.Unmarshal(b, &s)
		revenue += s.Amount
	}
	if got, want := st.Revenue, revenue; got != want {
		t.Fatalf("revenue %v, edge has %v", got, want)
	}
	if st.SalesReplayed == 0 || int64(f.replays) != st.SalesReplayed {
		t.Fatalf("replays: simulator %d, edge %d; want equal and > 0", st.SalesReplayed, f.replays)
	}
	if st.Telemetry == 0 || int64(f.telemetry) != st.Telemetry || st.Faults == 0 || int64(f.faults) != st.Faults {
		t.Fatalf("telemetry %d/%d faults %d/%d (simulator/edge); %+v", st.Telemetry, f.telemetry, st.Faults, f.faults, st)
	}
	if st.Restocks == 0 || int64(f.patches) != st.Restocks || f.doorOpen == 0 {
		t.Fatalf("restocks %d, edge patches %d, door openings %d", st.Restocks, f.patches, f.doorOpen)
	}
	// Per-machine ordering keeps the edge's stock equal to the simulator's:
	// it never sells what the machine does not have.
	if f.minStock < 0 {
		t.Fatalf("edge stock went to %d", f.minStock)
	}
	if len(st.Errors) != 0 {
		t.Fatalf("errors %v", st.Errors)
	}
}

func TestRun_Retries503WithSameTransactionID(t *testing.T) {
	f, srv := newFakeEdge(t)
	f.fail503 = 2
	cfg := runConfig(srv)
	cfg.SalesPerMinute = 600
	cfg.Duration = 500 * time.Millisecond
	st, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.checkNoMismatch(t)
	if st.SalesSent == 0 || st.SalesAccepted != st.SalesSent || st.SalesFailed != 0 {
		t.Fatalf("sent %d accepted %d failed %d, want all accepted", st.SalesSent, st.SalesAccepted, st.SalesFailed)
	}
	if got, want := st.Errors["UNAVAILABLE"], 2*st.SalesSent; got != want {
		t.Fatalf("%d 503s counted, want %d", got, want)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if got, want := int64(len(f.sales)), st.SalesSent; got != want {
		t.Fatalf("edge recorded %d sales, want %d (each once)", got, want)
	}
	for id, keys := range f.attempts {
		if got, want := len(keys), 3; got != want {
			t.Fatalf("transaction %s tried %d times, want %d", id, got, want)
		}
		for _, k := range keys {
			if k != id {
				t.Fatalf("transaction %s retried with Idempotency-Key %q", id, k)
			}
		}
	}
}

func TestRun_RetriesUntilEdgeIsUp(t *testing.T) {
	addr := testkit.FreeAddr(t) // connections are refused until the edge starts

	_, h := newFakeEdgeHandler(t)
	srv := httptest.NewUnstartedServer(h)
	cfg := runConfig(srv) // before the server starts in another goroutine
	cfg.EdgeURL = "http://" + addr
	cfg.HTTPClient = nil
	cfg.RetryBackoff = 50 * time.Millisecond
	cfg.SalesPerMinute = 600
	cfg.Duration = 300 * time.Millisecond
	started := make(chan error, 1)
	time.AfterFunc(300*time.Millisecond, func() {
		l, err := net.Listen("tcp", addr)
		if err == nil {
			srv.Listener.Close()
			srv.Listener = l
			srv.Start()
		}
		started <- err
	})
	t.Cleanup(func() {
		if <-started == nil {
			srv.Close()
		}
	})
	st, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Errors["NETWORK"] == 0 || st.Retries == 0 {
		t.Fatalf("errors %v retries %d, want refused connections retried", st.Errors, st.Retries)
	}
	if st.SalesSent == 0 || st.SalesAccepted != st.SalesSent {
		t.Fatalf("sent %d accepted %d", st.SalesSent, st.SalesAccepted)
	}
}

func TestRun_GivesUpAfterMaxAttempts(t *testing.T) {
	f, srv := newFakeEdge(t)
	f.fail503 = 1000
	cfg := runConfig(srv)
	cfg.SalesPerMinute = 600
	cfg.Duration = 300 * time.Millisecond
	cfg.MaxAttempts = 3
	st, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.SalesSent == 0 || st.SalesFailed != st.SalesSent {
		t.Fatalf("sent %d failed %d, want all failed", st.SalesSent, st.SalesFailed)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, keys := range f.attempts {
		if got, want := len(keys), 3; got != want {
			t.Fatalf("transaction %s tried %d times, want %d", id, got, want)
		}
	}
}

func TestRun_RefreshesTokenOn401(t *testing.T) {
	f, srv := newFakeEdge(t)
	f.revokeAfter = 10
	cfg := runConfig(srv)
	cfg.SalesPerMinute = 3000
	cfg.Duration = 800 * time.Millisecond
	st, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.SalesSent < 20 || st.SalesFailed != 0 || st.SalesAccepted != st.SalesSent {
		t.Fatalf("sent %d accepted %d failed %d", st.SalesSent, st.SalesAccepted, st.SalesFailed)
	}
	if st.Tokens < 2 || st.Errors["UNAUTHORIZED"] == 0 {
		t.Fatalf("tokens %d, 401s %d: want a refresh after a 401", st.Tokens, st.Errors["UNAUTHORIZED"])
	}
}

func TestRun_RefreshesTokenBeforeExpiry(t *testing.T) {
	f, srv := newFakeEdge(t)
	f.expiresIn = 0.4
	cfg := runConfig(srv)
	cfg.SalesPerMinute = 1200
	cfg.Duration = time.Second
	st, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Tokens < 3 {
		t.Fatalf("%d tokens in %v with %vs tokens, want a refresh before each expiry", st.Tokens, cfg.Duration, f.expiresIn)
	}
	if n := st.Errors["UNAUTHORIZED"]; n != 0 {
		t.Fatalf("%d 401s, want none: tokens are refreshed before they expire", n)
	}
}

func TestRun_TimezoneFromEdge(t *testing.T) {
	tests := []struct {
		name string
		edge string
		want string
	}{
		{"edge tells", "Asia/Kolkata", "Asia/Kolkata"},
		{"edge does not tell", "", time.Local.String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := time.LoadLocation("Asia/Kolkata"); err != nil {
				t.Skip("no tzdata:", err)
			}
			f, srv := newFakeEdge(t)
			f.timezone = tt.edge
			cfg := runConfig(srv)
			cfg.Timezone = nil
			st, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Timezone; got != tt.want {
				t.Fatalf("Timezone = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRun_BadCredentials(t *testing.T) {
	_, srv := newFakeEdge(t)
	cfg := runConfig(srv)
	cfg.ClientSecret = "wrong"
	_, err := Run(context.Background(), cfg)
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("Run() = %v, want ErrAuth", err)
	}
}

func TestRun_StopsAtDuration(t *testing.T) {
	_, srv := newFakeEdge(t)
	cfg := runConfig(srv)
	cfg.SalesPerMinute = 600
	cfg.TelemetryEvery = 50 * time.Millisecond
	cfg.Duration = 400 * time.Millisecond
	start := time.Now()
	st, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < cfg.Duration || took > cfg.Duration+2*time.Second {
		t.Fatalf("Run took %v, want about %v", took, cfg.Duration)
	}
	if st.SalesSent == 0 || st.Telemetry == 0 {
		t.Fatalf("sent %d sales and %d readings, want some", st.SalesSent, st.Telemetry)
	}
}

func TestRun_StopsWhenContextDone(t *testing.T) {
	_, srv := newFakeEdge(t)
	cfg := runConfig(srv)
	cfg.SalesPerMinute = 600
	cfg.Duration = 0 // until ctx is done
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	st, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run() = %v, want nil on cancellation", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Run took %v after cancellation", took)
	}
	if st.SalesSent == 0 {
		t.Fatal("no sales sent")
	}
}

func TestRun_Backfill(t *testing.T) {
	f, srv := newFakeEdge(t)
	cfg := runConfig(srv)
	cfg.SalesPerMinute = 20
	cfg.Backfill = 24 * time.Hour
	cfg.BackfillOnly = true
	start := time.Now()
	st, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.checkNoMismatch(t)
	f.mu.Lock()
	defer f.mu.Unlock()
	want := cfg.SalesPerMinute * 24 * 60
	if n := float64(st.Backfilled); n < 0.9*want || n > 1.1*want {
		t.Fatalf("backfilled %v sales, want about %v", n, want)
	}
	if st.SalesAccepted != st.SalesSent || st.SalesSent != st.Backfilled || int64(len(f.sales)) != st.SalesSent {
		t.Fatalf("sent %d backfilled %d accepted %d, edge has %d", st.SalesSent, st.Backfilled, st.SalesAccepted, len(f.sales))
	}
	var full int
	for _, n := range f.batches {
		if n > cfg.BatchSize {
			t.Fatalf("batch of %d, want at most %d", n, cfg.BatchSize)
		}
		if n == cfg.BatchSize {
			full++
		}
	}
	if full == 0 {
		t.Fatalf("no full batch among %v", f.batches)
	}
	for id, b := range f.sales {
		var s sale
		_ = json.Unmarshal(b, &s)
		ts, _ := time.Parse(time.RFC3339, s.Timestamp)
		if ts.Before(start.Add(-cfg.Backfill-time.Second)) || ts.After(start.Add(time.Second)) {
			t.Fatalf("sale %s at %v, outside the backfill window", id, ts)
		}
	}
	if st.Restocks == 0 {
		t.Fatal("a day of history needed no restock")
	}
	if f.minStock < 0 {
		t.Fatalf("edge stock went to %d: restocks were sent too late", f.minStock)
	}
}
