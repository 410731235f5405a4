package lot_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/sync/envelope"
)

var t0 = time.Date(2026, 6, 10, 9, 0, 0, 0, time.UTC) // 2026-06-10 in UTC

func start(t *testing.T) (*edgetest.Site, *edgetest.Clock) {
	t.Helper()
	clock := edgetest.NewClock(t0)
	s := edgetest.Start(t, edgetest.Options{Clock: clock, Configure: func(c *edge.Config) { c.TokenTTL = 24 * 365 * time.Hour }})
	s.Machine("M1")
	s.Product("M1", "MILK", 250, 0, map[string]any{"perishable": true})
	s.Product("M1", "CHIPS", 150, 0)
	return s, clock
}

func do(t *testing.T, s *edgetest.Site, method, path string, body any, status int) edgetest.Response {
	t.Helper()
	r := s.Do(method, path, s.AdminToken(), body)
	if r.Status != status {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, r.Status, status, r.Body)
	}
	return r
}

// restock adds lots: each is {qty, expiry, cost cents (<0: unknown)}.
func restock(t *testing.T, s *edgetest.Site, id, product string, lots ...[3]any) {
	t.Helper()
	for i, l := range lots {
		item := map[string]any{"productId": product, "added": l[0], "expiryDate": l[1]}
		if c := l[2].(int); c >= 0 {
			item["unitCost"] = json.Number(fmt.Sprintf("%d.%02d", c/100, c%100))
			item["lotCode"] = "L" + l[1].(string)
		}
		do(t, s, "POST", "/machines/M1/restock", map[string]any{"movementId": id + "-" + string(rune('a'+i)), "items": []any{item}}, http.StatusCreated)
	}
}

func lots(t *testing.T, s *edgetest.Site, q string) []edgeapi.Lot {
	t.Helper()
	var out edgeapi.LotList
	do(t, s, "GET", "/lots"+q, nil, http.StatusOK).Decode(t, &out)
	return out.Lots
}

// lastSale is the data of the newest sale event in the outbox.
func lastSale(t *testing.T, s *edgetest.Site) envelope.Sale {
	t.Helper()
	var raw []byte
	if err := s.DB().QueryRow(`SELECT payload FROM outbox WHERE kind = 'sale' ORDER BY seq DESC LIMIT 1`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var ev struct{ Data envelope.Sale }
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev.Data
}

func TestSell_FEFOAcrossLots(t *testing.T) {
	tests := []struct {
		name string
		lots [][3]any // added in this order
		sell []int64
		// left is the quantity per lot after the sales, in FEFO order
		left     []int64
		cogs     []int64 // per sale; -1: unknown
		earliest string  // the slot's expiry after the sales
	}{
		{name: "earliest first whatever the order added",
			lots: [][3]any{{5, "2026-06-20", 100}, {5, "2026-06-15", 80}, {5, "2026-06-25", 120}},
			sell: []int64{3, 4}, left: []int64{0, 3, 5}, cogs: []int64{240, 2*80 + 2*100}, earliest: "2026-06-20"},
		{name: "a sale across three lots",
			lots: [][3]any{{1, "2026-06-12", 50}, {2, "2026-06-13", 60}, {4, "2026-06-14", 70}},
			sell: []int64{5}, left: []int64{0, 0, 2}, cogs: []int64{50 + 120 + 140}, earliest: "2026-06-14"},
		{name: "undated units go last",
			lots: [][3]any{{2, "", 10}, {2, "2026-06-30", 20}},
			sell: []int64{3}, left: []int64{0, 1}, cogs: []int64{2*20 + 10}, earliest: "2026-06-30"},
		{name: "unknown cost makes cogs unknown",
			lots: [][3]any{{2, "2026-06-12", -1}, {2, "2026-06-14", 30}},
			sell: []int64{1, 2}, left: []int64{0, 1}, cogs: []int64{-1, -1}, earliest: "2026-06-14"},
		{name: "oversold beyond every lot",
			lots: [][3]any{{2, "2026-06-12", 40}},
			sell: []int64{3}, left: []int64{0}, cogs: []int64{-1}, earliest: "2026-06-12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := start(t)
			restock(t, s, "R", "CHIPS", tt.lots...)
			for i, n := range tt.sell {
				tx := fmt.Sprintf("T%d", i)
				do(t, s, "POST", "/events/sales", s.Sale(tx, "M1", "CHIPS", n, 150*n), http.StatusCreated)
				sale := lastSale(t, s)
				if len(sale.Lots) == 0 {
					t.Fatalf("sale %d took no lots", i)
				}
				switch want := tt.cogs[i]; {
				case want < 0 && sale.CogsCents != nil:
					t.Fatalf("sale %d cogs %d, want unknown", i, *sale.CogsCents)
				case want >= 0 && (sale.CogsCents == nil || *sale.CogsCents != want):
					t.Fatalf("sale %d cogs %v, want %d", i, sale.CogsCents, want)
				}
			}
			all := lots(t, s, "?productId=CHIPS")
			empty := lots(t, s, "?productId=CHIPS&status=EMPTY")
			var got []int64
			// FEFO order over all lots: merge held and emptied by expiry.
			byID := map[int64]int64{}
			for _, l := range append(all, empty...) {
				byID[l.LotID] = l.Quantity
			}
			order := fefo(append(all, empty...))
			for _, id := range order {
				got = append(got, byID[id])
			}
			if len(got) != len(tt.left) {
				t.Fatalf("lots %v, want %v", got, tt.left)
			}
			for i := range got {
				if got[i] != tt.left[i] {
					t.Fatalf("lots after the sales %v, want %v", got, tt.left)
				}
			}
			var sum int64
			for _, q := range got {
				sum += q
			}
			edgetest.CheckLots(t, s.DB())
			if got, want := s.Stock("M1", "CHIPS"), sum; got != want {
				t.Fatalf("slot holds %d, lots %d", got, want)
			}
			var exp string
			if err := s.DB().QueryRow(`SELECT COALESCE(expiry_date, '') FROM machine_inventory WHERE machine_id = 'M1' AND product_id = 'CHIPS'`).Scan(&exp); err != nil {
				t.Fatal(err)
			}
			if exp != tt.earliest {
				t.Fatalf("slot expiry %q, want %q", exp, tt.earliest)
			}
		})
	}
}

// fefo orders lots by expiry (undated last), then id.
func fefo(ls []edgeapi.Lot) []int64 {
	out := make([]edgeapi.Lot, len(ls))
	copy(out, ls)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && less(out[j], out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	ids := make([]int64, len(out))
	for i, l := range out {
		ids[i] = l.LotID
	}
	return ids
}

func less(a, b edgeapi.Lot) bool {
	if a.ExpiryDate == b.ExpiryDate {
		return a.LotID < b.LotID
	}
	if a.ExpiryDate == "" || b.ExpiryDate == "" {
		return b.ExpiryDate == ""
	}
	return a.ExpiryDate < b.ExpiryDate
}

func TestSell_OnlyExpiredStockIsRecordedAndFlagged(t *testing.T) {
	s, clock := start(t)
	restock(t, s, "R", "CHIPS", [3]any{2, "2026-06-11", 40}, [3]any{3, "2026-06-20", 50})
	clock.Set(t0.Add(2 * 24 * time.Hour)) // 06-12: the first lot has expired
	// Sellable units go first: the expired lot is passed over.
	r := do(t, s, "POST", "/events/sales", s.Sale("T1", "M1", "CHIPS", 3, 450), http.StatusCreated)
	if strings.Contains(string(r.Body), "SOLD_EXPIRED") {
		t.Fatalf("sale of good units flagged: %s", r.Body)
	}
	if got := s.OpenAlerts("M1", "CHIPS"); strings.Contains(got, "SOLD_EXPIRED") {
		t.Fatalf("alerts %q", got)
	}
	if sale := lastSale(t, s); len(sale.Lots) != 1 || sale.Lots[0].Quantity != 3 || sale.CogsCents == nil || *sale.CogsCents != 150 {
		t.Fatalf("first sale took %+v cogs %v", sale.Lots, sale.CogsCents)
	}
	// Only expired units are left: the sale is still recorded, flagged, alerted.
	r = do(t, s, "POST", "/events/sales", s.Sale("T2", "M1", "CHIPS", 1, 150), http.StatusCreated)
	var res struct{ Flags []string }
	r.Decode(t, &res)
	if len(res.Flags) != 1 || res.Flags[0] != envelope.FlagSoldExpired {
		t.Fatalf("flags %v, want SOLD_EXPIRED", res.Flags)
	}
	if sale := lastSale(t, s); len(sale.Flags) != 1 || sale.Flags[0] != envelope.FlagSoldExpired || sale.CogsCents == nil || *sale.CogsCents != 40 {
		t.Fatalf("sale event %+v", sale)
	}
	if got := s.OpenAlerts("M1", "CHIPS"); !strings.Contains(got, "SOLD_EXPIRED") {
		t.Fatalf("alerts %q, want SOLD_EXPIRED", got)
	}
	if got := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM sales_events WHERE transaction_id = 'T2'`); got != 1 {
		t.Fatalf("expired sale recorded %d times", got)
	}
	// The driver pulls the rest as expired: the alert closes.
	do(t, s, "POST", "/machines/M1/restock", map[string]any{"movementId": "V1", "items": []any{map[string]any{"productId": "CHIPS", "removedExpired": 1}}}, http.StatusCreated)
	if got := s.OpenAlerts("M1", "CHIPS"); strings.Contains(got, "SOLD_EXPIRED") {
		t.Fatalf("alerts after pulling %q", got)
	}
	if got := s.Stock("M1", "CHIPS"); got != 0 {
		t.Fatalf("stock %d", got)
	}
	edgetest.CheckStore(t, s.DB(), s.Node.Store.Site.Loc)
}

func TestLockout_AfterWindowAndRelease(t *testing.T) {
	s, clock := start(t)
	restock(t, s, "R", "MILK", [3]any{4, "2026-06-20", 90})
	restock(t, s, "S", "CHIPS", [3]any{6, "2026-07-20", 30})
	hot := func(at time.Time, temp float64) {
		t.Helper()
		clock.Set(at)
		do(t, s, "POST", "/events/telemetry", map[string]any{"machineId": "M1", "temperature": temp, "timestamp": at.Format(time.RFC3339)}, http.StatusAccepted)
	}
	held := func() int {
		return len(lots(t, s, "?machineId=M1&status=HOLD"))
	}
	hot(t0, 12)
	hot(t0.Add(time.Hour), 12)
	hot(t0.Add(2*time.Hour-time.Minute), 13)
	if n := held(); n != 0 {
		t.Fatalf("%d lots held inside the window", n)
	}
	hot(t0.Add(2*time.Hour), 12)
	hl := lots(t, s, "?machineId=M1&status=HOLD")
	if len(hl) != 1 || hl[0].ProductID != "MILK" {
		t.Fatalf("held %+v, want the perishable MILK lot only", hl)
	}
	if got := s.OpenAlerts("M1", ""); !strings.Contains(got, "TEMPERATURE_LOCKOUT") {
		t.Fatalf("machine alerts %q", got)
	}
	// A sale of held milk is still recorded, flagged SOLD_ON_HOLD.
	r := do(t, s, "POST", "/events/sales", s.Sale("T1", "M1", "MILK", 1, 250), http.StatusCreated)
	if !strings.Contains(string(r.Body), envelope.FlagSoldOnHold) {
		t.Fatalf("sale of held milk: %s", r.Body)
	}
	// A machine may not release; a driver may.
	if r := s.Do("POST", "/machines/M1/lots/release", s.Token(auth.RoleMachine, "M1"), map[string]any{"action": "RELEASE"}); r.Status != http.StatusForbidden {
		t.Fatalf("machine release: %d", r.Status)
	}
	var rel edgeapi.LotReleaseResult
	r = s.Do("POST", "/machines/M1/lots/release", s.Token(auth.RoleDriver, ""), map[string]any{"action": "RELEASE"})
	if r.Status != http.StatusOK {
		t.Fatalf("release: %d %s", r.Status, r.Body)
	}
	r.Decode(t, &rel)
	if len(rel.Lots) != 1 || rel.Lots[0].Quantity != 3 {
		t.Fatalf("released %+v", rel.Lots)
	}
	if n := held(); n != 0 {
		t.Fatalf("%d lots still held", n)
	}
	if got := s.OpenAlerts("M1", ""); strings.Contains(got, "TEMPERATURE_LOCKOUT") {
		t.Fatalf("lockout still open: %q", got)
	}
	// The same excursion does not lock again; a new one does.
	hot(t0.Add(3*time.Hour), 12)
	if n := held(); n != 0 {
		t.Fatalf("the same excursion locked again")
	}
	hot(t0.Add(4*time.Hour), 5)
	hot(t0.Add(5*time.Hour), 11)
	hot(t0.Add(7*time.Hour), 11)
	if n := held(); n != 1 {
		t.Fatalf("new excursion: %d lots held", n)
	}
	// Discarding removes the units as spoiled.
	do(t, s, "POST", "/machines/M1/lots/release", map[string]any{"action": "DISCARD"}, http.StatusOK)
	if got := s.Stock("M1", "MILK"); got != 0 {
		t.Fatalf("milk after discard %d", got)
	}
	if got := s.Stock("M1", "CHIPS"); got != 6 {
		t.Fatalf("chips after discard %d", got)
	}
	if got := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM audit_logs WHERE action IN ('LOTS_RELEASE', 'LOTS_DISCARD')`); got != 2 {
		t.Fatalf("%d audit rows", got)
	}
	do(t, s, "POST", "/machines/M1/lots/release", map[string]any{"action": "BURN"}, http.StatusBadRequest)
	edgetest.CheckStore(t, s.DB(), s.Node.Store.Site.Loc)
}

func TestRestock_WithoutLotInfoKeepsOneUnknownLot(t *testing.T) {
	s, _ := start(t)
	do(t, s, "POST", "/machines/M1/restock", map[string]any{"movementId": "A", "items": []any{map[string]any{"productId": "CHIPS", "added": 4, "expiryDate": "2026-06-30"}}}, http.StatusCreated)
	do(t, s, "POST", "/machines/M1/restock", map[string]any{"movementId": "B", "items": []any{map[string]any{"productId": "CHIPS", "added": 2, "expiryDate": "2026-06-30"}}}, http.StatusCreated)
	ls := lots(t, s, "?machineId=M1&productId=CHIPS")
	if len(ls) != 1 || ls[0].Quantity != 6 || ls[0].UnitCost != nil {
		t.Fatalf("lots %+v, want one unknown lot of 6", ls)
	}
	do(t, s, "GET", "/lots?expiringBefore=06-30", nil, http.StatusBadRequest)
	if got := lots(t, s, "?expiringBefore=2026-06-30"); len(got) != 0 {
		t.Fatalf("expiring before 06-30: %+v", got)
	}
	if got := lots(t, s, "?expiringBefore=2026-07-01"); len(got) != 1 {
		t.Fatalf("expiring before 07-01: %+v", got)
	}
}
