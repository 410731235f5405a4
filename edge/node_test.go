package edge_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/testkit"
)

var t0 = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

type saleAnswer struct {
	Status        string `json:"status"`
	TransactionID string `json:"transactionId"`
	Sequence      uint64 `json:"sequence"`
}

func saleBody(tx, machine, product string, qty, priceCents int64, at time.Time) map[string]any {
	amount := qty * priceCents
	return map[string]any{"transactionId": tx, "machineId": machine, "productId": product, "quantity": qty,
		"amount": json.Number(fmt.Sprintf("%d.%02d", amount/100, amount%100)), "paymentMethod": "CARD", "timestamp": at.UTC().Format(time.RFC3339Nano)}
}

// TestNode_ConcurrentSales: many clients selling the same product at once
// leave exact stock, aggregates equal to the raw sales in every window and
// dimension, and a gap-free outbox.
func TestNode_ConcurrentSales(t *testing.T) {
	const (
		workers = 32
		each    = 50
		start   = 100000
		price   = 150
	)
	s := edgetest.Start(t, edgetest.Options{Clock: edgetest.NewClock(t0), Timezone: "Asia/Kolkata"})
	s.Machine("M1")
	s.Machine("M2", map[string]any{"location": map[string]any{"city": "Othertown"}})
	s.Product("M1", "P1", price, start)
	s.Product("M2", "P1", price, start)
	seqBefore := edgetest.Count(t, s.DB(), store.LastSeqQuery)
	tokens := map[string]string{"M1": s.Token(auth.RoleMachine, "M1"), "M2": s.Token(auth.RoleMachine, "M2")}

	var (
		mu   sync.Mutex
		seqs = map[uint64]string{}
		sold = map[string]int64{}
		wg   sync.WaitGroup
		errs = make(chan error, workers)
	)
	base := s.URL()
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			machine := []string{"M1", "M2"}[g%2]
			for i := range each {
				tx := fmt.Sprintf("w%02d-%03d", g, i)
				qty := int64(1 + (g+i)%3)
				// Spread over ~4 days of hours so many buckets of every window are hit.
				at := t0.Add(-time.Duration((g*each+i)%97) * 61 * time.Minute)
				r, err := edgetest.Send(t.Context(), s.HTTP, base, "POST", "/events/sales", tokens[machine], saleBody(tx, machine, "P1", qty, price, at))
				if err != nil {
					errs <- fmt.Errorf("%s: %w", tx, err)
					return
				}
				var a saleAnswer
				if r.Status != http.StatusCreated || json.Unmarshal(r.Body, &a) != nil || r.Header.Get("Idempotent-Replayed") != "" {
					errs <- fmt.Errorf("%s: %d %s", tx, r.Status, r.Body)
					return
				}
				mu.Lock()
				if prev, dup := seqs[a.Sequence]; dup {
					mu.Unlock()
					errs <- fmt.Errorf("%s and %s both got sequence %d", prev, tx, a.Sequence)
					return
				}
				seqs[a.Sequence] = tx
				sold[machine] += qty
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	db := s.DB()
	if got, want := edgetest.Count(t, db, `SELECT COUNT(*) FROM sales_events`), int64(workers*each); got != want {
		t.Fatalf("%d sales stored, want %d", got, want)
	}
	for _, m := range []string{"M1", "M2"} {
		if got, want := s.Stock(m, "P1"), start-sold[m]; got != want {
			t.Fatalf("%s stock = %d, want %d", m, got, want)
		}
	}
	var n, lo, hi int64
	if err := db.QueryRow(`SELECT COUNT(*), MIN(seq), MAX(seq) FROM outbox`).Scan(&n, &lo, &hi); err != nil {
		t.Fatal(err)
	}
	if got, want := [3]int64{n, lo, hi}, [3]int64{seqBefore + workers*each, 1, seqBefore + workers*each}; got != want {
		t.Fatalf("outbox COUNT, MIN, MAX = %v, want %v", got, want)
	}
	for sq, tx := range seqs {
		if got := edgetest.Count(t, db, `SELECT seq FROM sales_events WHERE transaction_id = ?`, tx); uint64(got) != sq {
			t.Fatalf("%s answered sequence %d but is stored with %d", tx, sq, got)
		}
	}
	edgetest.CheckStore(t, db, s.Node.Store.Site.Loc)

	// The API's totals agree.
	r := s.Do("GET", "/aggregations/sales?groupBy=location&window=month&from=2025-01-01&to=2025-04-01", s.AdminToken(), nil)
	var agg struct {
		Totals struct {
			Transactions int64 `json:"transactions"`
			Quantity     int64 `json:"quantity"`
		} `json:"totals"`
	}
	r.Decode(t, &agg)
	if got, want := agg.Totals.Quantity, sold["M1"]+sold["M2"]; got != want || agg.Totals.Transactions != workers*each {
		t.Fatalf("API totals %+v, want %d transactions and quantity %d", agg.Totals, workers*each, want)
	}
	// /metrics tells how long the WAL is (the checkpointer keeps it
	// bounded): these sales wrote to it.
	if got := edgetest.Metric(t, base, "vendsync_edge_wal_bytes", nil); got <= 0 || got > 1<<30 {
		t.Fatalf("vendsync_edge_wal_bytes = %v after %d sales, want a length in (0, 1 GiB]", got, workers*each)
	}
}

// TestNode_CloseAndReopen: a node closed while clients are selling keeps
// every sale it acknowledged, and after reopening the outbox sequence
// continues without reusing a number.
func TestNode_CloseAndReopen(t *testing.T) {
	s := edgetest.Start(t, edgetest.Options{Clock: edgetest.NewClock(t0)})
	s.Machine("M1")
	s.Product("M1", "P1", 100, 10000, map[string]any{"lowStockLimit": 9990})
	tok := s.AdminToken()
	ts := t0.Format(time.RFC3339)
	for _, req := range []struct {
		path string
		body any
	}{
		{"/events/telemetry", map[string]any{"machineId": "M1", "temperature": 4, "powerStatus": "OFF", "timestamp": ts}},
		{"/events/faults", map[string]any{"machineId": "M1", "faultType": "JAM", "timestamp": ts}},
	} {
		if r := s.Do("POST", req.path, tok, req.body); r.Status >= 300 {
			t.Fatalf("POST %s: %d %s", req.path, r.Status, r.Body)
		}
	}

	var (
		mu    sync.Mutex
		acked = map[string]int64{}
		sent  atomic.Int64
		wg    sync.WaitGroup
	)
	base := s.URL()
	stop := make(chan struct{})
	// One connection per request: a keep-alive client may dial a connection
	// it then never uses, which http.Server.Shutdown waits 5s for.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				tx := fmt.Sprintf("c%d-%d", g, i)
				qty := int64(1 + i%2)
				sent.Add(1)
				r, err := edgetest.Send(t.Context(), client, base, "POST", "/events/sales", tok, saleBody(tx, "M1", "P1", qty, 100, t0))
				if err != nil {
					return // the node is gone
				}
				if r.Status == http.StatusCreated {
					mu.Lock()
					acked[tx] = qty
					mu.Unlock()
				}
			}
		}()
	}
	testkit.CheckFor(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(acked) < 200 {
			return fmt.Errorf("%d sales acknowledged so far", len(acked))
		}
		return nil
	})
	s.Close() // while the clients keep sending
	close(stop)
	wg.Wait()
	s.Open()

	db := s.DB()
	before := edgetest.Counts(t, db)
	for tx, qty := range acked {
		if got := edgetest.Count(t, db, `SELECT quantity FROM sales_events WHERE transaction_id = ?`, tx); got != qty {
			t.Fatalf("acknowledged sale %s: stored quantity %d, want %d", tx, got, qty)
		}
	}
	total := edgetest.Count(t, db, `SELECT SUM(quantity) FROM sales_events`)
	if got, want := s.Stock("M1", "P1"), 10000-total; got != want {
		t.Fatalf("stock = %d, want %d", got, want)
	}
	if got, want := s.OpenAlerts("M1", ""), "POWER_OFF"; got != want {
		t.Fatalf("machine alerts after reopen = %q, want %q", got, want)
	}
	if got, want := s.OpenAlerts("M1", "P1"), "LOW_STOCK"; got != want {
		t.Fatalf("product alerts after reopen = %q, want %q", got, want)
	}
	edgetest.CheckStore(t, db, s.Node.Store.Site.Loc)
	t.Logf("%d sales sent, %d acknowledged, %d stored", sent.Load(), len(acked), before["sales_events"])

	// New writes continue the sequence.
	lastSeq := before["last_seq"]
	r := s.Do("POST", "/events/sales", s.AdminToken(), saleBody("after-reopen", "M1", "P1", 1, 100, t0))
	var a saleAnswer
	r.Decode(t, &a)
	if got, want := a.Sequence, uint64(lastSeq+1); got != want {
		t.Fatalf("first sale after reopen has sequence %d, want %d", got, want)
	}
	r = s.Do("POST", "/events/faults", s.AdminToken(), map[string]any{"machineId": "M1", "faultType": "JAM", "timestamp": ts})
	var f struct {
		FaultID int64 `json:"faultId"`
	}
	r.Decode(t, &f)
	if got, want := f.FaultID, int64(2); got != want {
		t.Fatalf("fault id after reopen = %d, want %d", got, want)
	}
	edgetest.CheckStore(t, db, s.Node.Store.Site.Loc)

	// A clean close and reopen changes nothing.
	before = edgetest.Counts(t, s.DB())
	s.Reopen()
	after := edgetest.Counts(t, s.DB())
	for k, v := range before {
		if after[k] != v {
			t.Fatalf("reopen changed %s from %d to %d", k, v, after[k])
		}
	}
}
