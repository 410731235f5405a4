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
