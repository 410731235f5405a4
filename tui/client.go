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
	// PostVisit records the proof of service of one machine (edge POST
	// /machines/{id}/visits).
	PostVisit(ctx context.Context, machineID string, v edgeapi.VisitIn) (edgeapi.Visit, error)
	// PostCashCollection records cash collected (edge POST
	// /machines/{id}/cash-collections).
	PostCashCollection(ctx context.Context, machineID string, c edgeapi.CashIn) (edgeapi.CashCollection, error)
	// UploadDEX sends a machine's DEX audit file (edge POST /machines/{id}/dex).
	UploadDEX(ctx context.Context, machineID string, raw []byte) (edgeapi.DEXRead, error)
}

// Restock is one piece of work at one machine as the app queues it: the
// body of the edge's restock request and the machine it is for, or, when
// Visit, Cash or DEX is set, a visit record, a cash collection or a DEX
// file instead. MovementID is its idempotency key (the visit's or the
// collection's id for those); SiteID binds it to the site where it was
// recorded and PerformedAt says when.
type Restock struct {
	MachineID string `json:"-"`
	edgeapi.Restock
	Visit *edgeapi.VisitIn `json:"visit,omitempty"`
	Cash  *edgeapi.CashIn  `json:"cash,omitempty"`
	DEX   []byte           `json:"dex,omitempty"`
}

// Kind says what the entry records, in words.
func (r Restock) Kind() string {
	switch {
	case r.Visit != nil:
		return "visit"
	case r.Cash != nil:
		return "cash"
	case r.DEX != nil:
		return "DEX"
	}
	return "restock"
}

// deliver sends r to its edge through c, whatever it records.
func deliverOne(ctx context.Context, c Client, r Restock) (*edgeapi.RestockResult, error) {
	switch {
	case r.Visit != nil:
		_, err := c.PostVisit(ctx, r.MachineID, *r.Visit)
		return nil, err
	case r.Cash != nil:
		_, err := c.PostCashCollection(ctx, r.MachineID, *r.Cash)
		return nil, err
	case r.DEX != nil:
		_, err := c.UploadDEX(ctx, r.MachineID, r.DEX)
		return nil, err
	}
	res, err := c.Restock(ctx, r)
	return &res, err
}

// HTTPClient is the Client over central's and the edge's HTTP APIs
// (internal/client), each signed in to with its own credentials.
type HTTPClient struct {
	// Now is the clock tokens expire by (default time.Now).
	Now func() time.Time

	hq           *client.HQ
	edge         *client.Edge
	hqErr, edErr error
	opts         client.Options
}

var _ Client = (*HTTPClient)(nil)

// NewHTTPClient returns a client for the two base URLs (http://host:port
// or host:port; "" for one the app does without), signing in to each with
// its own credentials. A URL that is not an address makes every call to
// that API fail with the reason.
func NewHTTPClient(central, edge string, centralCreds, edgeCreds client.Credentials, timeout time.Duration, tlsConf *tls.Config) *HTTPClient {
	c := &HTTPClient{Now: time.Now}
	o := client.Options{HTTP: &http.Client{Timeout: timeout}, Now: func() time.Time { return c.Now() }, TLS: tlsConf}
	c.opts = o
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

// ForEdge returns a client of the same central (sharing its sign-in) and
// of another edge, signing in there with creds: the app's move to another
// site of the route.
func (c *HTTPClient) ForEdge(edge string, creds client.Credentials) *HTTPClient {
	n := &HTTPClient{Now: c.Now, hq: c.hq, hqErr: c.hqErr, opts: c.opts}
	o := c.opts
	o.Now = func() time.Time { return n.Now() }
	if edge == "" {
		n.edErr = fmt.Errorf("no edge URL configured: %w", client.ErrUnreachable)
	} else if n.edge, n.edErr = client.NewEdge(edge, creds, o); n.edErr != nil {
		n.edErr = fmt.Errorf("edge: %w", n.edErr)
	}
	return n
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

// PostVisit implements Client.
func (c *HTTPClient) PostVisit(ctx context.Context, machineID string, v edgeapi.VisitIn) (edgeapi.Visit, error) {
	if c.edErr != nil {
		return edgeapi.Visit{}, c.edErr
	}
	return c.edge.PostVisit(ctx, machineID, v)
}

// PostCashCollection implements Client.
func (c *HTTPClient) PostCashCollection(ctx context.Context, machineID string, in edgeapi.CashIn) (edgeapi.CashCollection, error) {
	if c.edErr != nil {
		return edgeapi.CashCollection{}, c.edErr
	}
	return c.edge.PostCashCollection(ctx, machineID, in)
}

// UploadDEX implements Client.
func (c *HTTPClient) UploadDEX(ctx context.Context, machineID string, raw []byte) (edgeapi.DEXRead, error) {
	if c.edErr != nil {
		return edgeapi.DEXRead{}, c.edErr
	}
	return c.edge.UploadDEX(ctx, machineID, raw)
}
