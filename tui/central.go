package tui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/central/route"
)

// centralSource is route.Source over central's query API (GET /sites,
// GET /alerts, GET /machines/{id}). It ranks the route on the driver's
// machine when central has no GET /routes/candidates.
type centralSource struct{ c *HTTPClient }

var _ route.Source = centralSource{}

func (s centralSource) Sites(ctx context.Context) ([]readmodel.Freshness, error) {
	var out struct {
		Sites []struct {
			SiteID      string     `json:"siteId"`
			Known       bool       `json:"known"`
			Timezone    string     `json:"timezone"`
			LastContact *time.Time `json:"lastContact"`
		} `json:"sites"`
	}
	if _, err := s.c.do(ctx, s.c.Central, "GET", "/sites", nil, &out); err != nil {
		return nil, err
	}
	fs := make([]readmodel.Freshness, 0, len(out.Sites))
	for _, x := range out.Sites {
		f := readmodel.Freshness{Site: x.SiteID, Known: x.Known, TZ: x.Timezone}
		if x.LastContact != nil {
			f.LastContact = *x.LastContact
		}
		fs = append(fs, f)
	}
	return fs, nil
}

func (s centralSource) Alerts(ctx context.Context, f readmodel.AlertFilter) ([]readmodel.Alert, error) {
	q := url.Values{"limit": {"1000"}}
	if f.Status != "" {
		q.Set("status", f.Status)
	}
	var out struct {
		Alerts []struct {
			SiteID    string    `json:"siteId"`
			AlertID   int64     `json:"alertId"`
			MachineID string    `json:"machineId"`
			City      string    `json:"city"`
			ProductID string    `json:"productId"`
			Type      string    `json:"type"`
			Status    string    `json:"status"`
			Detail    string    `json:"detail"`
			OpenedAt  time.Time `json:"openedAt"`
		} `json:"alerts"`
	}
	if _, err := s.c.do(ctx, s.c.Central, "GET", "/alerts?"+q.Encode(), nil, &out); err != nil {
		return nil, err
	}
	as := make([]readmodel.Alert, 0, len(out.Alerts))
	for _, a := range out.Alerts {
		as = append(as, readmodel.Alert{Site: a.SiteID, AlertID: a.AlertID, MachineID: a.MachineID, City: a.City, ProductID: a.ProductID,
			Type: a.Type, Status: a.Status, Detail: a.Detail, OpenedAt: a.OpenedAt})
	}
	return as, nil
}

func (s centralSource) Machine(ctx context.Context, id string) (readmodel.Machine, error) {
	var out struct {
		MachineID string `json:"machineId"`
		SiteID    string `json:"siteId"`
		Location  struct {
			City     string `json:"city"`
			Building string `json:"building"`
		} `json:"location"`
		Status   string `json:"status"`
		Products []struct {
			ProductID     string `json:"productId"`
			Name          string `json:"name"`
			Quantity      int64  `json:"quantity"`
			ExpiryDate    string `json:"expiryDate"`
			LowStockLimit int64  `json:"lowStockLimit"`
			ParLevel      *int64 `json:"parLevel"`
			CasePack      int64  `json:"casePack"`
		} `json:"products"`
	}
	_, err := s.c.do(ctx, s.c.Central, "GET", "/machines/"+url.PathEscape(id), nil, &out)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return readmodel.Machine{}, fmt.Errorf("machine %s: %w", id, readmodel.ErrNotFound)
	}
	if err != nil {
		return readmodel.Machine{}, err
	}
	m := readmodel.Machine{Site: out.SiteID, MachineID: out.MachineID, City: out.Location.City, Building: out.Location.Building, Status: out.Status}
	for _, p := range out.Products {
		m.Products = append(m.Products, readmodel.MachineProduct{ProductID: p.ProductID, Name: p.Name, Quantity: p.Quantity,
			ExpiryDate: p.ExpiryDate, LowStockLimit: p.LowStockLimit, ParLevel: p.ParLevel, CasePack: p.CasePack})
	}
	return m, nil
}
