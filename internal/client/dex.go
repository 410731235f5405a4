package client

import (
	"context"
	"net/http"
	"time"

	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/hqapi"
)

// UploadDEX sends a machine's raw DEX/UCS audit file (text/plain) to the
// edge, which parses it, stores it and reconciles it against the previous
// read. Sending the same file again answers the first result with Replayed
// set. A file the edge cannot parse is an *Error with code INVALID_DEX
// whose message names the line and field.
func (e *Edge) UploadDEX(ctx context.Context, machineID string, raw []byte) (edgeapi.DEXRead, error) {
	var out edgeapi.DEXRead
	ans, err := e.sendRaw(ctx, http.MethodPost, machinePath(machineID)+"/dex", "text/plain; charset=us-ascii", raw, &out)
	out.Replayed = err == nil && ans.replayed()
	return out, err
}

// UploadDEXAt is UploadDEX for a file read at readAt (the edge otherwise
// takes the file's own EA3 read time, or the time of upload).
func (e *Edge) UploadDEXAt(ctx context.Context, machineID string, raw []byte, readAt time.Time) (edgeapi.DEXRead, error) {
	var out edgeapi.DEXRead
	path := machinePath(machineID) + "/dex" + query("readAt", readAt.UTC().Format(time.RFC3339Nano))
	ans, err := e.sendRaw(ctx, http.MethodPost, path, "text/plain; charset=us-ascii", raw, &out)
	out.Replayed = err == nil && ans.replayed()
	return out, err
}

// Reconciliations lists the site's DEX reconciliations, newest first.
func (e *Edge) Reconciliations(ctx context.Context, q edgeapi.ReconciliationQuery) ([]edgeapi.Reconciliation, error) {
	var out edgeapi.ReconciliationList
	err := e.Do(ctx, http.MethodGet, "/reconciliations"+query("machineId", q.MachineID, "from", q.From, "to", q.To,
		"limit", itoa(q.Limit)), nil, &out)
	return out.Reconciliations, err
}

// PostVisit records a driver's visit to a machine. A replayed VisitID
// answers the first result with Replayed set; the same VisitID with
// another body is an *Error with status 409.
func (e *Edge) PostVisit(ctx context.Context, machineID string, v edgeapi.VisitIn) (edgeapi.Visit, error) {
	var out edgeapi.Visit
	ans, err := e.do(ctx, http.MethodPost, machinePath(machineID)+"/visits", v, &out, "Idempotency-Key", v.VisitID)
	out.Replayed = err == nil && ans.replayed()
	return out, err
}

// PostCashCollection records the cash a driver collected from a machine
// and answers with what was expected (from DEX and from the ledger). A
// replayed CollectionID answers the first result with Replayed set; the
// same CollectionID with another body is an *Error with status 409.
func (e *Edge) PostCashCollection(ctx context.Context, machineID string, c edgeapi.CashIn) (edgeapi.CashCollection, error) {
	var out edgeapi.CashCollection
	ans, err := e.do(ctx, http.MethodPost, machinePath(machineID)+"/cash-collections", c, &out, "Idempotency-Key", c.CollectionID)
	out.Replayed = err == nil && ans.replayed()
	return out, err
}

// ReconciliationReport reads the DEX reconciliation report (FINANCE or
// ADMIN).
func (h *HQ) ReconciliationReport(ctx context.Context, q hqapi.ReconciliationQuery) (hqapi.ReconciliationReport, error) {
	var out hqapi.ReconciliationReport
	err := h.Do(ctx, http.MethodGet, "/reports/reconciliation"+query("groupBy", q.GroupBy, "siteId", q.SiteID,
		"from", q.From, "to", q.To), nil, &out)
	return out, err
}

// CashReport reads the cash over/short report (FINANCE or ADMIN).
func (h *HQ) CashReport(ctx context.Context, q hqapi.CashQuery) (hqapi.CashReport, error) {
	var out hqapi.CashReport
	err := h.Do(ctx, http.MethodGet, "/reports/cash"+query("groupBy", q.GroupBy, "siteId", q.SiteID,
		"from", q.From, "to", q.To), nil, &out)
	return out, err
}

// sendRaw is do for a body that is not JSON: data is sent as it is with
// contentType, which replaces the JSON content type send sets.
func (c *conn) sendRaw(ctx context.Context, method, path, contentType string, data []byte, out any) (reply, error) {
	return c.exchange(ctx, method, path, data, out, []string{"Content-Type", contentType})
}
