package readmodel

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vendsync/vendsync/internal/errs"
)

// Transfers, bulk updates and channel syncs: the requests that move stock
// at central's locations, each idempotent by a key the caller chooses.

// TransferLineIn is one product of a transfer: what the pick list planned
// (nil: as picked) and what was picked and moved.
type TransferLineIn struct {
	ProductID string
	Planned   *int64
	Picked    int64
}

// TransferIn is a transfer between two central locations. ID is its
// idempotency key; Hash is the request body's hash, so the same ID with
// another body is refused.
type TransferIn struct {
	ID       string
	FromKind LocationKind
	FromID   string
	ToKind   LocationKind
	ToID     string
	Lines    []TransferLineIn
	Reason   string
	By       string
	Hash     []byte
}

// TransferLine is a recorded transfer line; Planned - Picked is the
// shortfall.
type TransferLine struct {
	Line      int
	ProductID string
	Planned   int64
	Picked    int64
}

// Transfer is a recorded transfer. Kind is load (depot to van), return
// (van to depot) or move.
type Transfer struct {
	ID, Kind         string
	FromKind, ToKind LocationKind
	FromID, ToID     string
	Lines            []TransferLine
	By               string
	At               time.Time
	Replayed         bool
}

// MaxTransferLines bounds the lines of a transfer and of a bulk update.
const MaxTransferLines = 1000

func transferKind(from, to LocationKind) string {
	switch {
	case from == LocationDepot && to == LocationVan:
		return "load"
	case from == LocationVan && to == LocationDepot:
		return "return"
	}
	return "move"
}

// CreateTransfer moves each line's picked units from one depot or van to
// another in one transaction: transfer_out and transfer_in movements (for
// a van's return to a depot, return movements at both). It returns an
// *errs.Error: Invalid for a bad field, Unprocessable UNKNOWN_LOCATION or
// MACHINE_OWNED_BY_SITE (a van reaches a machine through the site's
// restock, not a transfer), INSUFFICIENT_STOCK when the source holds too
// little, Conflict IDEMPOTENCY_CONFLICT for an ID reused with another body.
// A replay answers the recorded transfer with Replayed set.
func (s *Store) CreateTransfer(ctx context.Context, in TransferIn) (Transfer, error) {
	if err := checkID("transferId", in.ID); err != nil {
		return Transfer{}, err
	}
	if len(in.Lines) == 0 || len(in.Lines) > MaxTransferLines {
		return Transfer{}, errs.Invalidf("lines", "lines must hold 1 to %d products", MaxTransferLines)
	}
	if in.FromKind == in.ToKind && in.FromID == in.ToID {
		return Transfer{}, errs.Invalidf("to", "a transfer goes to another location")
	}
	for i, l := range in.Lines {
		f := fmt.Sprintf("lines[%d]", i)
		if err := checkID(f+".productId", l.ProductID); err != nil {
			return Transfer{}, err
		}
		if l.Picked < 0 || l.Picked > 1_000_000 {
			return Transfer{}, errs.Invalidf(f+".picked", "picked must be 0 to 1000000")
		}
		if l.Planned != nil && (*l.Planned < 0 || *l.Planned > 1_000_000) {
			return Transfer{}, errs.Invalidf(f+".planned", "planned must be 0 to 1000000")
		}
	}
	var out Transfer
	err := s.Inventory(ctx, func(tx *InventoryTx) error {
		prev, err := tx.transfer(ctx, in.ID)
		switch {
		case err == nil:
			if !bytes.Equal(prev.hash, in.Hash) {
				return errs.Errorf(errs.Conflict, CodeIdempotency, "transferId", "transfer %q was recorded with another body", in.ID)
			}
			out = prev.Transfer
			out.Replayed = true
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		for _, e := range []struct {
			field string
			kind  LocationKind
			id    string
		}{{"from", in.FromKind, in.FromID}, {"to", in.ToKind, in.ToID}} {
			if err := tx.LocationExists(ctx, e.kind, e.id); err != nil {
				if de, ok := errs.As(err); ok {
					de.Field = e.field
				}
				return err
			}
		}
		kind := transferKind(in.FromKind, in.ToKind)
		outType, inType := MoveTransferOut, MoveTransferIn
		if kind == "return" {
			outType, inType = MoveReturn, MoveReturn
		}
		out = Transfer{ID: in.ID, Kind: kind, FromKind: in.FromKind, FromID: in.FromID, ToKind: in.ToKind, ToID: in.ToID,
			By: in.By, At: tx.now.UTC().Truncate(time.Millisecond)}
		if _, err := tx.Exec(ctx, `INSERT INTO transfers (transfer_id, from_kind, from_id, to_kind, to_id, kind, body_hash, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, in.ID, string(in.FromKind), in.FromID, string(in.ToKind), in.ToID, kind, in.Hash, in.By, out.At.UnixMilli()); err != nil {
			return fmt.Errorf("insert transfer: %w", err)
		}
		for i, l := range in.Lines {
			planned := l.Picked
			if l.Planned != nil {
				planned = *l.Planned
			}
			line := TransferLine{Line: i + 1, ProductID: l.ProductID, Planned: planned, Picked: l.Picked}
			if _, err := tx.Exec(ctx, `INSERT INTO transfer_lines (transfer_id, line, product_id, planned, picked) VALUES (?, ?, ?, ?, ?)`,
				in.ID, line.Line, line.ProductID, line.Planned, line.Picked); err != nil {
				return fmt.Errorf("insert transfer line: %w", err)
			}
			out.Lines = append(out.Lines, line)
			if l.Picked == 0 {
				continue
			}
			key := fmt.Sprintf("transfer:%s:%d", in.ID, line.Line)
			for _, m := range []MovementIn{
				{Key: key + ":out", Kind: in.FromKind, LocationID: in.FromID, Type: outType, Quantity: -l.Picked},
				{Key: key + ":in", Kind: in.ToKind, LocationID: in.ToID, Type: inType, Quantity: l.Picked},
			} {
				m.ProductID, m.Ref, m.Reason, m.By = l.ProductID, "transfer:"+in.ID, in.Reason, in.By
				if _, _, err := tx.Record(ctx, m); err != nil {
					if de, ok := errs.As(err); ok && de.Field == "quantity" {
						de.Field = fmt.Sprintf("lines[%d].picked", i)
					}
					return err
				}
			}
		}
		return nil
	})
	return out, err
}

type storedTransfer struct {
	Transfer
	hash []byte
}

func (tx *InventoryTx) transfer(ctx context.Context, id string) (storedTransfer, error) {
	var t storedTransfer
	var fk, tk string
	var at int64
	err := tx.QueryRow(ctx, `SELECT transfer_id, kind, from_kind, from_id, to_kind, to_id, body_hash, created_by, created_at FROM transfers WHERE transfer_id = ?`, id).
		Scan(&t.ID, &t.Kind, &fk, &t.FromID, &tk, &t.ToID, &t.hash, &t.By, &at)
	if err != nil {
		return t, err
	}
	t.FromKind, t.ToKind, t.At = LocationKind(fk), LocationKind(tk), time.UnixMilli(at).UTC()
	rows, err := tx.Query(ctx, `SELECT line, product_id, planned, picked FROM transfer_lines WHERE transfer_id = ? ORDER BY line`, id)
	if err != nil {
		return t, fmt.Errorf("read transfer lines: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l TransferLine
		if err := rows.Scan(&l.Line, &l.ProductID, &l.Planned, &l.Picked); err != nil {
			return t, fmt.Errorf("read transfer lines: %w", err)
		}
		t.Lines = append(t.Lines, l)
	}
	return t, rows.Err()
}

// Transfers lists the newest transfers from or to a location ("" for
// any), at most limit (default 100).
func (s *Store) Transfers(ctx context.Context, locationID string, limit int) ([]Transfer, error) {
	if limit <= 0 || limit > MaxMovementPage {
		limit = 100
	}
	rows, err := s.db.Query(ctx, `SELECT t.transfer_id, t.kind, t.from_kind, t.from_id, t.to_kind, t.to_id, t.created_by, t.created_at,
			l.line, l.product_id, l.planned, l.picked
		FROM (SELECT * FROM transfers WHERE ?1 = '' OR from_id = ?1 OR to_id = ?1 ORDER BY created_at DESC, transfer_id LIMIT ?2) t
		JOIN transfer_lines l ON l.transfer_id = t.transfer_id
		ORDER BY t.created_at DESC, t.transfer_id, l.line`, locationID, limit)
	if err != nil {
		return nil, fmt.Errorf("query transfers: %w", err)
	}
	defer rows.Close()
	out := []Transfer{}
	for rows.Next() {
		var t Transfer
		var fk, tk string
		var at int64
		var l TransferLine
		if err := rows.Scan(&t.ID, &t.Kind, &fk, &t.FromID, &tk, &t.ToID, &t.By, &at, &l.Line, &l.ProductID, &l.Planned, &l.Picked); err != nil {
			return nil, fmt.Errorf("query transfers: %w", err)
		}
		if n := len(out); n > 0 && out[n-1].ID == t.ID {
			out[n-1].Lines = append(out[n-1].Lines, l)
			continue
		}
		t.FromKind, t.ToKind, t.At, t.Lines = LocationKind(fk), LocationKind(tk), time.UnixMilli(at).UTC(), []TransferLine{l}
		out = append(out, t)
	}
	return out, rows.Err()
}

// BulkLine is one line of a bulk update: a movement of Quantity (signed as
// its Type demands) at a depot or van or, with Counted set, the counted
// stock there (recorded as a count_adjustment of the difference).
type BulkLine struct {
	Kind          LocationKind
	LocationID    string
	ProductID     string
	SKU           string
	Type          MovementType
	Quantity      int64
	Counted       *int64
	UnitCostCents *int64
	Reason        string
}

// LineOutcome is what became of one line: a movement (nil when a count
// matched and nothing moved) and the balance after it, or an error.
type LineOutcome struct {
	Line     int
	Movement *Movement   `json:",omitempty"`
	Balance  int64       `json:",omitempty"`
	Replayed bool        `json:",omitempty"`
	Err      *errs.Error `json:",omitempty"`
}

// BulkResult is the answer of a bulk update or channel sync.
type BulkResult struct {
	RequestKey string
	Lines      []LineOutcome
	OK, Failed int
	Replayed   bool `json:"-"`
}

// BulkUpdate applies each line on its own (a refused line changes
// nothing, the others still apply) in one transaction, and keeps the
// answer under key: the same key and body answers it again with Replayed
// set; the same key with another body is a Conflict IDEMPOTENCY_CONFLICT.
// Lines at machines are refused with MACHINE_OWNED_BY_SITE: a site owns its
// machines' stock, and HQ changes it through the site.
func (s *Store) BulkUpdate(ctx context.Context, key string, hash []byte, by string, lines []BulkLine) (BulkResult, error) {
	if key == "" || len(key) > 128 {
		return BulkResult{}, errs.Invalidf("requestKey", "requestKey of 1 to 128 characters is required")
	}
	if len(lines) == 0 || len(lines) > MaxTransferLines {
		return BulkResult{}, errs.Invalidf("lines", "lines must hold 1 to %d lines", MaxTransferLines)
	}
	var res BulkResult
	err := s.Inventory(ctx, func(tx *InventoryTx) error {
		var done bool
		var err error
		if res, done, err = tx.storedRequest(ctx, "bulk:"+key, hash, "requestKey"); done || err != nil {
			return err
		}
		res = BulkResult{RequestKey: key}
		for i, l := range lines {
			o, err := tx.inLine(ctx, i, func() (LineOutcome, error) {
				in := MovementIn{Key: fmt.Sprintf("bulk:%s:%d", key, i+1), Kind: l.Kind, LocationID: l.LocationID, ProductID: l.ProductID,
					SKU: l.SKU, Type: l.Type, Quantity: l.Quantity, UnitCostCents: l.UnitCostCents, Ref: "bulk:" + key, Reason: l.Reason, By: by}
				if l.Counted != nil {
					if l.Type != "" && l.Type != MoveCountAdjustment {
						return LineOutcome{}, errs.Invalidf("type", "a counted line is a count_adjustment")
					}
					if *l.Counted < 0 {
						return LineOutcome{}, errs.Invalidf("counted", "counted must not be negative")
					}
					if err := tx.LocationExists(ctx, l.Kind, l.LocationID); err != nil {
						return LineOutcome{}, err
					}
					bal, err := tx.Balance(ctx, l.Kind, l.LocationID, l.ProductID)
					if err != nil {
						return LineOutcome{}, err
					}
					if bal == *l.Counted {
						return LineOutcome{Balance: bal}, nil
					}
					in.Type, in.Quantity = MoveCountAdjustment, *l.Counted-bal
				}
				return tx.recordLine(ctx, in)
			})
			if err != nil {
				return err
			}
			res.add(o)
		}
		return tx.storeRequest(ctx, "bulk:"+key, hash, by, res)
	})
	return res, err
}

func (r *BulkResult) add(o LineOutcome) {
	r.Lines = append(r.Lines, o)
	if o.Err != nil {
		r.Failed++
	} else {
		r.OK++
	}
}

// recordLine records in and answers the line's outcome with the balance
// after it.
func (tx *InventoryTx) recordLine(ctx context.Context, in MovementIn) (LineOutcome, error) {
	m, replayed, err := tx.Record(ctx, in)
	if err != nil {
		return LineOutcome{}, err
	}
	bal, err := tx.Balance(ctx, m.Kind, m.LocationID, m.ProductID)
	if err != nil {
		return LineOutcome{}, err
	}
	return LineOutcome{Movement: &m, Balance: bal, Replayed: replayed}, nil
}

// inLine runs fn inside a savepoint: a domain error rolls the line back
// and becomes its outcome; any other error is returned (it fails the
// whole request).
func (tx *InventoryTx) inLine(ctx context.Context, i int, fn func() (LineOutcome, error)) (LineOutcome, error) {
	if _, err := tx.Exec(ctx, `SAVEPOINT inventory_line`); err != nil {
		return LineOutcome{}, fmt.Errorf("savepoint: %w", err)
	}
	o, err := fn()
	o.Line = i + 1
	if de, ok := errs.As(err); ok && de.Kind != errs.Internal {
		if _, rerr := tx.Exec(ctx, `ROLLBACK TO inventory_line`); rerr != nil {
			return LineOutcome{}, fmt.Errorf("roll back line: %w", rerr)
		}
		o, err = LineOutcome{Line: i + 1, Err: de}, nil
	}
	if err != nil {
		return LineOutcome{}, err
	}
	if _, err := tx.Exec(ctx, `RELEASE inventory_line`); err != nil {
		return LineOutcome{}, fmt.Errorf("release savepoint: %w", err)
	}
	return o, nil
}

// storedRequest answers a request already recorded under key: done is true
// with its result (Replayed set), or a Conflict when hash differs.
func (tx *InventoryTx) storedRequest(ctx context.Context, key string, hash []byte, field string) (BulkResult, bool, error) {
	var prevHash []byte
	var body string
	err := tx.QueryRow(ctx, `SELECT body_hash, result FROM inventory_requests WHERE request_key = ?`, key).Scan(&prevHash, &body)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return BulkResult{}, false, nil
	case err != nil:
		return BulkResult{}, false, fmt.Errorf("read request: %w", err)
	case !bytes.Equal(prevHash, hash):
		return BulkResult{}, true, errs.Errorf(errs.Conflict, CodeIdempotency, field, "%s was used with another body", field)
	}
	var res BulkResult
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		return BulkResult{}, false, fmt.Errorf("decode stored request: %w", err)
	}
	res.Replayed = true
	return res, true, nil
}

func (tx *InventoryTx) storeRequest(ctx context.Context, key string, hash []byte, by string, res BulkResult) error {
	body, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO inventory_requests (request_key, body_hash, result, created_by, created_at) VALUES (?, ?, ?, ?, ?)`,
		key, hash, string(body), by, tx.now.UnixMilli()); err != nil {
		return fmt.Errorf("store request: %w", err)
	}
	return nil
}
