package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/testkit"
)

// sameCounts fails if any table count or stock sum differs.
func sameCounts(t *testing.T, before, after map[string]int64) {
	t.Helper()
	for k, v := range before {
		if after[k] != v {
			t.Fatalf("%s changed from %d to %d", k, v, after[k])
		}
	}
}

func TestSale_IdempotentReplay(t *testing.T) {
	s := newSite(t)
	tok := s.Token(auth.RoleMachine, "M1")
	sale := s.Sale("tx-idem", "M1", "P1", 2, 500)

	first := s.Do("POST", "/events/sales", tok, sale)
	if got, want := first.Status, http.StatusCreated; got != want {
		t.Fatalf("first POST: status %d, want %d: %s", got, want, first.Body)
	}
	if got := first.Header.Get("Idempotent-Replayed"); got != "" {
		t.Fatalf("first POST has Idempotent-Replayed: %q", got)
	}
	after := edgetest.Counts(t, s.DB())

	tests := []struct {
		name    string
		body    any
		headers []string
		status  int
		code    string
		field   string
	}{
		{name: "same body", body: sale, status: http.StatusCreated},
		{name: "same body with matching key", body: sale, headers: []string{"Idempotency-Key", "tx-idem"}, status: http.StatusCreated},
		{name: "key only, id from header", body: with(sale, "transactionId", del{}), headers: []string{"Idempotency-Key", "tx-idem"}, status: http.StatusCreated},
		{name: "same instant in another zone", body: with(sale, "timestamp", t0.In(time.FixedZone("IST", 5*3600+1800)).Format(time.RFC3339)), status: http.StatusCreated},
		{name: "different quantity", body: with(sale, "quantity", 3, "amount", json.Number("7.50")), status: http.StatusConflict, code: "IDEMPOTENCY_CONFLICT", field: "transactionId"},
		{name: "different amount", body: with(sale, "amount", json.Number("5.01")), status: http.StatusConflict, code: "IDEMPOTENCY_CONFLICT", field: "transactionId"},
		{name: "different payment", body: with(sale, "paymentMethod", "CASH"), status: http.StatusConflict, code: "IDEMPOTENCY_CONFLICT", field: "transactionId"},
		{name: "different time", body: with(sale, "timestamp", t0.Add(-time.Second).Format(time.RFC3339)), status: http.StatusConflict, code: "IDEMPOTENCY_CONFLICT", field: "transactionId"},
		{name: "key differs from transactionId", body: sale, headers: []string{"Idempotency-Key", "tx-other"}, status: http.StatusBadRequest, code: "VALIDATION_FAILED", field: "Idempotency-Key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Do("POST", "/events/sales", tok, tt.body, tt.headers...)
			if got, want := r.Status, tt.status; got != want {
				t.Fatalf("status = %d, want %d: %s", got, want, r.Body)
			}
			if tt.code == "" {
				if got, want := r.Header.Get("Idempotent-Replayed"), "true"; got != want {
					t.Fatalf("Idempotent-Replayed = %q, want %q", got, want)
				}
				if got, want := string(r.Body), string(first.Body); got != want {
					t.Fatalf("replay body = %s, want the first answer %s", got, want)
				}
			} else {
				e := r.Error(t)
				if got, want := e.Code, tt.code; got != want {
					t.Fatalf("code = %q, want %q", got, want)
				}
				if got, want := e.Field, tt.field; got != want {
					t.Fatalf("field = %q, want %q", got, want)
				}
			}
			sameCounts(t, after, edgetest.Counts(t, s.DB()))
		})
	}
	if got, want := s.Stock("M1", "P1"), int64(98); got != want {
		t.Fatalf("stock = %d, want %d (changed once)", got, want)
	}

	// A replay still answers the first result after the machine is retired
	// and after a restart.
	if r := s.Do("DELETE", "/machines/M1", s.AdminToken(), nil); r.Status != http.StatusOK {
		t.Fatalf("DELETE /machines/M1: %d %s", r.Status, r.Body)
	}
	s.Reopen()
	tok = s.Token(auth.RoleMachine, "M1")
	r := s.Do("POST", "/events/sales", tok, sale)
	if got, want := r.Status, http.StatusCreated; got != want {
		t.Fatalf("replay after decommission and restart: status %d, want %d: %s", got, want, r.Body)
	}
	if got, want := string(r.Body), string(first.Body); got != want {
		t.Fatalf("replay after restart = %s, want %s", got, want)
	}
	edgetest.CheckStore(t, s.DB(), s.Node.Store.Site.Loc)
}

// TestSale_ConcurrentDuplicates sends one sale from many goroutines at once:
// one is recorded, every answer is 201 with the same body, all but one are
// replays.
func TestSale_ConcurrentDuplicates(t *testing.T) {
	s := newSite(t)
	tok := s.AdminToken()
	sale := s.Sale("tx-race", "M1", "P1", 1, 250)
	const n = 16
	var wg sync.WaitGroup
	res := make([]edgetest.Response, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = edgetest.Send(t.Context(), s.HTTP, s.URL(), "POST", "/events/sales", tok, sale)
		}()
	}
	wg.Wait()
	replayed := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if got, want := res[i].Status, http.StatusCreated; got != want {
			t.Fatalf("request %d: status %d, want %d: %s", i, got, want, res[i].Body)
		}
		if !bytes.Equal(res[i].Body, res[0].Body) {
			t.Fatalf("answers differ: %s vs %s", res[i].Body, res[0].Body)
		}
		if res[i].Header.Get("Idempotent-Replayed") == "true" {
			replayed++
		}
	}
	if got, want := replayed, n-1; got != want {
		t.Fatalf("%d replays, want %d", got, want)
	}
	if got, want := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM sales_events WHERE transaction_id = 'tx-race'`), int64(1); got != want {
		t.Fatalf("stored %d times, want %d", got, want)
	}
	if got, want := s.Stock("M1", "P1"), int64(99); got != want {
		t.Fatalf("stock = %d, want %d", got, want)
	}
	edgetest.CheckStore(t, s.DB(), s.Node.Store.Site.Loc)
}

func TestFault_IdempotentReplay(t *testing.T) {
	s := newSite(t)
	tok := s.Token(auth.RoleMachine, "M1")
	fault := map[string]any{"machineId": "M1", "faultType": "COIN_JAM", "description": "jammed", "timestamp": t0.Format(time.RFC3339)}
	first := s.Do("POST", "/events/faults", tok, fault, "Idempotency-Key", "f-1")
	if got, want := first.Status, http.StatusCreated; got != want {
		t.Fatalf("first POST: %d, want %d: %s", got, want, first.Body)
	}
	after := edgetest.Counts(t, s.DB())
	tests := []struct {
		name   string
		body   any
		key    string
		status int
		code   string
	}{
		{name: "same body and key", body: fault, key: "f-1", status: http.StatusCreated},
		{name: "fault type case differs", body: with(fault, "faultType", "coin_jam"), key: "f-1", status: http.StatusCreated},
		{name: "different description", body: with(fault, "description", "stuck"), key: "f-1", status: http.StatusConflict, code: "IDEMPOTENCY_CONFLICT"},
		{name: "different type", body: with(fault, "faultType", "DOOR"), key: "f-1", status: http.StatusConflict, code: "IDEMPOTENCY_CONFLICT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Do("POST", "/events/faults", tok, tt.body, "Idempotency-Key", tt.key)
			if got, want := r.Status, tt.status; got != want {
				t.Fatalf("status = %d, want %d: %s", got, want, r.Body)
			}
			if tt.code != "" {
				e := r.Error(t)
				if got, want := e.Code, tt.code; got != want {
					t.Fatalf("code = %q, want %q", got, want)
				}
				if got, want := e.Field, "Idempotency-Key"; got != want {
					t.Fatalf("field = %q, want %q", got, want)
				}
			} else {
				if got, want := r.Header.Get("Idempotent-Replayed"), "true"; got != want {
					t.Fatalf("Idempotent-Replayed = %q, want %q", got, want)
				}
				if got, want := string(r.Body), string(first.Body); got != want {
					t.Fatalf("replay = %s, want %s", got, want)
				}
				if got, want := r.Header.Get("Location"), first.Header.Get("Location"); got != want {
					t.Fatalf("Location = %q, want %q", got, want)
				}
			}
			sameCounts(t, after, edgetest.Counts(t, s.DB()))
		})
	}
	// Without a key every report is a new fault.
	for i := range 2 {
		if r := s.Do("POST", "/events/faults", tok, fault); r.Status != http.StatusCreated || r.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("POST %d without key: %d %v %s", i, r.Status, r.Header, r.Body)
		}
	}
	if got, want := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM fault_events`), int64(3); got != want {
		t.Fatalf("%d faults, want %d", got, want)
	}
	edgetest.CheckOutbox(t, s.DB())
}

type batchAnswer struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	Rejected   int `json:"rejected"`
	Results    []struct {
		Index         int                `json:"index"`
		TransactionID string             `json:"transactionId"`
		Status        string             `json:"status"`
		Sequence      uint64             `json:"sequence"`
		Error         *edgetest.APIError `json:"error"`
	} `json:"results"`
}

func TestBatch_MixedEvents(t *testing.T) {
	s := newSite(t)
	tok := s.AdminToken()
	earlier := s.Sale("tx-earlier", "M1", "P1", 1, 250)
	if r := s.Do("POST", "/events/sales", tok, earlier); r.Status != http.StatusCreated {
		t.Fatalf("POST earlier sale: %d %s", r.Status, r.Body)
	}
	stock := s.Stock("M1", "P1")
	before := edgetest.Counts(t, s.DB())
	rejectedBefore := edgetest.Metric(t, s.URL(), "vendsync_edge_http_rejected_total", map[string]string{"route": "POST /events/batch (event)"})

	good1 := s.Sale("tx-b1", "M1", "P1", 2, 500)
	good2 := s.Sale("tx-b2", "M1", "P1", 3, 750)
	events := []struct {
		name   string
		raw    any
		status string
		code   string
		field  string
	}{
		{name: "good", raw: good1, status: "ACCEPTED"},
		{name: "quantity as string", raw: with(s.Sale("tx-b3", "M1", "P1", 1, 250), "quantity", "1"), status: "REJECTED", code: "INVALID_FIELD", field: "quantity"},
		{name: "amount as string", raw: with(s.Sale("tx-b4", "M1", "P1", 1, 250), "amount", "2.50"), status: "REJECTED", code: "INVALID_FIELD", field: "amount"},
		{name: "unknown field", raw: with(s.Sale("tx-b5", "M1", "P1", 1, 250), "tip", 1), status: "REJECTED", code: "UNKNOWN_FIELD", field: "tip"},
		{name: "not an object", raw: 5, status: "REJECTED", code: "INVALID_JSON"},
		{name: "second good", raw: good2, status: "ACCEPTED"},
		{name: "unknown product", raw: s.Sale("tx-b6", "M1", "NOPE", 1, 250), status: "REJECTED", code: "UNKNOWN_PRODUCT", field: "productId"},
		{name: "unknown machine", raw: s.Sale("tx-b7", "NOPE", "P1", 1, 250), status: "REJECTED", code: "UNKNOWN_MACHINE", field: "machineId"},
		{name: "decommissioned machine", raw: s.Sale("tx-b11", "MDEC", "P1", 1, 250), status: "REJECTED", code: "MACHINE_DECOMMISSIONED", field: "machineId"},
		{name: "amount mismatch", raw: s.Sale("tx-b8", "M1", "P1", 1, 999), status: "REJECTED", code: "AMOUNT_MISMATCH", field: "amount"},
		{name: "zero quantity", raw: s.Sale("tx-b9", "M1", "P1", 0, 0), status: "REJECTED", code: "VALIDATION_FAILED", field: "quantity"},
		{name: "future", raw: with(s.Sale("tx-b10", "M1", "P1", 1, 250), "timestamp", t0.Add(time.Hour).Format(time.RFC3339)), status: "REJECTED", code: "VALIDATION_FAILED", field: "timestamp"},
		{name: "duplicate in the batch", raw: good1, status: "DUPLICATE"},
		{name: "duplicate of an earlier sale", raw: earlier, status: "DUPLICATE"},
		{name: "earlier id, other body", raw: with(earlier, "quantity", 2, "amount", 5), status: "REJECTED", code: "IDEMPOTENCY_CONFLICT", field: "transactionId"},
	}
	raws := make([]any, len(events))
	for i, e := range events {
		raws[i] = e.raw
	}
	r := s.Do("POST", "/events/batch", tok, map[string]any{"events": raws})
	if got, want := r.Status, http.StatusOK; got != want {
		t.Fatalf("status = %d, want %d: %s", got, want, r.Body)
	}
	var ans batchAnswer
	r.Decode(t, &ans)
	if got, want := len(ans.Results), len(events); got != want {
		t.Fatalf("%d results, want %d", got, want)
	}
	var acc, dup, rej int
	for i, e := range events {
		t.Run(e.name, func(t *testing.T) {
			res := ans.Results[i]
			if got, want := res.Index, i; got != want {
				t.Fatalf("index = %d, want %d", got, want)
			}
			if got, want := res.Status, e.status; got != want {
				t.Fatalf("status = %q, want %q (%+v)", got, want, res.Error)
			}
			if e.code == "" {
				if res.Error != nil || res.Sequence == 0 {
					t.Fatalf("accepted event has error %+v, sequence %d", res.Error, res.Sequence)
				}
				return
			}
			if res.Error == nil {
				t.Fatalf("rejected event has no error")
			}
			if got, want := res.Error.Code, e.code; got != want {
				t.Fatalf("code = %q, want %q (%s)", got, want, res.Error.Message)
			}
			if got, want := res.Error.Field, e.field; got != want {
				t.Fatalf("field = %q, want %q (%s)", got, want, res.Error.Message)
			}
		})
		switch e.status {
		case "ACCEPTED":
			acc++
		case "DUPLICATE":
			dup++
		default:
			rej++
		}
	}
	if ans.Accepted != acc || ans.Duplicates != dup || ans.Rejected != rej {
		t.Fatalf("totals accepted %d duplicates %d rejected %d, want %d %d %d", ans.Accepted, ans.Duplicates, ans.Rejected, acc, dup, rej)
	}
	if got, want := ans.Results[12].Sequence, ans.Results[0].Sequence; got != want {
		t.Fatalf("in-batch duplicate has sequence %d, want the first's %d", got, want)
	}
	after := edgetest.Counts(t, s.DB())
	if got, want := after["sales_events"]-before["sales_events"], int64(2); got != want {
		t.Fatalf("%d sales stored, want %d", got, want)
	}
	if got, want := s.Stock("M1", "P1"), stock-5; got != want {
		t.Fatalf("stock = %d, want %d", got, want)
	}
	for _, tx := range []string{"tx-b3", "tx-b4", "tx-b5", "tx-b6", "tx-b7", "tx-b8", "tx-b9", "tx-b10", "tx-b11"} {
		if n := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM sales_events WHERE transaction_id = ?`, tx); n != 0 {
			t.Fatalf("rejected %s was stored", tx)
		}
	}
	if got, want := edgetest.Metric(t, s.URL(), "vendsync_edge_http_rejected_total", map[string]string{"route": "POST /events/batch (event)"})-rejectedBefore, float64(rej); got != want {
		t.Fatalf("rejected events counted %v, want %v", got, want)
	}
	edgetest.CheckStore(t, s.DB(), s.Node.Store.Site.Loc)

	// The same batch again: every accepted event is now a duplicate and
	// nothing changes.
	before = edgetest.Counts(t, s.DB())
	r = s.Do("POST", "/events/batch", tok, map[string]any{"events": raws})
	r.Decode(t, &ans)
	if got, want := ans.Duplicates, acc+dup; got != want {
		t.Fatalf("replayed batch: %d duplicates, want %d", got, want)
	}
	sameCounts(t, before, edgetest.Counts(t, s.DB()))
}

// TestAggregations_YearEdge: sales either side of local midnight on New
// Year's Eve fall in different day and month buckets but the same ISO week
// (Monday 2024-12-30), read through the API.
func TestAggregations_YearEdge(t *testing.T) {
	tests := []struct {
		name, tz string
	}{
		{name: "east of UTC", tz: "Asia/Kolkata"},
		{name: "west of UTC", tz: "America/New_York"},
		{name: "UTC", tz: "UTC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, err := time.LoadLocation(tt.tz)
			if err != nil {
				t.Fatal(err)
			}
			late := time.Date(2024, 12, 31, 23, 30, 0, 0, loc)
			early := time.Date(2025, 1, 1, 0, 30, 0, 0, loc)
			s := edgetest.Start(t, edgetest.Options{Timezone: tt.tz, Clock: edgetest.NewClock(early.Add(time.Hour))})
			s.Machine("M1")
			s.Product("M1", "P1", 200, 50)
			s.Product("M1", "P2", 100, 50)
			tok := s.AdminToken()
			for i, sale := range []map[string]any{
				with(s.Sale("tx-late", "M1", "P1", 1, 200), "timestamp", late.UTC().Format(time.RFC3339)),
				with(s.Sale("tx-early", "M1", "P1", 2, 400), "timestamp", early.Format(time.RFC3339)),
				with(s.Sale("tx-p2", "M1", "P2", 1, 100), "timestamp", early.UTC().Format(time.RFC3339)),
			} {
				if r := s.Do("POST", "/events/sales", tok, sale); r.Status != http.StatusCreated {
					t.Fatalf("sale %d: %d %s", i, r.Status, r.Body)
				}
			}
			type row struct {
				Key          string  `json:"key"`
				Bucket       string  `json:"bucket"`
				Transactions int64   `json:"transactions"`
				Quantity     int64   `json:"quantity"`
				Revenue      float64 `json:"revenue"`
			}
			queries := []struct {
				name  string
				query string
				want  []row
			}{
				{name: "hour", query: "groupBy=machine&window=hour&from=2024-12-31T20:00&to=2025-01-01T04:00",
					want: []row{{"M1", "2024-12-31T23:00:00", 1, 1, 2}, {"M1", "2025-01-01T00:00:00", 2, 3, 5}}},
				{name: "day", query: "groupBy=machine&window=day&from=2024-12-30&to=2025-01-02",
					want: []row{{"M1", "2024-12-31T00:00:00", 1, 1, 2}, {"M1", "2025-01-01T00:00:00", 2, 3, 5}}},
				{name: "week", query: "groupBy=machine&window=week&from=2024-12-30&to=2025-01-06",
					want: []row{{"M1", "2024-12-30T00:00:00", 3, 4, 7}}},
				{name: "week from mid-week", query: "groupBy=machine&window=week&from=2025-01-01&to=2025-01-02",
					want: []row{{"M1", "2024-12-30T00:00:00", 3, 4, 7}}},
				{name: "month", query: "groupBy=machine&window=month&from=2024-12-01&to=2025-02-01",
					want: []row{{"M1", "2024-12-01T00:00:00", 1, 1, 2}, {"M1", "2025-01-01T00:00:00", 2, 3, 5}}},
				{name: "month to is exclusive", query: "groupBy=machine&window=month&from=2024-12-01&to=2025-01-01",
					want: []row{{"M1", "2024-12-01T00:00:00", 1, 1, 2}}},
				{name: "product per day", query: "groupBy=product&window=day&from=2024-12-31&to=2025-01-02",
					want: []row{{"P1", "2024-12-31T00:00:00", 1, 1, 2}, {"P1", "2025-01-01T00:00:00", 1, 2, 4}, {"P2", "2025-01-01T00:00:00", 1, 1, 1}}},
				{name: "location per month", query: "groupBy=location&window=month&from=2024-12-01&to=2025-02-01",
					want: []row{{"Testville/B1", "2024-12-01T00:00:00", 1, 1, 2}, {"Testville/B1", "2025-01-01T00:00:00", 2, 3, 5}}},
				{name: "from as an instant", query: "groupBy=machine&window=day&from=" + early.UTC().Format(time.RFC3339) + "&to=2025-01-02",
					want: []row{{"M1", "2025-01-01T00:00:00", 2, 3, 5}}},
			}
			for _, q := range queries {
				t.Run(q.name, func(t *testing.T) {
					r := s.Do("GET", "/aggregations/sales?"+q.query, tok, nil)
					if r.Status != http.StatusOK {
						t.Fatalf("status %d: %s", r.Status, r.Body)
					}
					var ans struct {
						Rows []row `json:"rows"`
					}
					r.Decode(t, &ans)
					if got, want := fmt.Sprint(ans.Rows), fmt.Sprint(q.want); got != want {
						t.Fatalf("rows = %v, want %v", got, want)
					}
				})
			}
			top := []struct {
				name, query string
				want        string
			}{
				{name: "across midnight", query: "from=2024-12-31T23:00&to=2025-01-01T01:00", want: "[{P1 2 3 6} {P2 1 1 1}]"},
				{name: "across months", query: "from=2024-12-01&to=2025-02-01", want: "[{P1 2 3 6} {P2 1 1 1}]"},
				{name: "new year only", query: "from=2025-01-01&to=2025-01-02", want: "[{P1 1 2 4} {P2 1 1 1}]"},
				{name: "old year only", query: "from=2024-12-01&to=2025-01-01", want: "[{P1 1 1 2}]"},
				{name: "by quantity, top one", query: "from=2024-12-01&to=2025-02-01&by=quantity&n=1", want: "[{P1 2 3 6}]"},
			}
			for _, q := range top {
				t.Run("top "+q.name, func(t *testing.T) {
					r := s.Do("GET", "/aggregations/products/top?"+q.query, tok, nil)
					if r.Status != http.StatusOK {
						t.Fatalf("status %d: %s", r.Status, r.Body)
					}
					var ans struct {
						Products []struct {
							ProductID    string  `json:"productId"`
							Transactions int64   `json:"transactions"`
							Quantity     int64   `json:"quantity"`
							Revenue      float64 `json:"revenue"`
						} `json:"products"`
					}
					r.Decode(t, &ans)
					if got, want := fmt.Sprint(ans.Products), q.want; got != want {
						t.Fatalf("products = %v, want %v", got, want)
					}
				})
			}
			edgetest.CheckStore(t, s.DB(), loc)
		})
	}
}

// TestAudit_RecordsWho checks that machine, product and fault changes land in
// GET /audit with the client that made them.
func TestAudit_RecordsWho(t *testing.T) {
	s := edgetest.Start(t, edgetest.Options{Clock: edgetest.NewClock(t0)})
	ops := s.Client(auth.RoleOps, "")
	driver := s.Client(auth.RoleDriver, "")
	opsTok, driverTok, adminTok := s.TokenFor(ops), s.TokenFor(driver), s.AdminToken()
	steps := []struct {
		name         string
		tok          string
		method, path string
		body         any
	}{
		{"ops registers", opsTok, "POST", "/machines", map[string]any{"machineId": "M9", "location": map[string]any{"city": "X"}}},
		{"ops adds product", opsTok, "POST", "/machines/M9/products", map[string]any{"productId": "P9", "name": "Nuts", "price": 1, "quantity": 10}},
		{"admin patches product", adminTok, "PATCH", "/machines/M9/products/P9", map[string]any{"quantity": 20}},
		{"ops patches machine", opsTok, "PATCH", "/machines/M9", map[string]any{"status": "INACTIVE"}},
		{"fault reported", adminTok, "POST", "/events/faults", map[string]any{"machineId": "M9", "faultType": "JAM", "timestamp": t0.Format(time.RFC3339)}},
		{"driver works fault", driverTok, "PATCH", "/faults/1", map[string]any{"status": "IN_PROGRESS"}},
		{"driver resolves fault", driverTok, "PATCH", "/faults/1", map[string]any{"status": "RESOLVED"}},
		{"admin decommissions", adminTok, "DELETE", "/machines/M9", nil},
	}
	for _, st := range steps {
		if r := s.Do(st.method, st.path, st.tok, st.body); r.Status >= 300 {
			t.Fatalf("%s: %d %s", st.name, r.Status, r.Body)
		}
	}
	r := s.Do("GET", "/audit", adminTok, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /audit: %d %s", r.Status, r.Body)
	}
	var ans struct {
		Entries []struct {
			EntityType  string          `json:"entityType"`
			EntityID    string          `json:"entityId"`
			Action      string          `json:"action"`
			PerformedBy string          `json:"performedBy"`
			PerformedAt time.Time       `json:"performedAt"`
			Detail      json.RawMessage `json:"detail"`
		} `json:"entries"`
	}
	r.Decode(t, &ans)
	var got []string
	for _, e := range ans.Entries {
		got = append(got, fmt.Sprintf("%s %s %s by %s", e.EntityType, e.EntityID, e.Action, e.PerformedBy))
		if !e.PerformedAt.Equal(t0) {
			t.Fatalf("entry %s performed at %s, want the site clock %s", e.Action, e.PerformedAt, t0)
		}
		if !json.Valid(e.Detail) {
			t.Fatalf("entry %s detail is not JSON: %s", e.Action, e.Detail)
		}
	}
	want := []string{ // newest first
		"machine M9 DECOMMISSION by " + s.Admin.ClientID,
		"fault 1 STATUS_RESOLVED by " + driver.ClientID,
		"fault 1 STATUS_IN_PROGRESS by " + driver.ClientID,
		"machine M9 UPDATE by " + ops.ClientID,
		"inventory M9/P9 UPDATE_PRODUCT by " + s.Admin.ClientID,
		"inventory M9/P9 ADD_PRODUCT by " + ops.ClientID,
		"machine M9 REGISTER by " + ops.ClientID,
	}
	if g, w := fmt.Sprint(got), fmt.Sprint(want); g != w {
		t.Fatalf("audit =\n%s\nwant\n%s", g, w)
	}
	// Filters.
	r = s.Do("GET", "/audit?entityType=fault&entityId=1&limit=1", adminTok, nil)
	r.Decode(t, &ans)
	if got, want := len(ans.Entries), 1; got != want {
		t.Fatalf("filtered audit has %d entries, want %d", got, want)
	}
	if got, want := ans.Entries[0].Action, "STATUS_RESOLVED"; got != want {
		t.Fatalf("filtered audit action = %q, want %q", got, want)
	}
}

// TestAudit_KeptDetailArraysNotShared: GET /audit reads every entry's
// detail into one array the handler keeps for later requests. Clients
// asking in parallel for different machines' entries each get only their
// machine's entries with their own details, as the first answer had them,
// and the details are the machine's own (a detail names its machine).
func TestAudit_KeptDetailArraysNotShared(t *testing.T) {
	s := edgetest.Start(t, edgetest.Options{Clock: edgetest.NewClock(t0)})
	tok := s.AdminToken()
	const machines, patches = 4, 40
	for m := range machines {
		id := fmt.Sprintf("M%d", m)
		if r := s.Do("POST", "/machines", tok, map[string]any{"machineId": id, "location": map[string]any{"city": "C" + id}}); r.Status >= 300 {
			t.Fatalf("register %s: %d %s", id, r.Status, r.Body)
		}
		for p := range patches {
			if r := s.Do("PATCH", "/machines/"+id, tok, map[string]any{"location": map[string]any{"city": fmt.Sprintf("C%s-%d", id, p)}}); r.Status >= 300 {
				t.Fatalf("patch %s: %d %s", id, r.Status, r.Body)
			}
		}
	}
	path := func(m int) string { return fmt.Sprintf("/audit?entityType=machine&entityId=M%d&limit=500", m) }
	first := make([][]byte, machines)
	for m := range machines {
		r := s.Do("GET", path(m), tok, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path(m), r.Status, r.Body)
		}
		var ans struct {
			Entries []struct {
				EntityID string          `json:"entityId"`
				Detail   json.RawMessage `json:"detail"`
			} `json:"entries"`
		}
		r.Decode(t, &ans)
		if len(ans.Entries) != patches+1 {
			t.Fatalf("M%d: %d entries, want %d", m, len(ans.Entries), patches+1)
		}
		for _, e := range ans.Entries {
			if e.EntityID != fmt.Sprintf("M%d", m) || !bytes.Contains(e.Detail, []byte(fmt.Sprintf(`"CM%d`, m))) {
				t.Fatalf("M%d's answer holds %s with detail %s", m, e.EntityID, e.Detail)
			}
		}
		first[m] = r.Body
	}
	testkit.Parallel(t, machines, func(m int) error {
		for range 30 {
			r, err := edgetest.Send(t.Context(), s.HTTP, s.URL(), "GET", path(m), tok, nil)
			if err != nil {
				return err
			}
			if r.Status != http.StatusOK || !bytes.Equal(r.Body, first[m]) {
				return fmt.Errorf("M%d: %d, an answer other than the first:\n%s\nwant\n%s", m, r.Status, r.Body, first[m])
			}
		}
		return nil
	})
}
