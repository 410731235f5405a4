package readmodel

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vendsync/vendsync/internal/errs"
)

// Depot is a warehouse central owns stock at.
type Depot struct {
	ID, Name, City, Address string
	CreatedBy               string
	CreatedAt               time.Time
}

// Van is a driver's van: stock loaded at its depot, deducted by the
// restocks that name it.
type Van struct {
	ID, Name, DepotID, Driver string
	CreatedBy                 string
	CreatedAt                 time.Time
}

// SKU is a product variant (size, flavour) with an optional barcode.
type SKU struct {
	SKU, ProductID, Variant, Barcode, Name string
	CreatedBy                              string
	CreatedAt                              time.Time
}

func checkID(field, v string) error {
	if v == "" || len(v) > 64 || strings.ContainsAny(v, " \t\r\n/") {
		return errs.Invalidf(field, "%s must be 1 to 64 characters without spaces or slashes", field)
	}
	return nil
}

func checkText(field, v string, required bool) error {
	if required && strings.TrimSpace(v) == "" {
		return errs.Invalidf(field, "%s is required", field)
	}
	if len(v) > 200 {
		return errs.Invalidf(field, "%s is longer than 200 characters", field)
	}
	return nil
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// CreateDepot adds a depot. It returns an Invalid error for a bad field
// and a Conflict DUPLICATE error for an id already taken.
func (s *Store) CreateDepot(ctx context.Context, d Depot) (Depot, error) {
	if err := checkID("depotId", d.ID); err != nil {
		return Depot{}, err
	}
	for _, f := range []struct {
		name, v string
		req     bool
	}{{"name", d.Name, true}, {"city", d.City, false}, {"address", d.Address, false}} {
		if err := checkText(f.name, f.v, f.req); err != nil {
			return Depot{}, err
		}
	}
	err := s.Inventory(ctx, func(tx *InventoryTx) error {
		d.CreatedAt = tx.now.UTC().Truncate(time.Millisecond)
		_, err := tx.Exec(ctx, `INSERT INTO depots (depot_id, name, city, address, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			d.ID, d.Name, d.City, d.Address, d.CreatedBy, d.CreatedAt.UnixMilli())
		if isUnique(err) {
			return errs.Errorf(errs.Conflict, CodeDuplicate, "depotId", "depot %q exists", d.ID)
		}
		return err
	})
	return d, err
}

// Depots lists the depots by id.
func (s *Store) Depots(ctx context.Context) ([]Depot, error) {
	rows, err := s.db.Query(ctx, `SELECT depot_id, name, city, address, created_by, created_at FROM depots ORDER BY depot_id`)
	if err != nil {
		return nil, fmt.Errorf("query depots: %w", err)
	}
	defer rows.Close()
	out := []Depot{}
	for rows.Next() {
		var d Depot
		var at int64
		if err := rows.Scan(&d.ID, &d.Name, &d.City, &d.Address, &d.CreatedBy, &at); err != nil {
			return nil, fmt.Errorf("query depots: %w", err)
		}
		d.CreatedAt = time.UnixMilli(at).UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

// CreateVan adds a van based at an existing depot. It returns an Invalid
// error for a bad field, Unprocessable UNKNOWN_LOCATION for an unknown
// depot and Conflict DUPLICATE for an id already taken.
func (s *Store) CreateVan(ctx context.Context, v Van) (Van, error) {
	if err := checkID("vanId", v.ID); err != nil {
		return Van{}, err
	}
	if err := checkID("depotId", v.DepotID); err != nil {
		return Van{}, err
	}
	if err := checkText("name", v.Name, true); err != nil {
		return Van{}, err
	}
	if err := checkText("driver", v.Driver, false); err != nil {
		return Van{}, err
	}
	err := s.Inventory(ctx, func(tx *InventoryTx) error {
		if err := tx.LocationExists(ctx, LocationDepot, v.DepotID); err != nil {
			var de *errs.Error
			if errors.As(err, &de) {
				de.Field = "depotId"
			}
			return err
		}
		v.CreatedAt = tx.now.UTC().Truncate(time.Millisecond)
		_, err := tx.Exec(ctx, `INSERT INTO vans (van_id, name, depot_id, driver, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			v.ID, v.Name, v.DepotID, v.Driver, v.CreatedBy, v.CreatedAt.UnixMilli())
		if isUnique(err) {
			return errs.Errorf(errs.Conflict, CodeDuplicate, "vanId", "van %q exists", v.ID)
		}
		return err
	})
	return v, err
}

// Vans lists the vans by id.
func (s *Store) Vans(ctx context.Context) ([]Van, error) {
	rows, err := s.db.Query(ctx, `SELECT van_id, name, depot_id, driver, created_by, created_at FROM vans ORDER BY van_id`)
	if err != nil {
		return nil, fmt.Errorf("query vans: %w", err)
	}
	defer rows.Close()
	out := []Van{}
	for rows.Next() {
		var v Van
		var at int64
		if err := rows.Scan(&v.ID, &v.Name, &v.DepotID, &v.Driver, &v.CreatedBy, &at); err != nil {
			return nil, fmt.Errorf("query vans: %w", err)
		}
		v.CreatedAt = time.UnixMilli(at).UTC()
		out = append(out, v)
	}
	return out, rows.Err()
}

// CreateSKU adds a SKU of a product. It returns an Invalid error for a
// bad field and Conflict DUPLICATE for a SKU or barcode already taken.
func (s *Store) CreateSKU(ctx context.Context, k SKU) (SKU, error) {
	if err := checkID("sku", k.SKU); err != nil {
		return SKU{}, err
	}
	if err := checkID("productId", k.ProductID); err != nil {
		return SKU{}, err
	}
	for _, f := range []struct{ name, v string }{{"variant", k.Variant}, {"barcode", k.Barcode}, {"name", k.Name}} {
		if err := checkText(f.name, f.v, false); err != nil {
			return SKU{}, err
		}
	}
	err := s.Inventory(ctx, func(tx *InventoryTx) error {
		k.CreatedAt = tx.now.UTC().Truncate(time.Millisecond)
		var barcode any
		if k.Barcode != "" {
			barcode = k.Barcode
		}
		_, err := tx.Exec(ctx, `INSERT INTO skus (sku, product_id, variant, barcode, name, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			k.SKU, k.ProductID, k.Variant, barcode, k.Name, k.CreatedBy, k.CreatedAt.UnixMilli())
		if isUnique(err) {
			return errs.Errorf(errs.Conflict, CodeDuplicate, "sku", "sku %q or barcode %q exists", k.SKU, k.Barcode)
		}
		return err
	})
	return k, err
}

// SKUs lists the SKUs by id.
func (s *Store) SKUs(ctx context.Context) ([]SKU, error) {
	rows, err := s.db.Query(ctx, `SELECT sku, product_id, variant, COALESCE(barcode, ''), name, created_by, created_at FROM skus ORDER BY sku`)
	if err != nil {
		return nil, fmt.Errorf("query skus: %w", err)
	}
	defer rows.Close()
	out := []SKU{}
	for rows.Next() {
		var k SKU
		var at int64
		if err := rows.Scan(&k.SKU, &k.ProductID, &k.Variant, &k.Barcode, &k.Name, &k.CreatedBy, &at); err != nil {
			return nil, fmt.Errorf("query skus: %w", err)
		}
		k.CreatedAt = time.UnixMilli(at).UTC()
		out = append(out, k)
	}
	return out, rows.Err()
}
