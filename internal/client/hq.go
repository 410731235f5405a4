package client

import (
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/vendsync/vendsync/internal/hqapi"
)

// HQ is a client of central's HQ API. It is safe for concurrent use.
type HQ struct{ *conn }

// NewHQ returns a client of the HQ API at base (http://host:port, or
// host:port), signing in with creds. It returns an error when base is not
// such an address.
func NewHQ(base string, creds Credentials, o Options) (*HQ, error) {
	c, err := newConn(base, creds, o)
	if err != nil {
		return nil, err
	}
	return &HQ{c}, nil
}

// Sales reads sales totals per group and bucket, with every covered site's
// freshness.
func (h *HQ) Sales(ctx context.Context, q hqapi.SalesQuery) (hqapi.SalesAnswer, error) {
	var out hqapi.SalesAnswer
	err := h.Do(ctx, http.MethodGet, "/aggregations/sales"+query("groupBy", q.GroupBy, "window", q.Window, "from", q.From, "to", q.To,
		"city", q.City, "siteId", q.SiteID), nil, &out)
	return out, err
}

// TopProducts ranks products by revenue or quantity.
func (h *HQ) TopProducts(ctx context.Context, q hqapi.TopQuery) (hqapi.TopAnswer, error) {
	var out hqapi.TopAnswer
	err := h.Do(ctx, http.MethodGet, "/aggregations/products/top"+query("n", itoa(q.N), "by", q.By, "from", q.From, "to", q.To,
		"city", q.City, "siteId", q.SiteID), nil, &out)
	return out, err
}

// Faults lists faults, newest first.
func (h *HQ) Faults(ctx context.Context, q hqapi.FaultQuery) ([]hqapi.Fault, error) {
	var out hqapi.FaultList
	err := h.Do(ctx, http.MethodGet, "/faults"+query("status", q.Status, "city", q.City, "siteId", q.SiteID, "machineId", q.MachineID,
		"limit", itoa(q.Limit)), nil, &out)
	return out.Faults, err
}

// Alerts lists alerts, newest first.
func (h *HQ) Alerts(ctx context.Context, q hqapi.AlertQuery) ([]hqapi.Alert, error) {
	var out hqapi.AlertList
	err := h.Do(ctx, http.MethodGet, "/alerts"+query("status", q.Status, "type", q.Type, "city", q.City, "siteId", q.SiteID,
		"machineId", q.MachineID, "limit", itoa(q.Limit)), nil, &out)
	return out.Alerts, err
}

// Sites lists every site's sync state at the answering node, registered
// sites that never synced included.
func (h *HQ) Sites(ctx context.Context) ([]hqapi.Freshness, error) {
	var out hqapi.FreshnessList
	err := h.Do(ctx, http.MethodGet, "/sites", nil, &out)
	return out.Sites, err
}

// Site reads one site's sync state (an *Error with status 404 when the
// node has received nothing from it).
func (h *HQ) Site(ctx context.Context, id string) (hqapi.Freshness, error) {
	var out hqapi.Freshness
	err := h.Do(ctx, http.MethodGet, "/sites/"+url.PathEscape(id), nil, &out)
	return out, err
}

// Machine reads machine id of site as last synced from that site. A
// machine is identified by its site and its id: with site "", central finds
// it at whichever site has it, and answers an *Error with status 409
// (AMBIGUOUS_MACHINE) when more than one does.
func (h *HQ) Machine(ctx context.Context, site, id string) (hqapi.Machine, error) {
	var out hqapi.Machine
	path := "/machines/" + url.PathEscape(id)
	if site != "" {
		path += "?" + url.Values{"siteId": {site}}.Encode()
	}
	err := h.Do(ctx, http.MethodGet, path, nil, &out)
	return out, err
}

// RouteCandidates is a driver's route: every site with a reason to be
// visited, most urgent first.
func (h *HQ) RouteCandidates(ctx context.Context) ([]hqapi.Candidate, error) {
	var out hqapi.CandidateList
	err := h.Do(ctx, http.MethodGet, "/routes/candidates", nil, &out)
	return out.Candidates, err
}

// Report reads the daily (period YYYY-MM-DD) or monthly (YYYY-MM) report.
func (h *HQ) Report(ctx context.Context, kind, period string) (hqapi.Report, error) {
	param := "date"
	if kind == "monthly" {
		param = "month"
	}
	var out hqapi.Report
	err := h.Do(ctx, http.MethodGet, "/reports/"+url.PathEscape(kind)+query(param, period), nil, &out)
	return out, err
}

// Export streams an export to w as central writes it, calling progress
// (if set) with the bytes received so far, and returns the bytes written.
func (h *HQ) Export(ctx context.Context, req hqapi.ExportRequest, w io.Writer, progress func(int64)) (int64, error) {
	return h.stream(ctx, http.MethodPost, "/reports/export", req, w, progress)
}

// RegisterSite registers a site (or, with Rotate, gives it a new key) and
// returns its leaf seed, which central shows only this once. A registered
// site without Rotate is an *Error with code SITE_EXISTS.
func (h *HQ) RegisterSite(ctx context.Context, s hqapi.NewSite) (hqapi.RegisteredSite, error) {
	var out hqapi.RegisteredSite
	err := h.Do(ctx, http.MethodPost, "/sites", s, &out)
	return out, err
}

// Registry lists every registered site, revoked ones included.
func (h *HQ) Registry(ctx context.Context) ([]hqapi.Site, error) {
	var out hqapi.SiteList
	err := h.Do(ctx, http.MethodGet, "/sites/registry", nil, &out)
	return out.Sites, err
}

// RevokeSite disconnects a site on every node and refuses it from now on.
func (h *HQ) RevokeSite(ctx context.Context, id string) (hqapi.Site, error) {
	var out hqapi.Site
	err := h.Do(ctx, http.MethodDelete, "/sites/"+url.PathEscape(id), nil, &out)
	return out, err
}

// SiteSnapshot returns what central holds of a site (GET
// /sites/{id}/snapshot, ADMIN), for rebuilding it on a new box. A node still
// catching up answers an *Error with code CATCHING_UP.
func (h *HQ) SiteSnapshot(ctx context.Context, id string) (hqapi.SiteSnapshot, error) {
	var out hqapi.SiteSnapshot
	err := h.Do(ctx, http.MethodGet, "/sites/"+url.PathEscape(id)+"/snapshot", nil, &out)
	return out, err
}
