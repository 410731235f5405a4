package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/vendsync/vendsync/internal/edgeapi"
)

// Edge is a client of a site's edge API. It is safe for concurrent use.
type Edge struct{ *conn }

// NewEdge returns a client of the edge API at base (http://host:port, or
// host:port), signing in with creds. It returns an error when base is not
// such an address.
func NewEdge(base string, creds Credentials, o Options) (*Edge, error) {
	c, err := newConn(base, creds, o)
	if err != nil {
		return nil, err
	}
	return &Edge{c}, nil
}

func machinePath(id string) string { return "/machines/" + url.PathEscape(id) }

// Machines lists the site's machines, only those with status unless it is "".
func (e *Edge) Machines(ctx context.Context, status string) ([]edgeapi.Machine, error) {
	var out edgeapi.MachineList
	err := e.Do(ctx, http.MethodGet, "/machines"+query("status", status), nil, &out)
	return out.Machines, err
}

// MachineList lists the site's machines like Machines, with the edge's site.
func (e *Edge) MachineList(ctx context.Context, status string) (edgeapi.MachineList, error) {
	var out edgeapi.MachineList
	err := e.Do(ctx, http.MethodGet, "/machines"+query("status", status), nil, &out)
	return out, err
}

// Machine returns one machine.
func (e *Edge) Machine(ctx context.Context, id string) (edgeapi.Machine, error) {
	var out edgeapi.Machine
	err := e.Do(ctx, http.MethodGet, machinePath(id), nil, &out)
	return out, err
}

// RegisterMachine registers a machine (an *Error with code MACHINE_EXISTS
// when it is registered already).
func (e *Edge) RegisterMachine(ctx context.Context, m edgeapi.NewMachine) (edgeapi.Machine, error) {
	var out edgeapi.Machine
	err := e.Do(ctx, http.MethodPost, "/machines", m, &out)
	return out, err
}

// AddProduct stocks a product on a machine (an *Error with code
// PRODUCT_EXISTS when it is there already).
func (e *Edge) AddProduct(ctx context.Context, machineID string, p edgeapi.NewProduct) (edgeapi.InventoryItem, error) {
	var out edgeapi.InventoryItem
	err := e.Do(ctx, http.MethodPost, machinePath(machineID)+"/products", p, &out)
	return out, err
}

// PatchProduct changes a machine's product; a quantity is a shelf count.
func (e *Edge) PatchProduct(ctx context.Context, machineID, productID string, p edgeapi.ProductPatch) (edgeapi.InventoryItem, error) {
	var out edgeapi.InventoryItem
	err := e.Do(ctx, http.MethodPatch, machinePath(machineID)+"/products/"+url.PathEscape(productID), p, &out)
	return out, err
}

// Inventory lists a machine's products with their open alerts.
func (e *Edge) Inventory(ctx context.Context, machineID string) ([]edgeapi.InventoryItem, error) {
	var out edgeapi.Inventory
	err := e.Do(ctx, http.MethodGet, machinePath(machineID)+"/inventory", nil, &out)
	return out.Items, err
}

// Alerts lists alerts, newest first, filtered by status, type and machine
// ("" = any); limit 0 is the API's default (100).
func (e *Edge) Alerts(ctx context.Context, status, typ, machineID string, limit int) ([]edgeapi.Alert, error) {
	var out edgeapi.AlertList
	err := e.Do(ctx, http.MethodGet, "/alerts"+query("status", status, "type", typ, "machineId", machineID, "limit", itoa(limit)), nil, &out)
	return out.Alerts, err
}

// Faults lists faults, newest first ("" = any; limit 0: the API's default).
func (e *Edge) Faults(ctx context.Context, status, machineID string, limit int) ([]edgeapi.Fault, error) {
	var out edgeapi.FaultList
	err := e.Do(ctx, http.MethodGet, "/faults"+query("status", status, "machineId", machineID, "limit", itoa(limit)), nil, &out)
	return out.Faults, err
}

// Sale records a sale, with its transaction id as the Idempotency-Key: a
// replay answers the first result again, with Replayed set.
func (e *Edge) Sale(ctx context.Context, s edgeapi.Sale) (edgeapi.SaleResult, error) {
	var out edgeapi.SaleResult
	ans, err := e.do(ctx, http.MethodPost, "/events/sales", s, &out, "Idempotency-Key", s.TransactionID)
	// An edge that answers a replay 200 instead of 201 says so too.
	out.Replayed = err == nil && (ans.replayed() || ans.status == http.StatusOK)
	return out, err
}

// Batch records many sales, each on its own: the answer says per event
// whether it was accepted, a duplicate or rejected (and why).
func (e *Edge) Batch(ctx context.Context, sales []edgeapi.Sale) (edgeapi.BatchAnswer, error) {
	var out edgeapi.BatchAnswer
	err := e.Do(ctx, http.MethodPost, "/events/batch", edgeapi.Batch{Events: sales}, &out)
	return out, err
}

// Telemetry records a machine's reading.
func (e *Edge) Telemetry(ctx context.Context, t edgeapi.Telemetry) error {
	return e.Do(ctx, http.MethodPost, "/events/telemetry", t, nil)
}

// ReportFault opens a fault; with an idempotency key ("" = none) a retried
// report answers with the first fault instead of opening another.
func (e *Edge) ReportFault(ctx context.Context, f edgeapi.NewFault, idemKey string) (edgeapi.Fault, error) {
	var out edgeapi.Fault
	var h []string
	if idemKey != "" {
		h = []string{"Idempotency-Key", idemKey}
	}
	err := e.Do(ctx, http.MethodPost, "/events/faults", f, &out, h...)
	return out, err
}

// SetFaultStatus moves a fault to OPEN, IN_PROGRESS or RESOLVED.
func (e *Edge) SetFaultStatus(ctx context.Context, id int64, status string) (edgeapi.Fault, error) {
	var out edgeapi.Fault
	err := e.Do(ctx, http.MethodPatch, "/faults/"+strconv.FormatInt(id, 10), edgeapi.FaultPatch{Status: status}, &out)
	return out, err
}

// Restock records a driver's visit to a machine. A replayed MovementID
// answers the first result again, with Replayed set.
func (e *Edge) Restock(ctx context.Context, machineID string, r edgeapi.Restock) (edgeapi.RestockResult, error) {
	var out edgeapi.RestockResult
	ans, err := e.do(ctx, http.MethodPost, machinePath(machineID)+"/restock", r, &out)
	out.Replayed = err == nil && ans.replayed()
	return out, err
}

// Sales reads the site's sales aggregates.
func (e *Edge) Sales(ctx context.Context, q edgeapi.SalesQuery) (edgeapi.SalesAnswer, error) {
	var out edgeapi.SalesAnswer
	err := e.Do(ctx, http.MethodGet, "/aggregations/sales"+query("groupBy", q.GroupBy, "window", q.Window, "from", q.From, "to", q.To), nil, &out)
	return out, err
}

// Sync reads the site's outbox depth and link to central.
func (e *Edge) Sync(ctx context.Context) (edgeapi.SyncState, error) {
	var out edgeapi.SyncState
	err := e.Do(ctx, http.MethodGet, "/sync", nil, &out)
	return out, err
}
