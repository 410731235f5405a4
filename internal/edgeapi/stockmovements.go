package edgeapi

import "time"

// StockMovement is one movement of a machine's stock at the site (GET
// /stock-movements): a restock line (restock, expired, damaged,
// count_adjustment) or a sale. Quantity is signed; After is the slot's
// count after a restock line.
type StockMovement struct {
	Key         string    `json:"key"`
	MachineID   string    `json:"machineId"`
	ProductID   string    `json:"productId"`
	Type        string    `json:"type"`
	Quantity    int64     `json:"quantity"`
	After       *int64    `json:"after,omitempty"`
	PerformedBy string    `json:"performedBy"`
	PerformedAt time.Time `json:"performedAt"`
	VanID       string    `json:"vanId,omitempty"`
	Sequence    uint64    `json:"sequence"`
}

// StockMovementList is the answer of GET /stock-movements; NextOffset is
// set when more rows follow.
type StockMovementList struct {
	Movements  []StockMovement `json:"movements"`
	NextOffset *int            `json:"nextOffset,omitempty"`
}

// StockMovementQuery filters GET /stock-movements: machineId, productId,
// type, from and to (RFC 3339 or YYYY-MM-DD), limit, offset.
type StockMovementQuery struct {
	MachineID, ProductID, Type, From, To string
	Limit, Offset                        int
}
