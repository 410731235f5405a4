package api

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"

	_ "modernc.org/sqlite" // the read model's driver
)

// Stockist is a machine, at a site, that stocks a product.
type Stockist struct {
	Site      string
	MachineID string
}

// Catalog finds the machines that stock a product, across sites.
type Catalog interface {
	// Stockists returns the machines (not decommissioned) that stock
	// productID, ordered by site then machine; none is not an error.
	Stockists(ctx context.Context, productID string) ([]Stockist, error)
}

// SQLiteCatalog answers Catalog from a central read model's SQLite file,
// opened read-only beside the readmodel.Store that writes it.
//
// It stands in for a query the read model does not have yet (machines by
// product); it reads the read model's tables machine_products and machines
// directly, so it must follow migrations/central.
type SQLiteCatalog struct {
	db *sql.DB
}

var _ Catalog = (*SQLiteCatalog)(nil)

// OpenCatalog opens the read model file at path read-only. It returns an
// error if the file cannot be opened or has no machine_products table.
func OpenCatalog(ctx context.Context, path string) (*SQLiteCatalog, error) {
	q := url.Values{}
	q.Add("mode", "ro")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "query_only(ON)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open catalog: %w", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM machine_products WHERE 0`).Scan(&n); err != nil {
		db.Close()
		return nil, fmt.Errorf("open catalog %s: %w", path, err)
	}
	return &SQLiteCatalog{db: db}, nil
}

// Close closes the file.
func (c *SQLiteCatalog) Close() error {
	if err := c.db.Close(); err != nil {
		return fmt.Errorf("close catalog: %w", err)
	}
	return nil
}

const selectStockists = `SELECT p.site, p.machine_id
	FROM machine_products p LEFT JOIN machines m ON m.site = p.site AND m.machine_id = p.machine_id
	WHERE p.product_id = ? AND coalesce(m.status, '') <> 'DECOMMISSIONED'
	ORDER BY p.site, p.machine_id`

// Stockists implements Catalog.
func (c *SQLiteCatalog) Stockists(ctx context.Context, productID string) ([]Stockist, error) {
	rows, err := c.db.QueryContext(ctx, selectStockists, productID)
	if err != nil {
		return nil, fmt.Errorf("query stockists: %w", err)
	}
	defer rows.Close()
	var out []Stockist
	for rows.Next() {
		var s Stockist
		if err := rows.Scan(&s.Site, &s.MachineID); err != nil {
			return nil, fmt.Errorf("query stockists: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query stockists: %w", err)
	}
	return out, nil
}
