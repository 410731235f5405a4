package dex_test

import (
	"testing"

	"github.com/vendsync/vendsync/edge/dex"
	"github.com/vendsync/vendsync/edge/dex/dextest"
)

func parse(t *testing.T, b []byte) *dex.Audit {
	t.Helper()
	a, err := dex.Parse(b)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, b)
	}
	return a
}

// TestReconcile: the machine's meters between two reads against a ledger
// with injected gaps.
func TestReconcile(t *testing.T) {
	type vend struct {
		sel          string
		qty, amount  int64
		cash, logged bool // logged: the edge's ledger has it
	}
	tests := []struct {
		name        string
		sels        [][3]any // id, PA103, price
		catalog     dex.Catalog
		vends       []vend
		extraLedger map[string]dex.Ledger
		free, test  int64
		reinit      bool
		want        dex.Result
		wantLine    map[string]dex.Line // by selection (or product id for ledger-only lines)
	}{
		{
			name: "ledger matches the machine", sels: [][3]any{{"P1", "", int64(150)}}, catalog: dex.Catalog{"P1": 150},
			vends: []vend{{"P1", 1, 150, true, true}, {"P1", 2, 300, false, true}},
			want:  dex.Result{Machine: dex.Counter{Count: 3, Value: 450}, Ledger: dex.Ledger{Count: 3, Value: 450}},
		},
		{
			name: "lost events are unreported sales", sels: [][3]any{{"P1", "", int64(150)}, {"P2", "", int64(200)}},
			catalog: dex.Catalog{"P1": 150, "P2": 200},
			vends:   []vend{{"P1", 1, 150, true, true}, {"P1", 1, 150, true, false}, {"P2", 1, 200, false, false}, {"P2", 1, 200, false, true}},
			want: dex.Result{Machine: dex.Counter{Count: 4, Value: 700}, Ledger: dex.Ledger{Count: 2, Value: 350},
				Unreported: dex.Counter{Count: 2, Value: 350}},
			wantLine: map[string]dex.Line{"P2": {Selection: "P2", ProductID: "P2", Machine: dex.Counter{Count: 2, Value: 400},
				Ledger: dex.Ledger{Count: 1, Value: 200}, Unreported: dex.Counter{Count: 1, Value: 200}, MachinePrice: 200, CatalogPrice: 200, HasCatalog: true}},
		},
		{
			name: "ledger sales the machine never counted are missing", sels: [][3]any{{"P1", "", int64(150)}}, catalog: dex.Catalog{"P1": 150, "P9": 100},
			vends:       []vend{{"P1", 1, 150, true, true}},
			extraLedger: map[string]dex.Ledger{"P1": {Count: 2, Value: 300}, "P9": {Count: 1, Value: 100}},
			want: dex.Result{Machine: dex.Counter{Count: 1, Value: 150}, Ledger: dex.Ledger{Count: 4, Value: 550},
				Missing: dex.Counter{Count: 3, Value: 400}},
			wantLine: map[string]dex.Line{"P9": {ProductID: "P9", Ledger: dex.Ledger{Count: 1, Value: 100}, Missing: dex.Counter{Count: 1, Value: 100},
				CatalogPrice: 100, HasCatalog: true}},
		},
		{
			name: "machine price differs from the catalog", sels: [][3]any{{"P1", "", int64(150)}, {"P2", "", int64(200)}},
			catalog: dex.Catalog{"P1": 120, "P2": 200},
			vends:   []vend{{"P1", 1, 150, true, true}},
			want:    dex.Result{Machine: dex.Counter{Count: 1, Value: 150}, Ledger: dex.Ledger{Count: 1, Value: 150}, PriceMismatches: 1},
		},
		{
			name: "numbered selections map by PA103", sels: [][3]any{{"10", "COLA", int64(150)}, {"11", "NOPE", int64(100)}},
			catalog: dex.Catalog{"COLA": 150},
			vends:   []vend{{"10", 2, 300, true, true}, {"11", 1, 100, true, false}},
			want: dex.Result{Machine: dex.Counter{Count: 3, Value: 400}, Ledger: dex.Ledger{Count: 2, Value: 300},
				Unreported: dex.Counter{Count: 1, Value: 100}},
			wantLine: map[string]dex.Line{"11": {Selection: "11", Machine: dex.Counter{Count: 1, Value: 100}, Unreported: dex.Counter{Count: 1, Value: 100}, MachinePrice: 100}},
		},
		{
			name: "test and free vends are counted apart", sels: [][3]any{{"P1", "", int64(150)}}, catalog: dex.Catalog{"P1": 150},
			vends: []vend{{"P1", 1, 150, true, true}}, free: 2, test: 3,
			want: dex.Result{Machine: dex.Counter{Count: 1, Value: 150}, Ledger: dex.Ledger{Count: 1, Value: 150},
				FreeVends: dex.Counter{Count: 2, Value: 300}, TestVends: dex.Counter{Count: 3}},
		},
		{
			name: "a re-initialised controller falls back to the since-reset meters", sels: [][3]any{{"P1", "", int64(150)}}, catalog: dex.Catalog{"P1": 150},
			vends: []vend{{"P1", 1, 150, true, true}}, reinit: true,
			want: dex.Result{Machine: dex.Counter{Count: 1, Value: 150}, Ledger: dex.Ledger{Count: 1, Value: 150}, ResetSelections: []string{"P1"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &dextest.Machine{Serial: "S", Model: "M"}
			for _, s := range tc.sels {
				m.Add(s[0].(string), s[1].(string), s[2].(int64))
			}
			// History before the first read never counts.
			m.Vend(tc.sels[0][0].(string), 7, 7*tc.sels[0][2].(int64), true)
			m.FreeVend(1, 150)
			prev := parse(t, m.Read(dextest.ReadOptions{}))
			if tc.reinit {
				m = &dextest.Machine{Serial: "S", Model: "M"}
				for _, s := range tc.sels {
					m.Add(s[0].(string), s[1].(string), s[2].(int64))
				}
			}
			ledger := map[string]dex.Ledger{}
			for _, v := range tc.vends {
				m.Vend(v.sel, v.qty, v.amount, v.cash)
				if v.logged {
					pid := tc.catalog.MapSelection(&dex.Product{Selection: v.sel, ProductID: m.Selection(v.sel).ProductID})
					l := ledger[pid]
					l.Count += v.qty
					l.Value += v.amount
					ledger[pid] = l
				}
			}
			for pid, l := range tc.extraLedger {
				e := ledger[pid]
				e.Count += l.Count
				e.Value += l.Value
				ledger[pid] = e
			}
			m.FreeVend(tc.free, tc.free*150)
			m.TestVend(tc.test)
			got := dex.Reconcile(prev, parse(t, m.Read(dextest.ReadOptions{})), ledger, tc.catalog)
			if got.Machine != tc.want.Machine || got.Ledger != tc.want.Ledger || got.Unreported != tc.want.Unreported ||
				got.Missing != tc.want.Missing || got.PriceMismatches != tc.want.PriceMismatches ||
				got.FreeVends != tc.want.FreeVends || got.TestVends != tc.want.TestVends || len(got.ResetSelections) != len(tc.want.ResetSelections) {
				t.Fatalf("totals\n got %+v\nwant %+v", got, tc.want)
			}
			for key, want := range tc.wantLine {
				found := false
				for _, l := range got.Lines {
					if l.Selection == key || (l.Selection == "" && l.ProductID == key) {
						found = true
						if l != want {
							t.Fatalf("line %s\n got %+v\nwant %+v", key, l, want)
						}
					}
				}
				if !found {
					t.Fatalf("no line %s in %+v", key, got.Lines)
				}
			}
		})
	}
}
