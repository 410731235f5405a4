package readmodel

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/sync/envelope"
)

func mustDepotVan(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	for _, d := range []string{"d1", "d2"} {
		if _, err := s.CreateDepot(ctx, Depot{ID: d, Name: "Depot " + d, City: "Berlin", CreatedBy: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []string{"v1", "v2"} {
		if _, err := s.CreateVan(ctx, Van{ID: v, Name: "Van " + v, DepotID: "d1", CreatedBy: "test"}); err != nil {
			t.Fatal(err)
		}
	}
}

// checkLedger asserts the ledger invariants: every depot and van balance
// is the sum of its movements, and none is negative (no movement here was
// allowed to go below zero).
func checkLedger(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	sums, err := s.LedgerSums(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stock, err := s.Stock(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(stock), len(sums); got != want {
		t.Fatalf("%d balances, %d locations with movements", got, want)
	}
	for _, r := range stock {
		k := [3]string{string(r.Kind), r.LocationID, r.ProductID}
		if got, want := r.Quantity, sums[k]; got != want {
			t.Fatalf("%v: balance %d, movements sum to %d", k, got, want)
		}
		if r.Quantity < 0 {
			t.Fatalf("%v: balance %d is negative", k, r.Quantity)
		}
	}
}

func TestLedger_RandomOperationsKeepInvariants(t *testing.T) {
	s := openStore(t)
	mustDepotVan(t, s)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	locs := []struct {
		kind LocationKind
		id   string
	}{{LocationDepot, "d1"}, {LocationDepot, "d2"}, {LocationVan, "v1"}, {LocationVan, "v2"}}
	types := []MovementType{MoveReceipt, MoveTransferIn, MoveTransferOut, MoveSpoilage, MoveDamaged, MoveCountAdjustment, MoveReturn, MoveExpired}
	model := map[[3]string]int64{}
	for i := range 300 {
		l := locs[rng.IntN(len(locs))]
		typ := types[rng.IntN(len(types))]
		q := int64(rng.IntN(20) + 1)
		switch typ.sign() {
		case -1:
			q = -q
		case 0:
			if rng.IntN(2) == 0 {
				q = -q
			}
		}
		product := fmt.Sprintf("p%d", rng.IntN(3))
		key := fmt.Sprintf("k%d", i)
		if rng.IntN(10) == 0 && i > 0 {
			key = fmt.Sprintf("k%d", rng.IntN(i)) // a replay of an earlier key
		}
		in := MovementIn{Key: key, Kind: l.kind, LocationID: l.id, ProductID: product, Type: typ, Quantity: q, By: "test"}
		k := [3]string{string(l.kind), l.id, product}
		_, rep, err := s.RecordMovements(ctx, []MovementIn{in})
		var de *errs.Error
		switch {
		case err == nil && rep[0]:
		case err == nil:
			model[k] += q
		case errors.As(err, &de) && de.Code == CodeInsufficientStock:
			if model[k]+q >= 0 {
				t.Fatalf("op %d refused with %d in stock for %d", i, model[k], q)
			}
		default:
			t.Fatalf("op %d: %v", i, err)
		}
		checkLedger(t, s)
	}
	stock, err := s.Stock(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range stock {
		if got, want := r.Quantity, model[[3]string{string(r.Kind), r.LocationID, r.ProductID}]; got != want {
			t.Fatalf("%s %s %s: %d, model says %d", r.Kind, r.LocationID, r.ProductID, got, want)
		}
	}
}

func TestLedger_RefusesBadInput(t *testing.T) {
	s := openStore(t)
	mustDepotVan(t, s)
	ctx := context.Background()
	ok := MovementIn{Key: "k", Kind: LocationDepot, LocationID: "d1", ProductID: "p", Type: MoveReceipt, Quantity: 5, By: "t"}
	for _, tc := range []struct {
		name  string
		mod   func(*MovementIn)
		code  string
		field string
	}{
		{"no key", func(m *MovementIn) { m.Key = "" }, errs.CodeValidation, "key"},
		{"zero", func(m *MovementIn) { m.Quantity = 0 }, errs.CodeValidation, "quantity"},
		{"receipt negative", func(m *MovementIn) { m.Quantity = -1 }, errs.CodeValidation, "quantity"},
		{"sale positive", func(m *MovementIn) { m.Type = MoveSale }, errs.CodeValidation, "quantity"},
		{"bad type", func(m *MovementIn) { m.Type = "gift" }, errs.CodeValidation, "type"},
		{"unknown depot", func(m *MovementIn) { m.LocationID = "nope" }, CodeUnknownLocation, "locationId"},
		{"machine", func(m *MovementIn) { m.Kind = LocationMachine }, CodeMachineOwned, "locationKind"},
		{"short", func(m *MovementIn) { m.Type = MoveDamaged; m.Quantity = -1 }, CodeInsufficientStock, "quantity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := ok
			tc.mod(&in)
			_, _, err := s.RecordMovements(ctx, []MovementIn{in})
			de, isDomain := errs.As(err)
			if !isDomain {
				t.Fatalf("err %v, want a domain error", err)
			}
			if de.Code != tc.code || de.Field != tc.field {
				t.Fatalf("got %s/%s, want %s/%s", de.Code, de.Field, tc.code, tc.field)
			}
		})
	}
	checkLedger(t, s)
}

func TestLocations_DuplicateAndUnknownDepot(t *testing.T) {
	s := openStore(t)
	mustDepotVan(t, s)
	ctx := context.Background()
	if _, err := s.CreateDepot(ctx, Depot{ID: "d1", Name: "again", CreatedBy: "t"}); !isCode(err, CodeDuplicate) {
		t.Fatalf("duplicate depot: %v", err)
	}
	if _, err := s.CreateVan(ctx, Van{ID: "v9", Name: "x", DepotID: "nope", CreatedBy: "t"}); !isCode(err, CodeUnknownLocation) {
		t.Fatalf("van at unknown depot: %v", err)
	}
	vans, err := s.Vans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(vans), 2; got != want {
		t.Fatalf("%d vans, want %d", got, want)
	}
}

func isCode(err error, code string) bool {
	de, ok := errs.As(err)
	return ok && de.Code == code
}

func TestLedger_SiteEventsAndVanDeduction(t *testing.T) {
	s := openStore(t)
	mustDepotVan(t, s)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	if _, _, err := s.RecordMovements(ctx, []MovementIn{
		{Key: "r1", Kind: LocationDepot, LocationID: "d1", ProductID: "cola", Type: MoveReceipt, Quantity: 50, By: "w", At: t0.Add(-2 * time.Hour)},
		{Key: "t1-out", Kind: LocationDepot, LocationID: "d1", ProductID: "cola", Type: MoveTransferOut, Quantity: -20, By: "w", At: t0.Add(-time.Hour)},
		{Key: "t1-in", Kind: LocationVan, LocationID: "v1", ProductID: "cola", Type: MoveTransferIn, Quantity: 20, By: "w", At: t0.Add(-time.Hour)},
	}); err != nil {
		t.Fatal(err)
	}
	restock := envelope.StockMovement{MovementID: "visit1:1", MachineID: "m1", ProductID: "cola", Reason: "RESTOCK", Delta: 8, After: 10, By: "drv", VanID: "v1"}
	b := mkBatch(t, "s1", "UTC", 1,
		ev{envelope.KindStock, t0, restock},
		saleEv("tx1", "m1", "cola", "Berlin", 1, 150, t0.Add(time.Minute)),
		ev{envelope.KindStock, t0.Add(2 * time.Minute), envelope.StockMovement{MovementID: "visit1:2", MachineID: "m1", ProductID: "cola", Reason: "VISIT", By: "drv"}},
	)
	mustApply(t, s, 1, b)
	mustApply(t, s, 2, b) // redelivered: nothing twice
	checkLedger(t, s)
	stock, err := s.Stock(ctx, LocationVan, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if len(stock) != 1 || stock[0].Quantity != 12 {
		t.Fatalf("van stock = %+v, want 12 cola", stock)
	}
	p, err := s.Movements(ctx, MovementQuery{Kind: LocationMachine, LocationID: "m1"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range p.Movements {
		got = append(got, fmt.Sprintf("%s %d", m.Type, m.Quantity))
	}
	if want := []string{"restock 8", "sale -1"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("machine movements = %v, want %v", got, want)
	}
	rep, err := s.StockMovementReport(ctx, MovementQuery{From: t0.Add(-90 * time.Minute), To: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	byLoc := map[string]MovementReportRow{}
	for _, r := range rep {
		byLoc[string(r.Kind)+"/"+r.LocationID] = r
	}
	for _, tc := range []struct {
		loc                       string
		opening, in, out, closing int64
	}{
		{"depot/d1", 50, 0, 20, 30},
		{"van/v1", 0, 20, 8, 12},
		{"machine/m1", 0, 8, 1, 7},
	} {
		r := byLoc[tc.loc]
		if r.Opening != tc.opening || r.In != tc.in || r.Out != tc.out || r.Closing != tc.closing {
			t.Errorf("%s: %+v, want opening %d in %d out %d closing %d", tc.loc, r, tc.opening, tc.in, tc.out, tc.closing)
		}
	}
	if c := byLoc["van/v1"]; c.ByType[MoveTransferIn] != 20 || c.ByType[MoveTransferOut] != -8 {
		t.Errorf("van by type = %v", c.ByType)
	}
	city, err := s.Movements(ctx, MovementQuery{City: "Berlin", Kind: LocationDepot})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(city.Movements), 2; got != want {
		t.Fatalf("depot movements in Berlin = %d, want %d", got, want)
	}
}

// TestRecord_VanInsideHQEntryIsNeverRefused: a van's balance also moves
// with sites' restocks, whose order against the HQ log differs between
// nodes, so inside an HQ log entry a van is not refused on its balance
// (every node reaches the same outcome); a depot still is, and so is a van
// written directly.
func TestRecord_VanInsideHQEntryIsNeverRefused(t *testing.T) {
	s := openStore(t)
	mustDepotVan(t, s)
	ctx := context.Background()
	out := func(key string, kind LocationKind, id string) MovementIn {
		return MovementIn{Key: key, Kind: kind, LocationID: id, ProductID: "P1", Type: MoveTransferOut, Quantity: -3, By: "test"}
	}
	record := func(ctx context.Context, in MovementIn) error {
		return s.Inventory(ctx, func(tx *InventoryTx) error { _, _, err := tx.Record(ctx, in); return err })
	}
	if err := record(ctx, out("direct", LocationVan, "v1")); !isCode(err, CodeInsufficientStock) {
		t.Fatalf("direct van movement below zero: %v, want INSUFFICIENT_STOCK", err)
	}
	err := s.ApplyHQ(ctx, 1, "test", time.Now(), func(ctx context.Context) ([]byte, error) {
		return []byte(`"recorded"`), record(ctx, out("entry-van", LocationVan, "v1"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := s.HQOutcome(ctx, 1); err != nil || res == nil {
		t.Fatalf("van movement in an HQ entry: outcome %q, %v; want it recorded", res, err)
	}
	err = s.ApplyHQ(ctx, 2, "test", time.Now(), func(ctx context.Context) ([]byte, error) {
		return []byte(`"recorded"`), record(ctx, out("entry-depot", LocationDepot, "d1"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.HQOutcome(ctx, 2); !isCode(err, CodeInsufficientStock) {
		t.Fatalf("depot movement below zero in an HQ entry: %v, want INSUFFICIENT_STOCK", err)
	}
	rows, err := s.Stock(ctx, LocationVan, "v1")
	if err != nil || len(rows) != 1 || rows[0].Quantity != -3 {
		t.Fatalf("van v1 stock = %+v, %v; want -3", rows, err)
	}
}
