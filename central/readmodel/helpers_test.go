package readmodel

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vendsync/vendsync/migrations"
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

// checkDEXAsRaw holds the reconciliation and cash reports of q to the raw
// queries over the same rows, and returns how many of the two answers
// have rows (0–2).
func checkDEXAsRaw(t *testing.T, ctx context.Context, s *Store, q DEXQuery) int {
	t.Helper()
	lo, hi := bounds(q)
	site, machine, key, err := groupCols(q.GroupBy, "r", "uploaded_by")
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.reconciliationRows(ctx, reconciliationSQL(site, machine, key, false), "", lo, hi)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ReconciliationReport(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := fmt.Sprintf("%+v", got.Rows), fmt.Sprintf("%+v", want); g != w {
		t.Fatalf("reconciliations %+v:\n got %s\nwant %s", q, g, w)
	}
	site, machine, key, err = groupCols(q.GroupBy, "c", "driver")
	if err != nil {
		t.Fatal(err)
	}
	wantCash, err := s.cashRows(ctx, cashSQL(site, machine, key, false), "", lo, hi)
	if err != nil {
		t.Fatal(err)
	}
	gotCash, err := s.CashReport(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := fmt.Sprintf("%+v", gotCash.Rows), fmt.Sprintf("%+v", wantCash); g != w {
		t.Fatalf("cash %+v:\n got %s\nwant %s", q, g, w)
	}
	return min(len(want), 1) + min(len(wantCash), 1)
}

// randomRange is a report's range over days days of data from d0: each end
// open one time in six, on a day boundary one time in three, else at any
// second (from may start a day before d0; to at most 4/5 of the data
// after from).
func randomRange(rng *rand.Rand, d0 time.Time, days int) (from, to time.Time) {
	if rng.IntN(6) > 0 {
		from = d0.Add(time.Duration(rng.IntN((days+2)*24*3600)-24*3600) * time.Second)
		if rng.IntN(3) == 0 {
			from = from.Truncate(24 * time.Hour)
		}
	}
	if rng.IntN(6) > 0 {
		to = from.Add(time.Duration(rng.IntN(days*4/5*24*3600)) * time.Second)
		if from.IsZero() {
			to = d0.Add(time.Duration(rng.IntN((days+2)*24*3600)) * time.Second)
		}
		if rng.IntN(3) == 0 {
			to = to.Truncate(24 * time.Hour)
		}
	}
	return from, to
}

// runMigration runs central migration version's SQL on s, as Open would
// on a read model at the version before it.
func runMigration(t *testing.T, s *Store, version int) {
	t.Helper()
	ms, err := migrations.Load(migrations.Central)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ms, func(m migrations.Migration) bool { return m.Version == version })
	if i < 0 {
		t.Fatalf("no central migration %04d", version)
	}
	if _, err := s.w.ExecContext(context.Background(), ms[i].SQL); err != nil {
		t.Fatalf("migration %s: %v", ms[i].Name, err)
	}
}

// dumpRows reads every row of rows (closing it) as the fmt.Sprint of its
// values, for comparing answers.
func dumpRows(t testing.TB, rows *sql.Rows) []string {
	t.Helper()
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals...))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// applyInBatches applies evs of site in batches of 1–7 events, each
// delivered once or twice (a redelivery changes nothing), numbering
// the stream from *stream.
func applyInBatches(t testing.TB, s *Store, rng *rand.Rand, site string, stream *uint64, evs []ev) {
	t.Helper()
	for i := 0; i < len(evs); {
		n := min(1+rng.IntN(7), len(evs)-i)
		b := mkBatch(t, site, "UTC", uint64(i+1), evs[i:i+n]...)
		for range 1 + rng.IntN(2) {
			*stream++
			mustApply(t, s, *stream, b)
		}
		i += n
	}
}
