package readmodel

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vendsync/vendsync/central/aggregate"
	"github.com/vendsync/vendsync/sync/bucket"
)

// Dim is what sales aggregates are grouped by.
type Dim string

// The aggregate dimensions.
const (
	ByMachine Dim = aggregate.DimMachine
	BySite    Dim = aggregate.DimSite
	ByCity    Dim = aggregate.DimCity
	ByProduct Dim = aggregate.DimProduct
)

// ParseDim accepts machine, site, city or product. It returns an error
// wrapping ErrInvalidQuery otherwise.
func ParseDim(s string) (Dim, error) {
	switch d := Dim(s); d {
	case ByMachine, BySite, ByCity, ByProduct:
		return d, nil
	}
	return "", fmt.Errorf("%w: groupBy %q: must be one of machine, site, city, product", ErrInvalidQuery, s)
}

// Freshness says how current one site's data is, so that HQ can tell "no
// sales" from "not synced yet".
type Freshness struct {
	Site string
	// Known is false for a site central has never heard from.
	Known bool
	TZ    string
	// Contiguous is the highest sequence with no gap below it; MaxSeen the
	// highest received; Backlog = MaxSeen - Contiguous.
	Contiguous, MaxSeen, Backlog uint64
	// LastEventTime is the newest event time received from the site.
	LastEventTime time.Time
	// LastContact is when central last received a batch from the site.
	LastContact time.Time
	// Connected says whether the site's heartbeats reach this node, Since
	// since when (zero: no heartbeat heard from the site yet).
	Connected bool
	Since     time.Time
	// Binary and Envelope are the versions the site last reported in its
	// heartbeat ("" and 0: none reported yet).
	Binary   string
	Envelope int
}

// SalesQuery selects sales aggregates. From and To are naive-local times
// (wall clock in each site's timezone, carried as UTC; see sync/bucket): the
// answer holds the buckets of Window whose start lies in
// [Start(Window, From), To). City and Site filter when not empty.
type SalesQuery struct {
	GroupBy  Dim
	Window   bucket.Window
	From, To time.Time
	City     string
	Site     string
}

// SalesRow is one key's totals in one bucket.
type SalesRow struct {
	// Site is the machine's site when grouped by machine (a machine is
	// identified by site and machine id), else "".
	Site string
	Key  string
	// Bucket is the bucket's start, naive-local.
	Bucket       time.Time
	TxCount      int64
	Quantity     int64
	RevenueCents int64
	// DiscountCents is what promotions took off (gross = revenue + discount).
	DiscountCents int64
}

// SalesResult is a sales aggregate answer and the freshness of every site it
// covers.
type SalesResult struct {
	Rows      []SalesRow
	Freshness []Freshness
}

// TopQuery selects the best-selling products over the naive-local range
// [From, To) (truncated to the hour), optionally within a City or Site.
type TopQuery struct {
	From, To time.Time
	City     string
	Site     string
	// Limit caps the answer; 0 means 10.
	Limit int
}

// ProductTotal is one product's totals over a range.
type ProductTotal struct {
	ProductID    string
	TxCount      int64
	Quantity     int64
	RevenueCents int64
}

// TopResult is a top-products answer and the freshness of every site it
// covers.
type TopResult struct {
	Products  []ProductTotal
	Freshness []Freshness
}

// scopeCTE returns the CTE "sc(site, city)" listing the sales_agg scopes
// that answer dim filtered by city and site, given as ?1 (site) and ?2 (city).
func scopeCTE(dim Dim, city, site string) string {
	switch {
	case site != "":
		return `sc(site, city) AS (SELECT site, city FROM sales_scopes WHERE site = ?1 AND (?2 = '' OR city = ?2))`
	case city != "" && (dim == ByCity || dim == ByProduct):
		return `sc(site, city) AS (SELECT '` + aggregate.ScopeCity + `', ?2 WHERE ?1 = ?1)`
	case city != "":
		return `sc(site, city) AS (SELECT site, city FROM sales_scopes WHERE city = ?2 AND ?1 = ?1)`
	case dim == ByProduct:
		return `sc(site, city) AS (SELECT '` + aggregate.ScopeFleet + `', '' WHERE ?1 = ?1 AND ?2 = ?2)`
	case dim == ByCity:
		return `sc(site, city) AS (SELECT DISTINCT '` + aggregate.ScopeCity + `', city FROM sales_scopes WHERE ?1 = ?1 AND ?2 = ?2)`
	default:
		return `sc(site, city) AS (SELECT site, city FROM sales_scopes WHERE ?1 = ?1 AND ?2 = ?2)`
	}
}

// Sales answers a sales aggregate query: per key and bucket totals, ordered
// by bucket then key (then site, for machines: a machine is a site's). It returns an error wrapping ErrInvalidQuery when a
// field is bad.
func (s *Store) Sales(ctx context.Context, q SalesQuery) (SalesResult, error) {
	return s.AppendSales(ctx, nil, q)
}

// AppendSales is Sales with the rows appended to dst: a caller that asks
// often can keep one array for its answers (central/api does; a fleet's
// machines by day are 10,000 rows, 880 KB).
func (s *Store) AppendSales(ctx context.Context, dst []SalesRow, q SalesQuery) (SalesResult, error) {
	if _, err := ParseDim(string(q.GroupBy)); err != nil {
		return SalesResult{}, err
	}
	if _, err := bucket.ParseWindow(string(q.Window)); err != nil {
		return SalesResult{}, fmt.Errorf("%w: %w", ErrInvalidQuery, err)
	}
	if !q.From.Before(q.To) {
		return SalesResult{}, fmt.Errorf("%w: from must be before to", ErrInvalidQuery)
	}
	var err error
	var res SalesResult
	if res.Rows, err = s.salesRows(ctx, dst, q); err != nil {
		return SalesResult{}, fmt.Errorf("query sales: %w", err)
	}
	if res.Freshness, err = s.freshness(ctx, q.City, q.Site); err != nil {
		return SalesResult{}, err
	}
	return res, nil
}

// salesSQL returns the query of Sales and its arguments: the aggregate
// rows (?3 dimension, ?4 window, buckets [?5, ?6)) of the scopes that
// answer q, with their discounts. It reads only the columns the answer
// needs: a row's site only for machines (a machine is a site's), never its
// city. ordered is true when the rows come summed and in the answer's
// order (the fleet tables); else they come in the order of their key
// (scope, bucket, key) and sumSalesRows sums and orders them.
func salesSQL(q SalesQuery) (query string, args []any, ordered bool) {
	from := bucket.Start(q.Window, q.From).Unix()
	args = []any{q.Site, q.City, string(q.GroupBy), string(q.Window), from, q.To.UTC().Unix()}
	if q.City == "" && q.Site == "" && q.Window != bucket.Hour {
		// The fleet's sites and machines: one range of site_sales_fleet
		// (migration 0028) or machine_sales_fleet (0031), in the
		// answer's order, instead of a seek per scope.
		switch q.GroupBy {
		case BySite:
			return `SELECT '', bucket, site, tx_count, quantity, revenue_cents, discount_cents FROM site_sales_fleet
		WHERE win = ?4 AND bucket >= ?5 AND bucket < ?6 AND ?1 = ?1 AND ?2 = ?2 AND ?3 = ?3`, args, true
		case ByMachine:
			return `SELECT site, bucket, machine_id, tx_count, quantity, revenue_cents, discount_cents FROM machine_sales_fleet
		WHERE win = ?4 AND bucket >= ?5 AND bucket < ?6 AND ?1 = ?1 AND ?2 = ?2 AND ?3 = ?3`, args, true
		}
	}
	return salesAggSQL(q), args, false
}

// salesAggSQL is the query of salesSQL over sales_agg: every answer can be
// read there, with the arguments salesSQL gives.
func salesAggSQL(q SalesQuery) string {
	site := `''`
	if q.GroupBy == ByMachine {
		site = `a.site`
	}
	query := `WITH ` + scopeCTE(q.GroupBy, q.City, q.Site) + ` SELECT ` + site + `, a.bucket, a.key, a.tx_count, a.quantity, a.revenue_cents, a.discount_cents
		FROM sc CROSS JOIN sales_agg a
		WHERE a.dim = ?3 AND a.win = ?4 AND a.site = sc.site AND a.city = sc.city AND a.bucket >= ?5 AND a.bucket < ?6`
	return query
}

// salesRows answers q's rows. It reads the rows of each scope, with their
// discounts, in one range scan per scope, and sums and orders them here: a
// sort in SQL costs several times more at a fleet's thousands of rows. A
// row sums the scopes' rows of its bucket and key (and site, for machines:
// machine rows live only in per-site scopes, so grouping them by site too
// keeps two sites' machines with the same id apart): sorted, the rows to
// sum are neighbours.
func (s *Store) salesRows(ctx context.Context, dst []SalesRow, q SalesQuery) ([]SalesRow, error) {
	query, args, ordered := salesSQL(q)
	if ordered {
		hint := &s.siteRowsHint
		if q.GroupBy == ByMachine {
			hint = &s.machineRowsHint
		}
		return orderedSalesRows(ctx, s, dst, query, args, hint)
	}
	rows, err := s.sumSalesRows(ctx, query, args)
	if dst == nil || err != nil {
		return rows, err
	}
	return append(dst, rows...), nil
}

// orderedSalesRows reads the rows of a query that gives them summed and in
// the answer's order (see salesSQL) straight into the answer, appended to
// dst, or to an array the length of the last such answer of its dimension
// (hint) when dst has no room.
func orderedSalesRows(ctx context.Context, s *Store, dst []SalesRow, query string, args []any, hint *atomic.Int64) ([]SalesRow, error) {
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := dst
	start := len(dst)
	var b int64
	for rows.Next() {
		if len(out) == cap(out) && len(out) == start {
			out = slices.Grow(out, max(16, min(maxSalesHint, int(hint.Load()))))
		}
		out = append(out, SalesRow{})
		r := &out[len(out)-1]
		if err := rows.Scan(&r.Site, &b, &r.Key, &r.TxCount, &r.Quantity, &r.RevenueCents, &r.DiscountCents); err != nil {
			return nil, err
		}
		r.Bucket = time.Unix(b, 0).UTC()
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) > start {
		hint.Store(int64(len(out) - start))
	}
	return out, nil // as before: no rows (and no dst) is nil
}

// maxSalesHint caps the answer orderedSalesRows makes from the last one's
// length (10,000 machines' day is 10,000 rows).
const maxSalesHint = 1 << 15

// sumSalesRows reads the rows of query (see salesSQL) and sums and orders
// them as salesRows says.
func (s *Store) sumSalesRows(ctx context.Context, query string, args []any) ([]SalesRow, error) {
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type row struct {
		bucket    int64
		key, site string
		tx, qty   int64
		rev, disc int64
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.site, &r.bucket, &r.key, &r.tx, &r.qty, &r.rev, &r.disc); err != nil {
			return nil, err
		}
		all = append(all, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, nil // as before: no rows is nil
	}
	slices.SortFunc(all, func(a, b row) int {
		if a.bucket != b.bucket {
			return cmp.Compare(a.bucket, b.bucket)
		}
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(a.site, b.site)
	})
	out := make([]SalesRow, 0, len(all))
	for i, r := range all {
		if i > 0 {
			if p := &all[i-1]; p.bucket == r.bucket && p.key == r.key && p.site == r.site {
				o := &out[len(out)-1]
				o.TxCount += r.tx
				o.Quantity += r.qty
				o.RevenueCents += r.rev
				o.DiscountCents += r.disc
				continue
			}
		}
		out = append(out, SalesRow{Site: r.site, Key: r.key, Bucket: time.Unix(r.bucket, 0).UTC(),
			TxCount: r.tx, Quantity: r.qty, RevenueCents: r.rev, DiscountCents: r.disc})
	}
	return out, nil
}

// topSQL is the query of TopProducts over spans and its arguments.
func topSQL(q TopQuery, spans []bucket.Span, limit int) (string, []any) {
	var vals strings.Builder
	args := []any{q.Site, q.City, limit}
	for i, sp := range spans {
		if i > 0 {
			vals.WriteByte(',')
		}
		fmt.Fprintf(&vals, "(?%d, ?%d, ?%d)", len(args)+1, len(args)+2, len(args)+3)
		args = append(args, string(sp.Window), sp.From, sp.To)
	}
	return `WITH ` + scopeCTE(ByProduct, q.City, q.Site) + `, sp(win, lo, hi) AS (VALUES ` + vals.String() + `)
		SELECT a.key, sum(a.tx_count), sum(a.quantity), sum(a.revenue_cents) AS rev
		FROM sc CROSS JOIN sp CROSS JOIN sales_agg a
		WHERE a.dim = 'product' AND a.win = sp.win AND a.site = sc.site AND a.city = sc.city
			AND a.bucket >= sp.lo AND a.bucket < sp.hi
		GROUP BY a.key ORDER BY rev DESC, sum(a.quantity) DESC, a.key LIMIT ?3`, args
}

// TopProducts answers the best-selling products by revenue (then quantity)
// over [From, To), reading the fewest whole hour, day and month buckets that
// cover the range. It returns an error wrapping ErrInvalidQuery when the
// range is empty.
func (s *Store) TopProducts(ctx context.Context, q TopQuery) (TopResult, error) {
	spans := bucket.Cover(q.From.UTC(), q.To.UTC())
	if len(spans) == 0 {
		return TopResult{}, fmt.Errorf("%w: from must be at least an hour before to", ErrInvalidQuery)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 10
	}
	query, args := topSQL(q, spans, limit)
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return TopResult{}, fmt.Errorf("query top products: %w", err)
	}
	defer rows.Close()
	var res TopResult
	for rows.Next() {
		var p ProductTotal
		if err := rows.Scan(&p.ProductID, &p.TxCount, &p.Quantity, &p.RevenueCents); err != nil {
			return TopResult{}, fmt.Errorf("query top products: %w", err)
		}
		res.Products = append(res.Products, p)
	}
	if err := rows.Err(); err != nil {
		return TopResult{}, fmt.Errorf("query top products: %w", err)
	}
	if res.Freshness, err = s.freshness(ctx, q.City, q.Site); err != nil {
		return TopResult{}, err
	}
	return res, nil
}

const selectSiteCols = `site, tz, contiguous, max_seen, backlog, last_event_time, last_contact`

func scanFreshness(r interface{ Scan(...any) error }) (Freshness, error) {
	var f Freshness
	var c, m, bl, le, lc int64
	if err := r.Scan(&f.Site, &f.TZ, &c, &m, &bl, &le, &lc); err != nil {
		return Freshness{}, err
	}
	f.Known = true
	f.Contiguous, f.MaxSeen, f.Backlog = uint64(c), uint64(m), uint64(bl)
	f.LastEventTime, f.LastContact = fromMS(le), fromMS(lc)
	return f, nil
}

// selectCitySites lists the sites with sales or machines in a city.
const selectCitySites = `SELECT site FROM sales_scopes WHERE city = ?1 UNION SELECT site FROM machines WHERE city = ?1`

// freshness lists the sync state of every site an answer filtered by city
// and site covers: the one site, the sites with sales or machines in the
// city, or every site. It reads the maintained freshness table; only the
// city's site list comes from SQL.
func (s *Store) freshness(ctx context.Context, city, site string) ([]Freshness, error) {
	if site != "" {
		f, _ := s.fresh.get(site)
		f.Site = site
		return []Freshness{f}, nil
	}
	if city == "" {
		return s.fresh.known(nil), nil
	}
	rows, err := s.db.Query(ctx, selectCitySites, city)
	if err != nil {
		return nil, fmt.Errorf("query freshness: %w", err)
	}
	defer rows.Close()
	in := map[string]bool{}
	for rows.Next() {
		var site string
		if err := rows.Scan(&site); err != nil {
			return nil, fmt.Errorf("query freshness: %w", err)
		}
		in[site] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query freshness: %w", err)
	}
	return s.fresh.known(func(site string) bool { return in[site] }), nil
}

// Site returns one site's sync state, or ErrNotFound for a site no batch
// came from.
func (s *Store) Site(ctx context.Context, site string) (Freshness, error) {
	f, ok := s.fresh.get(site)
	if !ok || !f.Known {
		return Freshness{}, fmt.Errorf("site %s: %w", site, ErrNotFound)
	}
	return f, nil
}

// Sites lists every known site's sync state, ordered by site id.
func (s *Store) Sites(ctx context.Context) ([]Freshness, error) {
	return s.freshness(ctx, "", "")
}

// Watermark returns a site's watermark. A site central has never heard
// from has the zero watermark (it resends from 1), not an error.
func (s *Store) Watermark(ctx context.Context, site string) (Watermark, error) {
	f, err := s.Site(ctx, site)
	if errors.Is(err, ErrNotFound) {
		return Watermark{Site: site}, nil
	}
	if err != nil {
		return Watermark{}, err
	}
	return Watermark{Site: site, Contiguous: f.Contiguous, MaxSeen: f.MaxSeen}, nil
}

// Position returns the highest stream sequence this store's consumer has
// applied (0 when none).
func (s *Store) Position(ctx context.Context) (uint64, error) {
	var p int64
	err := s.db.QueryRow(ctx, `SELECT stream_seq FROM stream_position WHERE consumer = ?`, s.consumer).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("query stream position: %w", err)
	}
	return uint64(p), nil
}

// Fault is a fault's latest known state.
type Fault struct {
	Site        string
	FaultID     int64
	MachineID   string
	City        string // the machine's city, "" if the machine is unknown
	FaultType   string
	Description string
	Status      string
	ReportedAt  time.Time
	ResolvedAt  *time.Time
	By          string
	Seq         uint64
	EventTime   time.Time
}

// FaultFilter selects faults; empty fields match everything.
type FaultFilter struct {
	Status    string
	City      string
	Site      string
	MachineID string
	// Limit caps the answer; 0 means 1000.
	Limit int
}

const selectFault = `SELECT f.site, f.fault_id, f.machine_id, coalesce(m.city, ''), f.fault_type, f.description, f.status,
			f.reported_at, f.resolved_at, f.updated_by, f.seq, f.event_time
		FROM faults f LEFT JOIN machines m ON m.site = f.site AND m.machine_id = f.machine_id`

func scanFault(r rowScanner) (Fault, error) {
	var x Fault
	var rep, at, seq int64
	var res sql.NullInt64
	if err := r.Scan(&x.Site, &x.FaultID, &x.MachineID, &x.City, &x.FaultType, &x.Description, &x.Status,
		&rep, &res, &x.By, &seq, &at); err != nil {
		return Fault{}, err
	}
	x.ReportedAt, x.EventTime, x.Seq = fromMS(rep), fromMS(at), uint64(seq)
	if res.Valid {
		t := fromMS(res.Int64)
		x.ResolvedAt = &t
	}
	return x, nil
}

// faultsSQL is the query of Faults and its arguments.
func faultsSQL(f FaultFilter) (string, []any) {
	var w filter
	if f.Status == "OPEN" {
		w.add("f.status = 'OPEN'") // a literal, as the partial index says
	} else {
		w.eq("f.status", f.Status)
	}
	w.eq("m.city", f.City)
	w.eq("f.site", f.Site)
	w.eq("f.machine_id", f.MachineID)
	query := selectFault
	if f.Status == "OPEN" {
		// Few faults are open at once: read them newest first and stop at
		// the limit (the planner, without statistics, would rather search
		// faults_status and sort every open fault).
		query = strings.Replace(query, "FROM faults f", "FROM faults f INDEXED BY faults_open_time", 1)
	} else if f.City != "" {
		// A city's faults: its machines' rows from the covering
		// per-machine index (migration 0027), then sorted.
		query = strings.Replace(query, "FROM faults f", "FROM faults f INDEXED BY faults_machine_list", 1)
	}
	return query + w.where() + `
		ORDER BY f.event_time DESC, f.site, f.fault_id LIMIT ?`, append(w.args, limitOr(f.Limit, 1000))
}

// Faults lists faults matching f, newest event first.
func (s *Store) Faults(ctx context.Context, f FaultFilter) ([]Fault, error) {
	query, args := faultsSQL(f)
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query faults: %w", err)
	}
	defer rows.Close()
	out := make([]Fault, 0, listCap(f.Limit, 1000))
	for rows.Next() {
		x, err := scanFault(rows)
		if err != nil {
			return nil, fmt.Errorf("query faults: %w", err)
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query faults: %w", err)
	}
	return out, nil
}

// Fault returns fault id of site, or ErrNotFound.
func (s *Store) Fault(ctx context.Context, site string, id int64) (Fault, error) {
	x, err := scanFault(s.db.QueryRow(ctx, selectFault+` WHERE f.site = ? AND f.fault_id = ?`, site, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Fault{}, fmt.Errorf("fault %d of site %s: %w", id, site, ErrNotFound)
	}
	if err != nil {
		return Fault{}, fmt.Errorf("query fault %d of site %s: %w", id, site, err)
	}
	return x, nil
}

// Alert is an alert's latest known state.
type Alert struct {
	Site      string
	AlertID   int64
	MachineID string
	City      string // the machine's city, "" if the machine is unknown
	ProductID string
	Type      string
	Status    string
	Detail    string
	OpenedAt  time.Time
	ClosedAt  *time.Time
	Seq       uint64
	EventTime time.Time
}

// AlertFilter selects alerts; empty fields match everything.
type AlertFilter struct {
	Status    string
	Type      string
	City      string
	Site      string
	MachineID string
	// Limit caps the answer; 0 means 1000.
	Limit int
}

// alertsSQL is the query of Alerts and its arguments.
func alertsSQL(f AlertFilter) (string, []any) {
	var w filter
	if f.Status == "OPEN" {
		w.add("a.status = 'OPEN'") // a literal, as the partial index says
	} else {
		w.eq("a.status", f.Status)
	}
	w.eq("a.alert_type", f.Type)
	w.eq("m.city", f.City)
	w.eq("a.site", f.Site)
	w.eq("a.machine_id", f.MachineID)
	from := "alerts a"
	if f.Status == "OPEN" {
		// Few alerts are open at once: read them newest first and stop at
		// the limit (the planner, without statistics, would rather search
		// alerts_status and sort every open alert).
		from = "alerts a INDEXED BY alerts_open_time"
	} else if f.City != "" {
		// A city's alerts: its machines' rows, by type, from the
		// covering per-machine index (migration 0027), then sorted.
		from = "alerts a INDEXED BY alerts_machine_list"
	}
	return `SELECT a.site, a.alert_id, a.machine_id, coalesce(m.city, ''), a.product_id, a.alert_type, a.status,
			a.detail, a.opened_at, a.closed_at, a.seq, a.event_time
		FROM ` + from + ` LEFT JOIN machines m ON m.site = a.site AND m.machine_id = a.machine_id` + w.where() + `
		ORDER BY a.event_time DESC, a.site, a.alert_id LIMIT ?`, append(w.args, limitOr(f.Limit, 1000))
}

// Alerts lists alerts matching f, newest event first.
func (s *Store) Alerts(ctx context.Context, f AlertFilter) ([]Alert, error) {
	query, args := alertsSQL(f)
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query alerts: %w", err)
	}
	defer rows.Close()
	out := make([]Alert, 0, listCap(f.Limit, 1000))
	for rows.Next() {
		var x Alert
		var op, at, seq int64
		var cl sql.NullInt64
		if err := rows.Scan(&x.Site, &x.AlertID, &x.MachineID, &x.City, &x.ProductID, &x.Type, &x.Status,
			&x.Detail, &op, &cl, &seq, &at); err != nil {
			return nil, fmt.Errorf("query alerts: %w", err)
		}
		x.OpenedAt, x.EventTime, x.Seq = fromMS(op), fromMS(at), uint64(seq)
		if cl.Valid {
			t := fromMS(cl.Int64)
			x.ClosedAt = &t
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query alerts: %w", err)
	}
	return out, nil
}

// Machine is a machine's latest known state at central.
type Machine struct {
	Site           string
	MachineID      string
	City           string
	Building       string
	Lat, Lng       *float64
	PaymentMethods []string
	Status         string
	TempMaxC       *float64
	Action         string
	Seq            uint64
	EventTime      time.Time
	Products       []MachineProduct
	Telemetry      *Telemetry
}

// MachineProduct is a product on a machine and its last reported count.
type MachineProduct struct {
	ProductID     string
	Name          string
	PriceCents    int64
	Quantity      int64
	ExpiryDate    string
	LowStockLimit int64
	ParLevel      *int64
	CasePack      int64
	UpdatedAt     time.Time
	// Capacity is the most units the slot's coil holds, nil if not set.
	Capacity *int64
}

// Telemetry is a machine's latest reported telemetry.
type Telemetry struct {
	Temperature *float64
	PowerStatus string
	DoorStatus  string
	EventTime   time.Time
}

// AmbiguousError is returned by Machine when no site is given and more than
// one site has a machine with the id: a machine is identified by its site
// and its id.
type AmbiguousError struct {
	MachineID string
	Sites     []string
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("machine %s exists at sites %s", e.MachineID, strings.Join(e.Sites, ", "))
}

// Machine returns the machine id of site, its products and latest
// telemetry. With site "" it finds the machine at whichever site has it,
// and returns an *AmbiguousError when more than one does. It returns
// ErrNotFound when there is no such machine.
func (s *Store) Machine(ctx context.Context, site, id string) (Machine, error) {
	const query = `SELECT site, machine_id, city, building, latitude, longitude, payment_methods, status, temp_max_c,
			action, seq, event_time
		FROM machines WHERE machine_id = ?1 AND (?2 = '' OR site = ?2) ORDER BY site LIMIT 50`
	rows, err := s.db.Query(ctx, query, id, site)
	if err != nil {
		return Machine{}, fmt.Errorf("query machine %s: %w", id, err)
	}
	var found []Machine
	for rows.Next() {
		var m Machine
		var pm string
		var seq, at int64
		var lat, lng, tmax sql.NullFloat64
		if err := rows.Scan(&m.Site, &m.MachineID, &m.City, &m.Building, &lat, &lng, &pm,
			&m.Status, &tmax, &m.Action, &seq, &at); err != nil {
			rows.Close()
			return Machine{}, fmt.Errorf("query machine %s: %w", id, err)
		}
		m.Lat, m.Lng, m.TempMaxC = floatPtr(lat), floatPtr(lng), floatPtr(tmax)
		m.Seq, m.EventTime = uint64(seq), fromMS(at)
		if err := json.Unmarshal([]byte(pm), &m.PaymentMethods); err != nil {
			rows.Close()
			return Machine{}, fmt.Errorf("machine %s: payment methods: %w", id, err)
		}
		found = append(found, m)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return Machine{}, fmt.Errorf("query machine %s: %w", id, err)
	}
	rows.Close()
	switch len(found) {
	case 0:
		return Machine{}, fmt.Errorf("machine %s: %w", id, ErrNotFound)
	case 1:
	default:
		e := &AmbiguousError{MachineID: id}
		for _, m := range found {
			e.Sites = append(e.Sites, m.Site)
		}
		return Machine{}, e
	}
	m := found[0]

	rows, err = s.db.Query(ctx, `SELECT product_id, name, price_cents, quantity, expiry_date, low_stock_limit,
			par_level, case_pack, updated_at
		FROM machine_products WHERE site = ? AND machine_id = ? ORDER BY product_id`, m.Site, m.MachineID)
	if err != nil {
		return Machine{}, fmt.Errorf("query machine %s products: %w", id, err)
	}
	defer rows.Close()
	m.Products = []MachineProduct{}
	for rows.Next() {
		var p MachineProduct
		var par sql.NullInt64
		var up int64
		if err := rows.Scan(&p.ProductID, &p.Name, &p.PriceCents, &p.Quantity, &p.ExpiryDate, &p.LowStockLimit,
			&par, &p.CasePack, &up); err != nil {
			return Machine{}, fmt.Errorf("query machine %s products: %w", id, err)
		}
		if par.Valid {
			v := par.Int64
			p.ParLevel = &v
		}
		p.UpdatedAt = fromMS(up)
		m.Products = append(m.Products, p)
	}
	if err := rows.Err(); err != nil {
		return Machine{}, fmt.Errorf("query machine %s products: %w", id, err)
	}

	var t Telemetry
	var temp sql.NullFloat64
	var at int64
	err = s.db.QueryRow(ctx, `SELECT temperature, power_status, door_status, event_time
		FROM machine_telemetry WHERE site = ? AND machine_id = ?`, m.Site, m.MachineID).Scan(&temp, &t.PowerStatus, &t.DoorStatus, &at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return Machine{}, fmt.Errorf("query machine %s telemetry: %w", id, err)
	default:
		t.Temperature, t.EventTime = floatPtr(temp), fromMS(at)
		m.Telemetry = &t
	}
	return m, nil
}

func floatPtr(v sql.NullFloat64) *float64 {
	if !v.Valid {
		return nil
	}
	f := v.Float64
	return &f
}

// listCap is the capacity to give a list of at most limitOr(n, def) rows
// before reading them: a list is mostly as long as its limit, and growing
// one of 1,000 rows by appends copies and clears it ~10 times over (16 % of
// a 1,000-alert list's CPU). Capped so that a large limit costs nothing
// up front.
func listCap(n, def int) int {
	return min(limitOr(n, def), 1024)
}

func limitOr(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}
