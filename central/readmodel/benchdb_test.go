package readmodel

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/sqlite"
	"github.com/vendsync/vendsync/migrations"
)

// benchStore opens a copy of the generated read model of BenchmarkQuery:
// the aggregates of genReadModel, then the facts of genFacts. Generating a
// year takes many minutes, so each layer is generated once into the system
// temp directory, under a name keyed by its generating statements, and
// every run opens a fresh copy of the last layer; Open applies the
// migrations added since the copy was generated (to start afresh, remove
// vendsync-bench-readmodel-* from the temp directory).
func benchStore(b *testing.B) *Store {
	aggs := cachedModel(b, "", genReadModel())
	facts := cachedModel(b, aggs, append(genFacts(), migrationFills(b)...))
	path := filepath.Join(b.TempDir(), "central.db")
	t0 := time.Now()
	if err := copyFile(facts, path); err != nil {
		b.Fatal(err)
	}
	if err := migrateGaps(path); err != nil {
		b.Fatal(err)
	}
	s, err := Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	b.Logf("copied the cached read model %s in %v", facts, time.Since(t0).Round(time.Millisecond))
	return s
}

// cachedModel returns the path of the database that is parent (or an empty
// read model) with stmts applied, generating it when it is not cached yet.
func cachedModel(b *testing.B, parent string, stmts []string) string {
	h := sha256.New()
	io.WriteString(h, parent)
	for _, q := range stmts {
		io.WriteString(h, q)
	}
	cached := filepath.Join(os.TempDir(), fmt.Sprintf("vendsync-bench-readmodel-%dd-%x.db", benchDays, h.Sum(nil)[:6]))
	if _, err := os.Stat(cached); err == nil {
		return cached
	} else if !errors.Is(err, fs.ErrNotExist) {
		b.Fatal(err)
	}
	ctx := context.Background()
	tmp := fmt.Sprintf("%s.tmp%d", cached, os.Getpid())
	if parent != "" {
		if err := copyFile(parent, tmp); err != nil {
			b.Fatal(err)
		}
		if err := migrateGaps(tmp); err != nil {
			b.Fatal(err)
		}
	}
	s, err := Open(ctx, tmp, WithSync(sqlite.SyncNormal))
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			b.Fatalf("%v\n%s", err, q)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	// The rollups that Open fills in Go (migration 0022's promotions).
	if err := s.fillPromoDaysIfPending(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	os.Remove(tmp + "-wal")
	os.Remove(tmp + "-shm")
	if err := os.Rename(tmp, cached); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %s (%d statements) in %v", cached, len(stmts), time.Since(t0).Round(time.Second))
	return cached
}

// firstFilledRollup is the first central migration whose derived tables
// the generated facts don't write themselves: the rollups it and later
// migrations keep on apply are filled by their own fill statements.
const firstFilledRollup = 22

// migrationFills returns the fill statements (INSERT and UPDATE) of the
// central migrations from firstFilledRollup on. A cache is generated at the
// newest schema; run after the generated facts, their fills make the model
// what an upgraded read model holds (the per-day DEX and cash sums, every
// site's and city's top products, the discount column, the promotions'
// fill request). Each table a fill inserts into is emptied before its
// first fill: Open ran the migrations on the parent layer, and a fill that
// reads it (0028's site_sales_fleet, 0030's city_top from sales_agg) left
// rows that the fill would insert again.
func migrationFills(b *testing.B) []string {
	ms, err := migrations.Load(migrations.Central)
	if err != nil {
		b.Fatal(err)
	}
	var out []string
	emptied := map[string]bool{}
	for _, m := range ms {
		if m.Version < firstFilledRollup {
			continue
		}
		for _, stmt := range strings.Split(m.SQL, ";\n") {
			var lines []string
			for _, l := range strings.Split(stmt, "\n") {
				if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
					lines = append(lines, l)
				}
			}
			q := strings.TrimSpace(strings.Join(lines, "\n"))
			if strings.HasPrefix(q, "INSERT INTO") {
				table := strings.Fields(q)[2]
				if !emptied[table] {
					emptied[table] = true
					out = append(out, "DELETE FROM "+table)
				}
			}
			if strings.HasPrefix(q, "INSERT INTO") || strings.HasPrefix(q, "UPDATE") {
				out = append(out, q)
			}
		}
	}
	if len(out) == 0 {
		b.Fatal("no fill statements in the central migrations")
	}
	return out
}

// migrateGaps applies to the database at path the central migrations it
// lacks below its version: a cached copy predates a migration numbered
// below the newest one it has, which Open would skip.
func migrateGaps(path string) error {
	ms, err := migrations.Load(migrations.Central)
	if err != nil {
		return err
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer db.Close()
	have := map[int]bool{}
	rows, err := db.Query(`SELECT version FROM schema_migrations`)
	if err != nil {
		return err
	}
	last := 0
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		have[v], last = true, max(last, v)
	}
	rows.Close()
	for _, m := range ms {
		if m.Version > last || have[m.Version] {
			continue
		}
		if _, err := db.Exec(m.SQL); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, 0)`, m.Version, m.Name); err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies the file src to a new file dst.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// genFacts returns the statements that write the facts a year of the
// generated fleet leaves besides its sales aggregates, at rates an operator
// of 10,000 machines might see: the machines and their products (10 each)
// and lots (2 per product), 20 alerts and 5 faults per machine and year (a
// few still open), a DEX reconciliation and a cash collection per machine
// and week, payment totals per site (and fleet), day and method, one pre-order per
// site and day, 10 promoted sale lines per site and day (3 promotions) and
// the per-site and per-city discount aggregates.
func genFacts() []string {
	const day = 86400
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	ms := base * 1000
	seq := func(name string, n int) string {
		return fmt.Sprintf(`%s(v) AS (SELECT 0 UNION ALL SELECT v+1 FROM %s WHERE v < %d)`, name, name, n-1)
	}
	site, city := `printf('site-%04d', s.v)`, fmt.Sprintf(`printf('city-%%02d', s.v %% %d)`, benchCities)
	machine := `printf('site-%04d-m%d', s.v, m.v)`
	esc := func(q string) string { return strings.ReplaceAll(q, "%", "%%") }
	weeks := benchDays / 7
	return []string{
		// machines in a grid over Europe, 10 per site close together
		`WITH RECURSIVE ` + seq("s", benchSites) + `, ` + seq("m", benchMachines) + `
		INSERT INTO machines (site, machine_id, city, building, latitude, longitude, payment_methods, status, temp_max_c, action, seq, event_time)
		SELECT ` + site + `, ` + machine + `, ` + city + `, 'lobby', 40 + (s.v % 40) * 0.25 + m.v * 0.001,
			-5 + (s.v / 40) * 0.5 + m.v * 0.001, '["CARD","CASH"]', 'ACTIVE', 8, 'CREATED', 1, ` + fmt.Sprint(ms) + `
		FROM s, m`,
		`WITH RECURSIVE ` + seq("s", benchSites) + `, ` + seq("m", benchMachines) + `, ` + seq("p", 10) + `
		INSERT INTO machine_products (site, machine_id, product_id, name, price_cents, quantity, expiry_date, low_stock_limit, par_level, case_pack, info_seq, qty_seq, updated_at)
		SELECT ` + site + `, ` + machine + `, printf('p%02d', (m.v * 3 + p.v) % 30), 'Product', 150 + p.v * 10, (s.v + m.v + p.v) % 20, '2027-01-01', 3, 20, 6, 1, 1, ` + fmt.Sprint(ms) + `
		FROM s, m, p`,
		`WITH RECURSIVE ` + seq("s", benchSites) + `, ` + seq("m", benchMachines) + `, ` + seq("p", 10) + `, ` + seq("l", 2) + `
		INSERT INTO machine_lots (site, lot_id, machine_id, product_id, lot_code, expiry_date, unit_cost_cents, quantity, status, info_seq, qty_seq, updated_at)
		SELECT ` + site + `, (m.v * 10 + p.v) * 2 + l.v, ` + machine + `, printf('p%02d', (m.v * 3 + p.v) % 30), printf('L%d', l.v),
			printf('2026-%02d-%02d', 1 + (s.v + p.v + l.v * 6) % 12, 1 + (m.v + p.v) % 28), 60 + p.v, (s.v + m.v + p.v + l.v) % 12, 'SELLABLE', 1, 1, ` + fmt.Sprint(ms) + `
		FROM s, m, p, l`,
		fmt.Sprintf(`WITH RECURSIVE `+seq("s", benchSites)+`, `+seq("m", benchMachines)+`, `+seq("n", 20)+`
		INSERT INTO alerts (site, alert_id, machine_id, product_id, alert_type, status, detail, opened_at, closed_at, seq, event_time)
		SELECT `+esc(site)+`, m.v * 100 + n.v, `+esc(machine)+`, printf('p%%02d', (m.v + n.v) %% 30),
			CASE n.v %% 4 WHEN 0 THEN 'LOW_STOCK' WHEN 1 THEN 'TEMPERATURE' WHEN 2 THEN 'OFFLINE' ELSE 'INVENTORY_MISMATCH' END,
			CASE WHEN n.v = 19 AND (s.v + m.v) %% 4 = 0 THEN 'OPEN' ELSE 'CLOSED' END, 'generated',
			%[1]d + (n.v * %[2]d + s.v * 7 + m.v) * 60000, CASE WHEN n.v = 19 AND (s.v + m.v) %% 4 = 0 THEN NULL ELSE %[1]d + (n.v * %[2]d + s.v * 7 + m.v + 30) * 60000 END,
			1 + n.v, %[1]d + (n.v * %[2]d + s.v * 7 + m.v) * 60000
		FROM s, m, n`, ms, benchDays*24*60/20),
		fmt.Sprintf(`WITH RECURSIVE `+seq("s", benchSites)+`, `+seq("m", benchMachines)+`, `+seq("n", 5)+`
		INSERT INTO faults (site, fault_id, machine_id, fault_type, description, status, reported_at, resolved_at, updated_by, seq, event_time)
		SELECT `+esc(site)+`, m.v * 10 + n.v, `+esc(machine)+`, CASE n.v %% 3 WHEN 0 THEN 'JAM' WHEN 1 THEN 'PAYMENT' ELSE 'COOLING' END, 'generated',
			CASE WHEN n.v = 4 AND (s.v + m.v) %% 3 = 0 THEN 'OPEN' ELSE 'RESOLVED' END,
			%[1]d + (n.v * %[2]d + s.v * 11 + m.v) * 60000, CASE WHEN n.v = 4 AND (s.v + m.v) %% 3 = 0 THEN NULL ELSE %[1]d + (n.v * %[2]d + s.v * 11 + m.v + 240) * 60000 END,
			'ops', 1 + n.v, %[1]d + (n.v * %[2]d + s.v * 11 + m.v) * 60000
		FROM s, m, n`, ms, benchDays*24*60/5),
		fmt.Sprintf(`WITH RECURSIVE `+seq("s", benchSites)+`, `+seq("m", benchMachines)+`, `+seq("w", weeks)+`
		INSERT INTO dex_reconciliations (site, reconciliation_id, machine_id, from_at, to_at, machine_count, machine_cents, ledger_count, ledger_cents,
			unreported_count, unreported_cents, missing_count, missing_cents, price_mismatches, test_vends, free_vends, alerted, uploaded_by, seq)
		SELECT `+esc(site)+`, m.v * 1000 + w.v, `+esc(machine)+`, %[1]d + w.v * %[2]d, %[1]d + (w.v + 1) * %[2]d - (s.v * 37 + m.v) * 1000,
			400 + (s.v + w.v) %% 20, 60000 + (s.v + w.v) %% 20 * 150, 400, 60000, (s.v + m.v + w.v) %% 3, ((s.v + m.v + w.v) %% 3) * 150, 0, 0, 0, 0, 0,
			CASE WHEN (s.v + m.v + w.v) %% 3 = 2 THEN 1 ELSE 0 END, printf('driver-%%d', s.v %% 100), 1 + w.v
		FROM s, m, w`, ms, 7*day*1000),
		fmt.Sprintf(`WITH RECURSIVE `+seq("s", benchSites)+`, `+seq("m", benchMachines)+`, `+seq("w", weeks)+`
		INSERT INTO cash_collections (site, collection_id, machine_id, collected_at, amount_cents, currency, driver, expected_ledger, expected_dex, seq)
		SELECT `+esc(site)+`, printf('c-%%d-%%d', m.v, w.v), `+esc(machine)+`, %[1]d + (w.v + 1) * %[2]d - (s.v * 37 + m.v) * 1000,
			20000 - (s.v + m.v + w.v) %% 5 * 100, 'EUR', printf('driver-%%d', s.v %% 100), 20000, CASE WHEN w.v %% 2 = 0 THEN 20000 END, 1 + w.v
		FROM s, m, w`, ms, 7*day*1000),
		fmt.Sprintf(`WITH RECURSIVE `+seq("s", benchSites)+`, `+seq("d", benchDays)+`, mt(name, v) AS (VALUES ('CARD', 0), ('CASH', 1), ('MOBILE', 2))
		INSERT INTO payment_days (site, day, method, payments, gross_cents, refunds, refunded_cents, failed)
		SELECT `+esc(site)+`, date(%d + d.v * %d, 'unixepoch'), mt.name, 200 + (s.v + d.v + mt.v) %% 50, (200 + (s.v + d.v + mt.v) %% 50) * 150,
			(s.v + d.v) %% 2, ((s.v + d.v) %% 2) * 150, (s.v + d.v + mt.v) %% 3
		FROM s, d, mt`, base, day),
		`INSERT INTO payment_days_fleet (day, method, payments, gross_cents, refunds, refunded_cents, failed)
		SELECT day, method, SUM(payments), SUM(gross_cents), SUM(refunds), SUM(refunded_cents), SUM(failed) FROM payment_days GROUP BY day, method`,
		fmt.Sprintf(`WITH RECURSIVE `+seq("s", benchSites)+`, `+seq("d", benchDays)+`
		INSERT INTO orders (order_id, site, machine_id, customer, status, lines, gross_cents, total_cents, currency, code, placed_at, ready_at, expires_at, updated_at)
		SELECT printf('o-%%04d-%%03d', s.v, d.v), `+esc(site)+`, printf('site-%%04d-m%%d', s.v, d.v %% 10), printf('cust-%%d', (s.v * 7 + d.v) %% 5000),
			CASE WHEN d.v >= %[3]d THEN 'ACCEPTED' WHEN d.v %% 10 = 0 THEN 'CANCELLED' ELSE 'PICKED_UP' END,
			'[{"productId":"p01","quantity":1,"amountCents":150}]', 150, 150, 'EUR', printf('%%06d', s.v * 400 + d.v),
			%[1]d + d.v * %[2]d + s.v * 60000, %[1]d + d.v * %[2]d + s.v * 60000 + 60000, %[1]d + d.v * %[2]d + s.v * 60000 + 86400000,
			%[1]d + d.v * %[2]d + s.v * 60000 + 120000
		FROM s, d`, ms, day*1000, benchDays-2),
		fmt.Sprintf(`WITH RECURSIVE `+seq("s", benchSites)+`, `+seq("d", benchDays)+`, `+seq("n", 10)+`
		INSERT INTO sale_promotions (site, machine_id, transaction_id, promotion_id, city, basket_id, discount_cents, event_time, local_hour)
		SELECT `+esc(site)+`, printf('site-%%04d-m%%d', s.v, n.v), printf('t-%%d-%%d', d.v, n.v), printf('promo-%%d', (s.v + n.v) %% 3), `+esc(city)+`,
			printf('b-%%d-%%d', d.v, n.v / 2), 20 + n.v, %[1]d + (d.v * %[2]d + 8 * 3600 + n.v * 3600) * 1000, %[3]d + d.v * %[2]d + 8 * 3600 + n.v * 3600
		FROM s, d, n`, ms, day, base),
		fmt.Sprintf(`WITH RECURSIVE `+seq("s", benchSites)+`, w(win, step, n) AS (VALUES ('day', %[2]d, %[3]d), ('week', %[4]d, %[5]d), ('month', %[6]d, %[7]d)),
			t(win, step, b, n) AS (SELECT win, step, 0, n FROM w UNION ALL SELECT win, step, b + 1, n FROM t WHERE b + 1 < n)
		INSERT INTO sales_discount_agg (dim, win, site, city, bucket, key, discount_cents)
		SELECT 'site', t.win, `+esc(site)+`, `+esc(city)+`, %[1]d + t.b * t.step, `+esc(site)+`, (1 + s.v %% 7) * 20 * t.step / %[2]d
		FROM s, t ORDER BY 2, 3, 4, 5`, base, day, benchDays, 7*day, benchDays/7, 30*day, benchDays/30),
		fmt.Sprintf(`WITH RECURSIVE `+seq("c", benchCities)+`, w(win, step, n) AS (VALUES ('hour', 3600, %[8]d), ('day', %[2]d, %[3]d), ('week', %[4]d, %[5]d), ('month', %[6]d, %[7]d)),
			t(win, step, b, n) AS (SELECT win, step, 0, n FROM w UNION ALL SELECT win, step, b + 1, n FROM t WHERE b + 1 < n)
		INSERT INTO sales_discount_agg (dim, win, site, city, bucket, key, discount_cents)
		SELECT 'city', t.win, '*', printf('city-%%02d', c.v), %[1]d + t.b * t.step, printf('city-%%02d', c.v), (1 + c.v %% 7) * 400 * t.step / %[2]d + 1
		FROM c, t ORDER BY 2, 3, 4, 5`, base, day, benchDays, 7*day, benchDays/7, 30*day, benchDays/30, benchDays*24),
	}
}
