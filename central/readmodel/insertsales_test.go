package readmodel

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central/aggregate"
	"github.com/vendsync/vendsync/sync/envelope"
)

// TestInsertSales_NewAsBefore holds sqliteSink.InsertSales (a plain insert,
// read back by key only when some keys were held) to the contract the old
// RETURNING form kept, as memSink keeps it: a sale is new when its key was
// not held, and a key repeated in one call is new once, the first time.
// Calls of up to 400 sales cross the 128-row chunks; keys repeat within
// calls, across chunks and across calls; every sale has its own seq, as
// sales from events new to the read model do.
func TestInsertSales_NewAsBefore(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	ref := newMemSink()
	r := rand.New(rand.NewPCG(14, 24))
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	var seq uint64
	var held, news int
	for call := range 40 {
		site := fmt.Sprintf("s%d", r.IntN(3))
		sales := make([]aggregate.SaleRow, r.IntN(400)+1)
		for i := range sales {
			seq++
			sales[i] = aggregate.SaleRow{Seq: seq, Time: at, Sale: envelope.Sale{
				TransactionID: fmt.Sprintf("t%d", r.IntN(2000)), MachineID: fmt.Sprintf("m%d", r.IntN(3)),
				ProductID: "p1", Quantity: 1, AmountCents: 100, City: "Paris"}}
		}
		want, _ := ref.InsertSales(ctx, site, sales)
		s.mu.Lock()
		got, err := (&sqliteSink{s: s, now: at.UnixMilli()}).InsertSales(ctx, site, sales)
		s.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("call %d (%d sales): new = %v\nwant %v", call, len(sales), got, want)
		}
		for _, n := range want {
			if n {
				news++
			} else {
				held++
			}
		}
	}
	if held == 0 || news == 0 {
		t.Fatalf("%d new and %d held sales: the test must see both", news, held)
	}
}
