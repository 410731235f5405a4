package readmodel

import (
	"context"
	"fmt"
)

// Stockist is a machine, at a site, that stocks a product.
type Stockist struct {
	Site      string
	MachineID string
}

// Stockists returns the machines (not decommissioned) that stock productID,
// ordered by site then machine; none is not an error.
func (s *Store) Stockists(ctx context.Context, productID string) ([]Stockist, error) {
	rows, err := s.db.Query(ctx, `SELECT p.site, p.machine_id FROM machine_products p
		LEFT JOIN machines m ON m.site = p.site AND m.machine_id = p.machine_id
		WHERE p.product_id = ? AND COALESCE(m.status, '') <> 'DECOMMISSIONED'
		ORDER BY p.site, p.machine_id`, productID)
	if err != nil {
		return nil, fmt.Errorf("stockists of %s: %w", productID, err)
	}
	defer rows.Close()
	var out []Stockist
	for rows.Next() {
		var st Stockist
		if err := rows.Scan(&st.Site, &st.MachineID); err != nil {
			return nil, fmt.Errorf("stockists of %s: %w", productID, err)
		}
		out = append(out, st)
	}
	return out, rows.Err()
}
