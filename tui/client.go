package tui

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"time"

	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/hqapi"
)

// Client is everything the driver app asks of central and of the site's edge.
type Client interface {
	// Candidates is the driver's route from central (GET /routes/candidates).
	Candidates(ctx context.Context) ([]hqapi.Candidate, error)
	// Machines lists the site's active machines and names the edge's site
	// (edge GET /machines).
	Machines(ctx context.Context) (edgeapi.MachineList, error)
	// Inventory lists a machine's products (edge GET /machines/{id}/inventory).
	Inventory(ctx context.Context, machineID string) ([]edgeapi.InventoryItem, error)
	// OpenAlerts lists the site's open alerts (edge GET /alerts?status=OPEN).
	OpenAlerts(ctx context.Context) ([]edgeapi.Alert, error)
	// Restock records a visit (edge POST /machines/{id}/restock).
	Restock(ctx context.Context, r Restock) (edgeapi.RestockResult, error)
}

// Restock is one visit to one machine as the app queues it: the body of
// the edge's restock request and the machine it is for. MovementID is its
// idempotency key; SiteID binds it to the site where it was recorded and
// PerformedAt says when.
type Restock struct {
	MachineID string `json:"-"`
	edgeapi.Restock
}

// HTTPClient is the Client over central's and the edge's HTTP APIs
// (internal/client), each signed in to with its own credentials.
type HTTPClient struct {
	// Now is the clock tokens expire by (default time.Now).
	Now func() time.Time

	hq           *client.HQ
	edge         *client.Edge
	hqErr, edErr error
}

var _ Client = (*HTTPClient)(nil)

// NewHTTPClient returns a client for the two base URLs (http://host:port
// or host:port; "" for one the app does without), signing in to each with
// its own credentials. A URL that is not an address makes every call to
// that API fail with the reason.
func NewHTTPClient(central, edge string, centralCreds, edgeCreds client.Credentials, timeout time.Duration, tlsConf *tls.Config) *HTTPClient {
	c := &HTTPClient{Now: time.Now}
	o := client.Options{HTTP: &http.Client{Timeout: timeout}, Now: func() time.Time { return c.Now() }, TLS: tlsConf}
	if central == "" {
		c.hqErr = fmt.Errorf("no central URL configured: %w", client.ErrUnreachable)
	} else if c.hq, c.hqErr = client.NewHQ(central, centralCreds, o); c.hqErr != nil {
		c.hqErr = fmt.Errorf("central: %w", c.hqErr)
	}
	if edge == "" {
		c.edErr = fmt.Errorf("no edge URL configured: %w", client.ErrUnreachable)
	} else if c.edge, c.edErr = client.NewEdge(edge, edgeCreds, o); c.edErr != nil {
		c.edErr = fmt.Errorf("edge: %w", c.edErr)
	}
	return c
}

// Candidates implements Client.
func (c *HTTPClient) Candidates(ctx context.Context) ([]hqapi.Candidate, error) {
	if c.hqErr != nil {
		return nil, c.hqErr
	}
	return c.hq.RouteCandidates(ctx)
}

// Machines implements Client.
func (c *HTTPClient) Machines(ctx context.Context) (edgeapi.MachineList, error) {
	if c.edErr != nil {
		return edgeapi.MachineList{}, c.edErr
	}
	return c.edge.MachineList(ctx, "ACTIVE")
}

// Inventory implements Client.
func (c *HTTPClient) Inventory(ctx context.Context, machineID string) ([]edgeapi.InventoryItem, error) {
	if c.edErr != nil {
		return nil, c.edErr
	}
	return c.edge.Inventory(ctx, machineID)
}

// OpenAlerts implements Client.
func (c *HTTPClient) OpenAlerts(ctx context.Context) ([]edgeapi.Alert, error) {
	if c.edErr != nil {
		return nil, c.edErr
	}
	return c.edge.Alerts(ctx, "OPEN", "", "", 1000)
}

// Restock implements Client.
func (c *HTTPClient) Restock(ctx context.Context, r Restock) (edgeapi.RestockResult, error) {
	if c.edErr != nil {
		return edgeapi.RestockResult{}, c.edErr
	}
	return c.edge.Restock(ctx, r.MachineID, r.Restock)
}
