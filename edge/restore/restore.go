// Package restore rebuilds a site's database on a new box from what central
// holds of it (hqapi.SiteSnapshot, GET /sites/{id}/snapshot): its machines
// with their payment methods, city and slots, products, prices, the stock of
// every slot as of the last fact central received, open alerts and faults,
// and the outbox sequence, which continues after the last one central saw so
// that no new fact collides with an old one.
//
// What the old box did after its last synced fact never reached central and
// is not in the snapshot: those facts are lost, and Result says what central
// can tell about them. Machine credentials are site secrets central never
// holds: machines get new ones (`vendsync provision machine`).
package restore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/dirlock"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/sync/envelope"
)

// KindLost is the kind of the events a rebuilt site sends for the sequences
// between central's watermark and the highest sequence central received:
// central keeps the events it already has (it deduplicates by sequence) and
// records the missing ones as lost, without effect, so its watermark for the
// site moves past the gap instead of waiting for a resend that can never
// come. Central keeps events of a kind it does not know raw, without effect.
const KindLost envelope.Kind = "lost"

// Result is what FromSnapshot restored.
type Result struct {
	Site                      string
	Machines, Products, Slots int
	Faults, Alerts            int
	Credentials               edge.Credentials
	// Watermark is central's watermark for the site and LastSeq the highest
	// sequence central received: the new box numbers its facts from
	// LastSeq+1, and marks the LastSeq-Watermark sequences in between lost.
	Watermark, LastSeq uint64
	// Lost is how many sequences in (Watermark, LastSeq] the new box marked
	// lost (central ignores those it holds).
	Lost uint64
}

// ErrExists is returned when the directory already holds a site database.
var ErrExists = errors.New("directory already holds a site")

// FromSnapshot creates the site of snap in dir (created, 0700), as `edge
// init` would (DIR/site.db, DIR/admin-credentials.json), then fills it from
// snap in one transaction. It refuses a dir that already holds a site
// (ErrExists) and a snapshot without a timezone; on any failure it removes
// what it wrote, so it can be run again.
func FromSnapshot(ctx context.Context, dir string, snap hqapi.SiteSnapshot) (res Result, err error) {
	if _, err := os.Stat(filepath.Join(dir, store.DBFile)); err == nil {
		return Result{}, fmt.Errorf("restore into %s: %w: restore into an empty directory", dir, ErrExists)
	}
	if snap.Site.ID == "" || snap.Site.Timezone == "" {
		return Result{}, fmt.Errorf("restore: central's snapshot names no site or timezone for %q", snap.Site.ID)
	}
	creds, err := edge.Init(ctx, dir, store.SiteInit{ID: snap.Site.ID, Name: snap.Site.Name, City: snap.Site.City, Timezone: snap.Site.Timezone})
	if err != nil {
		return Result{}, fmt.Errorf("restore: %w", err)
	}
	defer func() {
		if err != nil {
			for _, f := range []string{store.DBFile, store.DBFile + "-wal", store.DBFile + "-shm", store.DBFile + "-intake", edge.CredentialsFile} {
				_ = os.Remove(filepath.Join(dir, f))
			}
		}
	}()
	st, err := store.Open(ctx, dir)
	if err != nil {
		return Result{}, fmt.Errorf("restore: %w", err)
	}
	defer st.Close()
	tx, err := st.DB.W.BeginTx(ctx, nil)
	if err != nil {
		return Result{}, fmt.Errorf("restore: %w", err)
	}
	defer tx.Rollback()
	res = Result{Site: snap.Site.ID, Credentials: creds, Watermark: snap.Freshness.Watermark, LastSeq: max(snap.Freshness.LastSeq, snap.Freshness.Watermark)}
	if err := fill(ctx, tx, snap, &res); err != nil {
		return Result{}, fmt.Errorf("restore: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Result{}, fmt.Errorf("restore: commit: %w", err)
	}
	return res, nil
}

const (
	insertProduct = `INSERT INTO products (product_id, name, case_pack, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (product_id) DO NOTHING`
	insertMachine = `INSERT INTO vending_machines (machine_id, city, building, latitude, longitude, payment_methods, status, temp_max_c,
		created_at, updated_at, decommissioned_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	insertState = `INSERT INTO machine_state (machine_id) VALUES (?)`
	insertSlot  = `INSERT INTO machine_inventory (machine_id, product_id, price_cents, quantity, expiry_date, low_stock_limit, par_level, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	insertLot   = `INSERT INTO lots (machine_id, product_id, expiry_date, quantity, received_at, updated_at) VALUES (?, ?, ?, ?, ?, ?5)`
	insertFault = `INSERT INTO fault_events (fault_id, machine_id, fault_type, description, status, event_time, reported_at, updated_at, resolved_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	insertAlert = `INSERT INTO alerts (alert_id, machine_id, product_id, alert_type, status, detail, created_at)
		VALUES (?, ?, ?, ?, 'OPEN', ?, ?) ON CONFLICT DO NOTHING`
	setSequence = `INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)`
	delSequence = `DELETE FROM sqlite_sequence WHERE name = ?`
	setSync     = `UPDATE sync_state SET last_seq = ?, acked_seq = ? WHERE id = 1`
	insertLost  = `INSERT INTO outbox (seq, kind, event_time, payload, created_at) VALUES (?, ?, ?, ?, ?)`
	insertAudit = `INSERT INTO audit_logs (entity_type, entity_id, action, performed_by, performed_at, detail) VALUES ('site', ?, 'RESTORED_FROM_CENTRAL', 'central', ?, ?)`
)

func fill(ctx context.Context, tx *sql.Tx, snap hqapi.SiteSnapshot, res *Result) error {
	now := time.Now().UnixMilli()
	exec := func(what, q string, args ...any) error {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	var err error
	products := map[string]bool{}
	machines := map[string]bool{}
	for _, m := range snap.Machines {
		pm, err := json.Marshal(m.PaymentMethods)
		if err != nil {
			return fmt.Errorf("machine %s: %w", m.MachineID, err)
		}
		at := cmpTime(m.UpdatedAt, now)
		var decommissioned any
		if m.Status == "DECOMMISSIONED" {
			decommissioned = at
		}
		if err := exec("machine "+m.MachineID, insertMachine, m.MachineID, m.Location.City, m.Location.Building, m.Location.Lat, m.Location.Lng,
			string(pm), m.Status, m.TemperatureMax, at, at, decommissioned); err != nil {
			return err
		}
		if err := exec("machine "+m.MachineID, insertState, m.MachineID); err != nil {
			return err
		}
		machines[m.MachineID] = true
		res.Machines++
		for _, p := range m.Products {
			pat := cmpTime(p.UpdatedAt, now)
			if !products[p.ProductID] {
				if err := exec("product "+p.ProductID, insertProduct, p.ProductID, p.Name, p.CasePack, pat, pat); err != nil {
					return err
				}
				products[p.ProductID] = true
				res.Products++
			}
			var expiry any
			if p.ExpiryDate != "" {
				expiry = p.ExpiryDate
			}
			if err := exec("slot "+m.MachineID+"/"+p.ProductID, insertSlot, m.MachineID, p.ProductID, int64(p.Price), max(p.Quantity, 0),
				expiry, max(p.LowStockLimit, 0), p.ParLevel, pat); err != nil {
				return err
			}
			// The slot's units as one unknown lot (edge/lot): central's
			// snapshot has the count and the earliest date, not the lots.
			if p.Quantity > 0 {
				if err := exec("lot "+m.MachineID+"/"+p.ProductID, insertLot, m.MachineID, p.ProductID, p.ExpiryDate, p.Quantity, pat); err != nil {
					return err
				}
			}
			res.Slots++
		}
	}
	for _, f := range snap.Faults {
		if !machines[f.MachineID] {
			continue // a fault of a machine central never saw registered
		}
		at := cmpTime(f.ReportedAt, now)
		if err := exec(fmt.Sprintf("fault %d", f.FaultID), insertFault, f.FaultID, f.MachineID, f.FaultType, f.Description, f.Status,
			at, at, cmpTime(f.UpdatedAt, now), nullString(f.UpdatedBy)); err != nil {
			return err
		}
		res.Faults++
	}
	for _, a := range snap.Alerts {
		if err := exec(fmt.Sprintf("alert %d", a.AlertID), insertAlert, a.AlertID, a.MachineID, a.ProductID, a.Type, a.Detail,
			cmpTime(a.OpenedAt, now)); err != nil {
			return err
		}
		res.Alerts++
	}
	// New faults and alerts are numbered after every id central has seen
	// from the site, open or not: central keys them by (site, id).
	for table, id := range map[string]int64{"fault_events": snap.MaxFaultID, "alerts": snap.MaxAlertID} {
		if err := exec("number "+table, delSequence, table); err != nil {
			return err
		}
		if err := exec("number "+table, setSequence, table, id); err != nil {
			return err
		}
	}
	if res.Lost, err = markLost(ctx, tx, snap.Site.ID, res.Watermark, res.LastSeq, snap.TakenAt, now); err != nil {
		return err
	}
	if err := exec("sequence", setSync, res.LastSeq, res.Watermark); err != nil {
		return err
	}
	detail, err := json.Marshal(map[string]any{"machines": res.Machines, "slots": res.Slots, "faults": res.Faults, "alerts": res.Alerts,
		"watermark": res.Watermark, "lastSeq": res.LastSeq, "snapshotAt": snap.TakenAt})
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return exec("audit", insertAudit, snap.Site.ID, now, string(detail))
}

// markLost writes a KindLost outbox row for every sequence in (from, to].
func markLost(ctx context.Context, tx *sql.Tx, site string, from, to uint64, at time.Time, now int64) (uint64, error) {
	var n uint64
	for seq := from + 1; seq <= to; seq++ {
		payload, err := json.Marshal(envelope.Event{V: envelope.Version, Site: site, Seq: seq, Kind: KindLost, Time: at.UTC(),
			Data: json.RawMessage(`{"reason":"the site's database was restored; central never received this sequence from the new copy"}`)})
		if err != nil {
			return n, fmt.Errorf("lost sequence %d: %w", seq, err)
		}
		if _, err := tx.ExecContext(ctx, insertLost, seq, string(KindLost), at.UnixMilli(), payload, now); err != nil {
			return n, fmt.Errorf("lost sequence %d: %w", seq, err)
		}
		n++
	}
	return n, nil
}

// ContinueAfter makes the site in dir (stopped: it takes the directory's
// lock) number its next fact after centralLast, the highest sequence
// central received from the site. A database restored from a local backup
// needs it when the site synced facts after the backup was taken: their
// numbers are taken at central, which would drop new facts reusing them as
// duplicates. The numbers in between are sent as KindLost events (central
// keeps the ones it has). It returns how many it skipped (0 when the site
// is already past centralLast).
func ContinueAfter(ctx context.Context, dir string, centralLast uint64, at time.Time) (uint64, error) {
	lock, err := dirlock.Acquire(dir)
	if err != nil {
		return 0, fmt.Errorf("continue after central: %w", err)
	}
	defer lock.Release()
	st, err := store.Open(ctx, dir)
	if err != nil {
		return 0, fmt.Errorf("continue after central: %w", err)
	}
	defer st.Close()
	tx, err := st.DB.W.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("continue after central: %w", err)
	}
	defer tx.Rollback()
	var last uint64
	if err := tx.QueryRowContext(ctx, store.LastSeqQuery).Scan(&last); err != nil {
		return 0, fmt.Errorf("continue after central: %w", err)
	}
	if centralLast <= last {
		return 0, nil
	}
	n, err := markLost(ctx, tx, st.Site.ID, last, centralLast, at, time.Now().UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("continue after central: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE sync_state SET last_seq = ? WHERE id = 1`, centralLast); err != nil {
		return 0, fmt.Errorf("continue after central: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("continue after central: %w", err)
	}
	return n, nil
}

// cmpTime is t in unix ms, or def when t is zero.
func cmpTime(t time.Time, def int64) int64 {
	if t.IsZero() {
		return def
	}
	return t.UnixMilli()
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
