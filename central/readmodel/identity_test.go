package readmodel

import (
	"context"
	"encoding/json"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vendsync/vendsync/internal/sqlite"
	"github.com/vendsync/vendsync/migrations"
	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/envelope"
)

func machineRows(t *testing.T, s *Store) string {
	t.Helper()
	at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	res, err := s.Sales(context.Background(), SalesQuery{GroupBy: ByMachine, Window: bucket.Month, From: at, To: at.AddDate(0, 1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range res.Rows {
		out = append(out, r.Site+"/"+r.Key+" "+fmtInt(r.TxCount)+"/"+fmtInt(r.Quantity))
	}
	return strings.Join(out, "; ")
}

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }

// One transaction id at three machines (two sites, two machines of one
// site) is three sales: the sale key is (site, machine, transactionId).
func TestApply_SaleKeyIsSiteMachineTransaction(t *testing.T) {
	s := openStore(t)
	at := time.Date(2025, 3, 8, 12, 0, 0, 0, time.UTC)
	mustApply(t, s, 1, mkBatch(t, "sa", "UTC", 1,
		saleEv("TXN-1", "VM_0001", "P1", "Pune", 2, 200, at),
		saleEv("TXN-1", "VM_0002", "P1", "Pune", 1, 100, at),
		saleEv("TXN-1", "VM_0001", "P1", "Pune", 2, 200, at), // a replay: counts once
	))
	mustApply(t, s, 2, mkBatch(t, "sb", "UTC", 1, saleEv("TXN-1", "VM_0001", "P1", "Pune", 308, 30800, at)))
	const want = "sa/VM_0001 1/2; sb/VM_0001 1/308; sa/VM_0002 1/1"
	if got := machineRows(t, s); got != want {
		t.Fatalf("by machine = %s, want %s", got, want)
	}
	before := dumpAgg(t, s)
	if _, err := s.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	sameAgg(t, dumpAgg(t, s), before)
}

// A read model written with the old key (transactionId alone) had dropped
// the second site's sale; migration 0004 recovers it from the raw events
// and the store rebuilds its aggregates when it opens.
func TestMigration0004_RecoversShadowedSales(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "central.db")
	old := fstest.MapFS{}
	for _, name := range []string{"0001_init.sql", "0002_route.sql"} {
		b, err := fs.ReadFile(migrations.Central, name)
		if err != nil {
			t.Fatal(err)
		}
		old[name] = &fstest.MapFile{Data: b}
	}
	db, err := sqlite.Open(ctx, path, old, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 8, 12, 0, 0, 0, time.UTC)
	raw := func(site string, qty int64) []byte {
		d, _ := json.Marshal(envelope.Sale{TransactionID: "TXN-1", MachineID: "VM_0001", ProductID: "P1", Quantity: qty,
			AmountCents: qty * 100, PaymentMethod: "CARD", City: "Pune", Location: "lobby"})
		b, _ := json.Marshal(envelope.Event{V: envelope.Version, Site: site, Seq: 1, Kind: envelope.KindSale, Time: at, Data: d})
		return b
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO sites (site, tz, contiguous, max_seen) VALUES ('sa', 'UTC', 1, 1), ('sb', 'UTC', 1, 1)`, nil},
		{`INSERT INTO raw_events (site, seq, kind, event_time, received_at, stream_seq, body) VALUES ('sa', 1, 'sale', ?, 0, 1, ?), ('sb', 1, 'sale', ?, 0, 2, ?)`,
			[]any{at.UnixMilli(), raw("sa", 2), at.UnixMilli(), raw("sb", 308)}},
		// The old key kept only the first site's sale, and counted only it.
		{`INSERT INTO sales (transaction_id, site, seq, machine_id, product_id, city, location, quantity, amount_cents, payment_method, event_time)
			VALUES ('TXN-1', 'sa', 1, 'VM_0001', 'P1', 'Pune', 'lobby', 2, 200, 'CARD', ?)`, []any{at.UnixMilli()}},
	} {
		if _, err := db.W.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, want := machineRows(t, s), "sa/VM_0001 1/2; sb/VM_0001 1/308"; got != want {
		t.Fatalf("by machine = %s, want %s", got, want)
	}
	var pending int
	if err := s.db.R.QueryRowContext(ctx, `SELECT count(*) FROM rebuild_pending`).Scan(&pending); err != nil || pending != 0 {
		t.Fatalf("rebuild_pending = %d, %v; want 0", pending, err)
	}
}
