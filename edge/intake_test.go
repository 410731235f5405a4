package edge_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/store"
)

// siteState is every row of the tables a sale writes, as sorted text.
func siteState(t *testing.T, db *sql.DB) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"sales_events", "machine_inventory", "sales_agg", "outbox", "alerts", "lots", "lot_movements",
		"payments", "payment_totals", "audit_logs", "sync_state"} {
		rows, err := db.Query(`SELECT * FROM ` + table)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		vals, ptrs := make([]any, len(cols)), make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		var lines []string
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprint(vals...))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		slices.Sort(lines)
		fmt.Fprintf(&b, "%s (%d rows)\n%s\n", table, len(lines), strings.Join(lines, "\n"))
	}
	return b.String()
}

// copySite copies a site directory without its database files: what
// stays of the site when its database is replaced.
func copySite(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o700)
		}
		if strings.HasPrefix(rel, store.DBFile) || strings.HasSuffix(rel, ".lock") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return to
}

// TestIntakeLog_SalesLostByTheDatabaseComeBackTheSame: in --fsync=log
// mode, sales the site answered and whose commits a power cut lost (the
// database is a copy taken before them; the intake log is what was on
// disk) are recorded again on open with the same results: the same sale
// rows and sequence numbers, stock, lots, aggregates, payments, alerts and
// outbox, refusals refused again, duplicates not counted twice; single
// sales and batches alike.
func TestIntakeLog_SalesLostByTheDatabaseComeBackTheSame(t *testing.T) {
	clock := edgetest.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	logMode := func(c *edge.Config) { c.Ingest.Fsync = ingest.FsyncLog }
	s := edgetest.Start(t, edgetest.Options{Clock: clock, Configure: logMode})
	s.Machine("VM1")
	s.Machine("VM2")
	s.Product("VM1", "TEA", 120, 30)
	s.Product("VM1", "COFFEE", 250, 6)
	s.Product("VM2", "TEA", 120, 12)
	tok := s.AdminToken()
	accepted, refused := 0, 0
	sell := func(i int) {
		if i%10 == 0 {
			tok = s.TokenFor(s.Admin) // the clock runs for hours
		}
		m, p, qty, amt := "VM1", "TEA", int64(1+i%3), int64(120)
		switch i % 4 {
		case 1:
			p, amt = "COFFEE", 250
		case 2:
			m = "VM2"
		}
		body := s.Sale(fmt.Sprintf("tx-%d", i), m, p, qty, amt*qty)
		if i%5 == 4 {
			body["paymentMethod"] = "CASH"
		}
		switch {
		case i%11 == 10:
			body["productId"] = "NOPE" // refused: not stocked
		case i%13 == 12:
			body["amount"] = json.Number("0.01") // refused: amount mismatch
		}
		r := s.Do("POST", "/events/sales", tok, body)
		switch {
		case r.Status == http.StatusCreated:
			accepted++
		case r.Status == http.StatusUnprocessableEntity && (i%11 == 10 || i%13 == 12):
			refused++
		default:
			t.Fatalf("sale %d: %d %s", i, r.Status, r.Body)
		}
		if i%6 == 5 { // a machine's retry: answered again, counted once
			if r2 := s.Do("POST", "/events/sales", tok, body); r2.Status != r.Status {
				t.Fatalf("retry of sale %d: %d, first %d", i, r2.Status, r.Status)
			}
		}
		if i%9 == 8 { // a machine's offline buffer: three sales, one refused
			events := []any{s.Sale(fmt.Sprintf("bt-%d-0", i), "VM2", "TEA", 1, 120), s.Sale(fmt.Sprintf("bt-%d-1", i), "VM1", "NOPE", 1, 120),
				s.Sale(fmt.Sprintf("bt-%d-2", i), "VM1", "COFFEE", 2, 500)}
			if r := s.Do("POST", "/events/batch", tok, map[string]any{"events": events}); r.Status != http.StatusOK ||
				strings.Count(string(r.Body), "ACCEPTED") != 2 || strings.Count(string(r.Body), "REJECTED") != 1 {
				t.Fatalf("batch %d: %d %s", i, r.Status, r.Body)
			}
		}
		clock.Advance(4 * time.Minute)
	}
	for i := range 10 {
		sell(i)
	}
	// The database as a power cut would leave it: the commits so far.
	lost := copySite(t, s.Dir)
	snap, err := sql.Open("sqlite", "file:"+filepath.Join(s.Dir, store.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snap.Exec(`VACUUM INTO ?`, filepath.Join(lost, store.DBFile)); err != nil {
		t.Fatal(err)
	}
	snap.Close()
	if err := os.Chmod(filepath.Join(lost, store.DBFile), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 10; i < 60; i++ {
		sell(i)
	}
	if r := s.Do("POST", "/events/sales", tok, s.Sale("tx-3", "VM1", "TEA", 2, 240)); r.Status != http.StatusConflict {
		t.Fatalf("a reused id with another body: %d %s, want 409", r.Status, r.Body)
	}
	if accepted < 40 || refused < 5 {
		t.Fatalf("%d sales accepted, %d refused: the test needs both", accepted, refused)
	}
	log, err := os.ReadFile(ingest.IntakePath(filepath.Join(s.Dir, store.DBFile)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ingest.IntakePath(filepath.Join(lost, store.DBFile)), log, 0o600); err != nil {
		t.Fatal(err)
	}
	// The recovered node sweeps (machines silent for hours go offline):
	// so does this one, at the same clock, after the sales.
	s.Sweep()
	want := siteState(t, s.DB())
	if !strings.Contains(want, "OUT_OF_STOCK") && !strings.Contains(want, "LOW_STOCK") {
		t.Fatalf("the sales raised no stock alert; the test needs one:\n%s", want)
	}
	s.Close()

	cfg := edge.DefaultConfig()
	cfg.Dir, cfg.HTTPAddr, cfg.SweepEvery = lost, "127.0.0.1:0", time.Hour
	cfg.Ingest.Now = clock.Now
	logMode(&cfg)
	n, err := edge.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.Writer.Sweep(t.Context()); err != nil { // whether or not its own ran yet
		t.Fatal(err)
	}
	if got := siteState(t, n.Store.DB.R); got != want {
		t.Fatalf("the recovered site differs from the one that answered:\n--- got\n%s\n--- want\n%s", got, want)
	}
}
