package tui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/vendsync/vendsync/central/route"
)

// Client is everything the driver app asks of central and of the site's edge.
type Client interface {
	// Candidates is the driver's route from central (GET /routes/candidates).
	Candidates(ctx context.Context) ([]route.Candidate, error)
	// Machines lists the site's machines (edge GET /machines).
	Machines(ctx context.Context) ([]Machine, error)
	// Inventory lists a machine's products (edge GET /machines/{id}/inventory).
	Inventory(ctx context.Context, machineID string) ([]Item, error)
	// OpenAlerts lists the site's open alerts (edge GET /alerts?status=OPEN).
	OpenAlerts(ctx context.Context) ([]Alert, error)
	// Restock records a visit (edge POST /machines/{id}/restock).
	Restock(ctx context.Context, r Restock) (RestockResult, error)
}

// Machine is a machine as the edge reports it.
type Machine struct {
	MachineID string `json:"machineId"`
	Location  struct {
		City     string `json:"city"`
		Building string `json:"building"`
	} `json:"location"`
	Status string `json:"status"`
}

// Item is one product of a machine as the edge reports it.
type Item struct {
	ProductID     string      `json:"productId"`
	Name          string      `json:"name"`
	Quantity      int64       `json:"quantity"`
	ExpiryDate    string      `json:"expiryDate,omitempty"`
	LowStockLimit int64       `json:"lowStockLimit"`
	ParLevel      int64       `json:"parLevel"`
	CasePack      int64       `json:"casePack,omitempty"`
	OpenAlerts    []string    `json:"openAlerts"`
	Price         json.Number `json:"price"`
}

// Alert is an open alert at the edge.
type Alert struct {
	AlertID   int64  `json:"alertId"`
	MachineID string `json:"machineId"`
	ProductID string `json:"productId"`
	Type      string `json:"type"`
}

// RestockLine is what the driver did to one product.
type RestockLine struct {
	ProductID       string `json:"productId"`
	Added           int64  `json:"added,omitempty"`
	RemovedExpired  int64  `json:"removedExpired,omitempty"`
	RemovedDamaged  int64  `json:"removedDamaged,omitempty"`
	CountedQuantity *int64 `json:"countedQuantity,omitempty"`
	ExpiryDate      string `json:"expiryDate,omitempty"`
}

// Restock is one visit to one machine; MovementID is its idempotency key.
type Restock struct {
	MovementID string        `json:"movementId"`
	MachineID  string        `json:"-"`
	Items      []RestockLine `json:"items"`
}

// RestockResult is the edge's answer to a restock.
type RestockResult struct {
	MovementID string `json:"movementId"`
	Lines      []struct {
		ProductID string `json:"productId"`
		Reason    string `json:"reason"`
		Delta     int64  `json:"delta"`
		After     int64  `json:"after"`
	} `json:"lines"`
	Replayed bool `json:"-"`
}

// ErrUnreachable is wrapped by every error of a request that got no answer
// (connection refused, timeout): the request may be retried.
var ErrUnreachable = errors.New("unreachable")

// APIError is an error answer of the API.
type APIError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *APIError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s (%s): %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Retryable reports whether err may succeed if the same request is sent
// again later: no answer, or a server-side failure.
func Retryable(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status >= 500 || ae.Status == http.StatusTooManyRequests
	}
	return errors.Is(err, ErrUnreachable)
}

// Credentials are a DRIVER client's credentials.
type Credentials struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// HTTPClient is the Client over central's and the edge's HTTP APIs. It gets
// a token from each with POST /auth/token and reuses it until it expires.
type HTTPClient struct {
	Central, Edge           string
	CentralCreds, EdgeCreds Credentials
	HTTP                    *http.Client
	Now                     func() time.Time

	mu     sync.Mutex
	tokens map[string]token
}

type token struct {
	value   string
	expires time.Time
}

var _ Client = (*HTTPClient)(nil)

// NewHTTPClient returns a client for the two base URLs, signing in to each
// with its own credentials.
func NewHTTPClient(central, edge string, centralCreds, edgeCreds Credentials, timeout time.Duration) *HTTPClient {
	return &HTTPClient{Central: strings.TrimRight(central, "/"), Edge: strings.TrimRight(edge, "/"), CentralCreds: centralCreds, EdgeCreds: edgeCreds,
		HTTP: &http.Client{Timeout: timeout}, Now: time.Now, tokens: map[string]token{}}
}

func (c *HTTPClient) token(ctx context.Context, base string) (string, error) {
	c.mu.Lock()
	t, ok := c.tokens[base]
	c.mu.Unlock()
	if ok && c.Now().Before(t.expires) {
		return t.value, nil
	}
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	creds := c.EdgeCreds
	if base == c.Central {
		creds = c.CentralCreds
	}
	body := map[string]string{"client_id": creds.ClientID, "client_secret": creds.ClientSecret, "grant_type": "client_credentials"}
	if _, err := c.send(ctx, base, "POST", "/auth/token", "", body, &out); err != nil {
		return "", fmt.Errorf("sign in: %w", err)
	}
	// Renew a little early so a token never expires in flight.
	life := time.Duration(out.ExpiresIn)*time.Second - 30*time.Second
	c.mu.Lock()
	c.tokens[base] = token{value: out.AccessToken, expires: c.Now().Add(life)}
	c.mu.Unlock()
	return out.AccessToken, nil
}

func (c *HTTPClient) do(ctx context.Context, base, method, path string, in, out any) (http.Header, error) {
	if base == "" {
		return nil, fmt.Errorf("%s %s: no URL configured: %w", method, path, ErrUnreachable)
	}
	tok, err := c.token(ctx, base)
	if err != nil {
		return nil, err
	}
	h, err := c.send(ctx, base, method, path, tok, in, out)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
		// The token was refused (expired early, key rotated): sign in again once.
		c.mu.Lock()
		delete(c.tokens, base)
		c.mu.Unlock()
		if tok, err = c.token(ctx, base); err != nil {
			return nil, err
		}
		h, err = c.send(ctx, base, method, path, tok, in, out)
	}
	return h, err
}

func (c *HTTPClient) send(ctx context.Context, base, method, path, tok string, in, out any) (http.Header, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		host := base
		if u, perr := url.Parse(base); perr == nil {
			host = u.Host
		}
		return nil, fmt.Errorf("%s %s: %w (%v)", method, host+path, ErrUnreachable, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, path, ErrUnreachable)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error *APIError `json:"error"`
		}
		if json.Unmarshal(b, &e) != nil || e.Error == nil {
			e.Error = &APIError{Code: http.StatusText(resp.StatusCode), Message: strings.TrimSpace(string(b))}
		}
		e.Error.Status = resp.StatusCode
		return nil, e.Error
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return nil, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return resp.Header, nil
}

// Candidates implements Client: central's GET /routes/candidates, or, when
// central does not have it, route.Candidates over its query API.
func (c *HTTPClient) Candidates(ctx context.Context) ([]route.Candidate, error) {
	var out struct {
		Candidates []route.Candidate `json:"candidates"`
	}
	_, err := c.do(ctx, c.Central, "GET", "/routes/candidates", nil, &out)
	var ae *APIError
	if errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.Status == http.StatusMethodNotAllowed) {
		// A central without the route endpoint: rank the route here from
		// its query API.
		return route.Candidates(ctx, centralSource{c})
	}
	return out.Candidates, err
}

// Machines implements Client.
func (c *HTTPClient) Machines(ctx context.Context) ([]Machine, error) {
	var out struct {
		Machines []Machine `json:"machines"`
	}
	_, err := c.do(ctx, c.Edge, "GET", "/machines?status=ACTIVE", nil, &out)
	return out.Machines, err
}

// Inventory implements Client.
func (c *HTTPClient) Inventory(ctx context.Context, machineID string) ([]Item, error) {
	var out struct {
		Items []Item `json:"items"`
	}
	_, err := c.do(ctx, c.Edge, "GET", "/machines/"+url.PathEscape(machineID)+"/inventory", nil, &out)
	return out.Items, err
}

// OpenAlerts implements Client.
func (c *HTTPClient) OpenAlerts(ctx context.Context) ([]Alert, error) {
	var out struct {
		Alerts []Alert `json:"alerts"`
	}
	_, err := c.do(ctx, c.Edge, "GET", "/alerts?status=OPEN&limit=1000", nil, &out)
	return out.Alerts, err
}

// Restock implements Client.
func (c *HTTPClient) Restock(ctx context.Context, r Restock) (RestockResult, error) {
	var out RestockResult
	h, err := c.do(ctx, c.Edge, "POST", "/machines/"+url.PathEscape(r.MachineID)+"/restock", r, &out)
	if err != nil {
		return out, err
	}
	out.Replayed = h.Get("Idempotent-Replayed") == "true"
	return out, nil
}
