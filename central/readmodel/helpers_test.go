package readmodel

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/vendsync/vendsync/sync/envelope"
)

func openStore(t testing.TB, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "central.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// ev is an event under construction; seq is assigned by mkBatch.
type ev struct {
	kind envelope.Kind
	at   time.Time
	data any
}

func saleEv(tx, machine, product, city string, qty, cents int64, at time.Time) ev {
	return ev{envelope.KindSale, at, envelope.Sale{TransactionID: tx, MachineID: machine, ProductID: product,
		Quantity: qty, AmountCents: cents, PaymentMethod: "CARD", City: city, Location: "lobby"}}
}

// mkBatch builds a batch of site's events numbered first, first+1, ...
func mkBatch(t testing.TB, site, tz string, first uint64, evs ...ev) *envelope.Batch {
	t.Helper()
	b := &envelope.Batch{V: envelope.Version, Site: site, TZ: tz, First: first, Last: first + uint64(len(evs)) - 1}
	for i, e := range evs {
		data, err := json.Marshal(e.data)
		if err != nil {
			t.Fatal(err)
		}
		b.Events = append(b.Events, envelope.Event{V: envelope.Version, Site: site, Seq: first + uint64(i),
			Kind: e.kind, Time: e.at, Data: data})
	}
	return b
}

func mustApply(t testing.TB, s *Store, streamSeq uint64, b *envelope.Batch) Result {
	t.Helper()
	r, err := s.Apply(context.Background(), streamSeq, b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// dumpAgg returns every aggregate row, keyed by its full primary key.
func dumpAgg(t testing.TB, s *Store) map[string][3]int64 {
	t.Helper()
	rows, err := s.db.R.Query(`SELECT dim, win, site, city, bucket, key, tx_count, quantity, revenue_cents FROM sales_agg`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][3]int64{}
	for rows.Next() {
		var dim, win, site, city, key string
		var b, tx, q, r int64
		if err := rows.Scan(&dim, &win, &site, &city, &b, &key, &tx, &q, &r); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprintf("%s/%s/%s/%s/%d/%s", dim, win, site, city, b, key)] = [3]int64{tx, q, r}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameAgg(t testing.TB, got, want map[string][3]int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("aggregate rows = %d, want %d", len(got), len(want))
	}
	for k, w := range want {
		if g := got[k]; g != w {
			t.Fatalf("aggregate %s = %v, want %v", k, g, w)
		}
	}
}
