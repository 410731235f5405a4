package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

// TestStockMovements_MachineSalesSameAsSortedLedger fills sales_events with
// random sales (machines with several payment methods, one, or no sales;
// many sales in the same millisecond) and checks each machine's sale
// movements, page by page and over time ranges, against the sales sorted in
// Go by (event_time, key): the read by the machine × time index must
// neither drop, repeat nor reorder a sale.
func TestStockMovements_MachineSalesSameAsSortedLedger(t *testing.T) {
	ctx := context.Background()
	s, err := Init(ctx, t.TempDir(), SiteInit{ID: "test-site", Timezone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(14, 500))
	methods := map[string][]string{"M1": {"CARD", "CASH", "MOBILE", "ZAP"}, "M2": {"CASH"}, "M3": {"CARD", "CASH"}, "M4": nil}
	type sale struct {
		machine, tx string
		at          int64
	}
	var sales []sale
	tx, err := s.DB.W.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3000 {
		m := fmt.Sprintf("M%d", 1+rng.IntN(3))
		ms := methods[m]
		sl := sale{machine: m, tx: fmt.Sprintf("T%05d", rng.IntN(1_000_000)), at: 1_000 + int64(rng.IntN(400))}
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO sales_events (machine_id, transaction_id, product_id, quantity, amount_cents,
			payment_method, event_time, received_at, body_hash, seq) VALUES (?, ?, ?, ?, 100, ?, ?, 0, x'00', ?)`,
			m, sl.tx, fmt.Sprintf("P%d", rng.IntN(5)), 1+rng.IntN(3), ms[rng.IntN(len(ms))], sl.at, i+1); err != nil {
			t.Fatal(err)
		}
		sales = append(sales, sl)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	seen := map[[2]string]bool{}
	var ledger []sale // as stored: a repeated key kept its first row
	for _, sl := range sales {
		if k := [2]string{sl.machine, sl.tx}; !seen[k] {
			seen[k] = true
			ledger = append(ledger, sl)
		}
	}
	sort.Slice(ledger, func(i, j int) bool {
		if ledger[i].at != ledger[j].at {
			return ledger[i].at < ledger[j].at
		}
		return ledger[i].tx < ledger[j].tx
	})
	tests := []struct {
		name          string
		from, to      int64 // 0: open
		limit, offset int
	}{
		{"everything", 0, 0, 5000, 0},
		{"first page", 0, 0, 100, 0},
		{"a middle page", 0, 0, 37, 211},
		{"past the end", 0, 0, 50, 4000},
		{"a range", 1_100, 1_250, 500, 0},
		{"a range, paged", 1_100, 1_250, 10, 30},
		{"one millisecond", 1_200, 1_201, 500, 0},
		{"an empty range", 2_000, 3_000, 500, 0},
	}
	for m := range methods {
		for _, tc := range tests {
			t.Run(m+"/"+tc.name, func(t *testing.T) {
				f := MovementFilter{MachineID: m, Type: "sale", Limit: tc.limit, Offset: tc.offset}
				var want []string
				for _, sl := range ledger {
					if sl.machine == m && (tc.from == 0 || sl.at >= tc.from) && (tc.to == 0 || sl.at < tc.to) {
						want = append(want, fmt.Sprintf("sale:%s@%d", sl.tx, sl.at))
					}
				}
				if tc.from != 0 {
					f.From, f.To = time.UnixMilli(tc.from), time.UnixMilli(tc.to)
				}
				wantMore := len(want) > tc.offset+tc.limit
				want = want[min(tc.offset, len(want)):]
				want = want[:min(tc.limit, len(want))]
				for _, typ := range []string{"sale", ""} {
					f.Type = typ
					got, more, err := s.StockMovements(ctx, f)
					if err != nil {
						t.Fatal(err)
					}
					if more != wantMore {
						t.Errorf("type %q: more = %v, want %v", typ, more, wantMore)
					}
					if len(got) != len(want) {
						t.Fatalf("type %q: %d movements, want %d", typ, len(got), len(want))
					}
					for i, g := range got {
						if s := fmt.Sprintf("%s@%d", g.Key, g.PerformedAt.UnixMilli()); s != want[i] || g.MachineID != m || g.Type != "sale" {
							t.Fatalf("type %q: movement %d = %s (%s, %s), want %s", typ, i, s, g.MachineID, g.Type, want[i])
						}
					}
				}
			})
		}
	}
}

// TestStockMovements_LedgerMergedInOrder fills both sides of the ledger,
// sales and restock-visit lines, in the same few hundred milliseconds
// (several movements of either side in most of them, zero movements among
// the lines) and checks every page of the merged ledger, over the whole
// time and over ranges, against the movements sorted in Go by
// (performed_at, key): the visits read only up to the page's last sale
// must still include every visit of that last millisecond.
func TestStockMovements_LedgerMergedInOrder(t *testing.T) {
	ctx := context.Background()
	s, err := Init(ctx, t.TempDir(), SiteInit{ID: "test-site", Timezone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(14, 501))
	type mv struct {
		key, typ string
		at       int64
	}
	var ledger []mv
	// The visits' machines and products are not registered: this test is
	// about the ledger's order only.
	if _, err := s.DB.W.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		t.Fatal(err)
	}
	defer s.DB.W.ExecContext(ctx, `PRAGMA foreign_keys = ON`)
	tx, err := s.DB.W.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := range 1500 {
		m, id, at := fmt.Sprintf("M%d", 1+rng.IntN(3)), fmt.Sprintf("T%05d", rng.IntN(1_000_000)), 1_000+int64(rng.IntN(400))
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO sales_events (machine_id, transaction_id, product_id, quantity, amount_cents,
			payment_method, event_time, received_at, body_hash, seq) VALUES (?, ?, 'P1', 1, 100, 'CASH', ?, 0, x'00', ?)`, m, id, at, i+1); err != nil {
			t.Fatal(err)
		}
		if !seen[m+"/"+id] { // a repeated key keeps its first row
			seen[m+"/"+id] = true
			ledger = append(ledger, mv{"sale:" + id, "sale", at})
		}
	}
	reasons := map[string]string{"RESTOCK": "restock", "EXPIRED": "expired", "DAMAGED": "damaged", "COUNT": "count_adjustment"}
	names := []string{"RESTOCK", "EXPIRED", "DAMAGED", "COUNT"}
	for v := range 120 {
		at := 1_000 + int64(rng.IntN(400))
		lines := 3
		if v%10 == 0 {
			lines = 12 // keys "V…:10" before "V…:2": the ledger's order is the key's text
		}
		for line := 1; line <= lines; line++ {
			reason, delta := names[rng.IntN(len(names))], rng.IntN(5)-1
			if _, err := tx.ExecContext(ctx, `INSERT INTO stock_movements (movement_id, line, machine_id, product_id, reason, delta, after,
				performed_by, performed_at, body_hash, seq) VALUES (?, ?, 'M1', 'P1', ?, ?, 5, 'drv', ?, x'00', ?)`,
				fmt.Sprintf("V%03d", v), line, reason, delta, at, 10_000+v*20+line); err != nil {
				t.Fatal(err)
			}
			if delta != 0 { // a zero movement is not listed
				ledger = append(ledger, mv{fmt.Sprintf("V%03d:%d", v, line), reasons[reason], at})
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	sort.Slice(ledger, func(i, j int) bool {
		if ledger[i].at != ledger[j].at {
			return ledger[i].at < ledger[j].at
		}
		return ledger[i].key < ledger[j].key
	})
	type page struct {
		from, to      int64 // 0: open
		limit, offset int
	}
	var pages []page
	for _, p := range []page{{0, 0, 5000, 0}, {1_100, 1_250, 500, 0}, {1_200, 1_201, 500, 0}} {
		pages = append(pages, p)
	}
	for limit := 1; limit <= 200; limit++ { // every cut of the ledger's start, inside a millisecond's lines or not
		pages = append(pages, page{0, 0, limit, 0})
	}
	for off := 0; off < len(ledger)+20; off += 53 {
		pages = append(pages, page{0, 0, 1 + off%97, off}, page{1_050, 1_300, 25, off / 3})
	}
	for _, p := range pages {
		for _, typ := range []string{"", "restock"} {
			f := MovementFilter{Type: typ, Limit: p.limit, Offset: p.offset}
			var want []string
			for _, m := range ledger {
				if (typ == "" || m.typ == typ) && (p.from == 0 || m.at >= p.from) && (p.to == 0 || m.at < p.to) {
					want = append(want, fmt.Sprintf("%s@%d", m.key, m.at))
				}
			}
			if p.from != 0 {
				f.From, f.To = time.UnixMilli(p.from), time.UnixMilli(p.to)
			}
			wantMore := len(want) > p.offset+p.limit
			want = want[min(p.offset, len(want)):]
			want = want[:min(p.limit, len(want))]
			got, more, err := s.StockMovements(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if more != wantMore || len(got) != len(want) {
				t.Fatalf("type %q, page %+v: %d movements (more %v), want %d (more %v)", typ, p, len(got), more, len(want), wantMore)
			}
			for i, g := range got {
				if s := fmt.Sprintf("%s@%d", g.Key, g.PerformedAt.UnixMilli()); s != want[i] {
					t.Fatalf("type %q, page %+v: movement %d = %s, want %s", typ, p, i, s, want[i])
				}
			}
		}
	}
}
