package readmodel

import (
	"fmt"
	"testing"
	"time"

	"github.com/vendsync/vendsync/sync/envelope"
)

// BenchmarkApply_DEX500 applies batches of 250 DEX reconciliations and 250
// cash collections (one batch per site visit day, 10 machines, each site
// in turn) into a store with synchronous=FULL: the apply cost of the DEX
// and cash rollups (dex_days, cash_days and, from 0026, their blocks).
func BenchmarkApply_DEX500(b *testing.B) {
	const per, sites = 250, 20
	s := openStore(b)
	d0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	batches := make([]*envelope.Frame, b.N)
	for i := range b.N {
		site := fmt.Sprintf("s%02d", i%sites)
		evs := make([]ev, 0, 2*per)
		for j := range per {
			at := d0.Add(time.Duration(i/sites*24+j%24) * time.Hour).Add(time.Duration(j) * time.Second)
			m := fmt.Sprintf("M%d", j%10)
			id := int64(i/sites*per + j)
			evs = append(evs, ev{envelope.KindReconciliation, at, envelope.Reconciliation{ID: id, MachineID: m, From: at.Add(-time.Hour),
				To: at, MachineCount: 40, MachineValue: 4000, LedgerCount: 39, LedgerValue: 3900, UnreportedCount: 1,
				UnreportedValue: 100, By: fmt.Sprintf("driver-%d", j%5), Revision: 1}})
			evs = append(evs, ev{envelope.KindCash, at, envelope.CashCollection{CollectionID: fmt.Sprint("c", id), MachineID: m,
				CollectedAt: at, AmountCents: 3000, Driver: fmt.Sprintf("driver-%d", j%5), ExpectedLedger: 2900}})
		}
		f, err := mkBatch(b, site, "UTC", uint64(i/sites*2*per+1), evs...).Frame()
		if err != nil {
			b.Fatal(err)
		}
		batches[i] = f
	}
	applyEach(b, s, batches, b.N*2*per)
}
