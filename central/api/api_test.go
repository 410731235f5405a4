package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/auth"
)

func TestAPI_RejectsBadRequests(t *testing.T) {
	c := newCentral(t)
	admin := c.Token(auth.RoleAdmin)
	tests := []struct {
		name         string
		method, path string
		body         any
		status       int
		code, field  string
	}{
		{name: "token: bad grant", method: "POST", path: "/auth/token", body: map[string]string{"client_id": "a", "client_secret": "b", "grant_type": "password"}, status: 400, code: "VALIDATION_FAILED", field: "grant_type"},
		{name: "token: no client id", method: "POST", path: "/auth/token", body: map[string]string{"client_secret": "b"}, status: 400, code: "VALIDATION_FAILED", field: "client_id"},
		{name: "token: no secret", method: "POST", path: "/auth/token", body: map[string]string{"client_id": "a"}, status: 400, code: "VALIDATION_FAILED", field: "client_secret"},
		{name: "token: unknown field", method: "POST", path: "/auth/token", body: map[string]string{"client_id": "a", "scope": "x"}, status: 400, code: "UNKNOWN_FIELD", field: "scope"},
		{name: "token: malformed", method: "POST", path: "/auth/token", body: `{"client_id":`, status: 400, code: "INVALID_JSON"},
		{name: "token: wrong secret", method: "POST", path: "/auth/token", body: map[string]string{"client_id": "hqadm_00", "client_secret": "b"}, status: 401, code: "INVALID_CLIENT", field: "client_id"},

		{name: "sales: groupBy", method: "GET", path: "/aggregations/sales?groupBy=planet", status: 400, code: "VALIDATION_FAILED", field: "groupBy"},
		{name: "sales: window", method: "GET", path: "/aggregations/sales?window=year", status: 400, code: "VALIDATION_FAILED", field: "window"},
		{name: "sales: from", method: "GET", path: "/aggregations/sales?from=yesterday", status: 400, code: "VALIDATION_FAILED", field: "from"},
		{name: "sales: to", method: "GET", path: "/aggregations/sales?to=2025-13-01", status: 400, code: "VALIDATION_FAILED", field: "to"},
		{name: "sales: empty range", method: "GET", path: "/aggregations/sales?from=2025-03-10&to=2025-03-10", status: 400, code: "VALIDATION_FAILED", field: "from"},
		{name: "sales: long hourly", method: "GET", path: "/aggregations/sales?window=hour&from=2024-01-01&to=2025-01-01", status: 400, code: "VALIDATION_FAILED", field: "window"},
		{name: "sales: siteId", method: "GET", path: "/aggregations/sales?siteId=a.b", status: 400, code: "VALIDATION_FAILED", field: "siteId"},
		{name: "top: n", method: "GET", path: "/aggregations/products/top?n=0", status: 400, code: "VALIDATION_FAILED", field: "n"},
		{name: "top: n not a number", method: "GET", path: "/aggregations/products/top?n=ten", status: 400, code: "VALIDATION_FAILED", field: "n"},
		{name: "top: by", method: "GET", path: "/aggregations/products/top?by=margin", status: 400, code: "VALIDATION_FAILED", field: "by"},
		{name: "top: under an hour", method: "GET", path: "/aggregations/products/top?from=2025-03-10T10:00:00&to=2025-03-10T10:30:00", status: 400, code: "VALIDATION_FAILED", field: "from"},

		{name: "faults: status", method: "GET", path: "/faults?status=BROKEN", status: 400, code: "VALIDATION_FAILED", field: "status"},
		{name: "faults: siteId", method: "GET", path: "/faults?siteId=hub", status: 400, code: "VALIDATION_FAILED", field: "siteId"},
		{name: "faults: limit", method: "GET", path: "/faults?limit=5000", status: 400, code: "VALIDATION_FAILED", field: "limit"},
		{name: "patch fault: no status", method: "PATCH", path: "/faults/s1/1", body: map[string]any{}, status: 400, code: "VALIDATION_FAILED", field: "status"},
		{name: "patch fault: bad status", method: "PATCH", path: "/faults/s1/1", body: map[string]any{"status": "FIXED"}, status: 400, code: "VALIDATION_FAILED", field: "status"},
		{name: "patch fault: status type", method: "PATCH", path: "/faults/s1/1", body: map[string]any{"status": 1}, status: 400, code: "INVALID_FIELD", field: "status"},
		{name: "patch fault: bad id", method: "PATCH", path: "/faults/s1/x", body: map[string]any{"status": "RESOLVED"}, status: 400, code: "VALIDATION_FAILED", field: "faultId"},
		{name: "patch fault: zero id", method: "PATCH", path: "/faults/s1/0", body: map[string]any{"status": "RESOLVED"}, status: 400, code: "VALIDATION_FAILED", field: "faultId"},
		{name: "patch fault: bad site", method: "PATCH", path: "/faults/hub/1", body: map[string]any{"status": "RESOLVED"}, status: 400, code: "VALIDATION_FAILED", field: "siteId"},
		{name: "patch fault: unknown site", method: "PATCH", path: "/faults/s9/1", body: map[string]any{"status": "RESOLVED"}, status: 404, code: "NOT_FOUND", field: "siteId"},
		{name: "patch fault: unknown field", method: "PATCH", path: "/faults/s1/1", body: map[string]any{"status": "RESOLVED", "note": "x"}, status: 400, code: "UNKNOWN_FIELD", field: "note"},

		{name: "alerts: status", method: "GET", path: "/alerts?status=OPENED", status: 400, code: "VALIDATION_FAILED", field: "status"},
		{name: "alerts: type", method: "GET", path: "/alerts?type=ON_FIRE", status: 400, code: "VALIDATION_FAILED", field: "type"},
		{name: "alerts: siteId", method: "GET", path: "/alerts?siteId=s%201", status: 400, code: "VALIDATION_FAILED", field: "siteId"},

		{name: "site: bad id", method: "GET", path: "/sites/a.b", status: 400, code: "VALIDATION_FAILED", field: "siteId"},
		{name: "site: unknown", method: "GET", path: "/sites/s9", status: 404, code: "NOT_FOUND", field: "siteId"},
		{name: "machine: unknown", method: "GET", path: "/machines/NOPE", status: 404, code: "NOT_FOUND", field: "machineId"},

		{name: "patch machine: nothing", method: "PATCH", path: "/machines/M1", body: map[string]any{}, status: 400, code: "VALIDATION_FAILED"},
		{name: "patch machine: status", method: "PATCH", path: "/machines/M1", body: map[string]any{"status": "BROKEN"}, status: 400, code: "VALIDATION_FAILED", field: "status"},
		{name: "patch machine: decommission", method: "PATCH", path: "/machines/M1", body: map[string]any{"status": "DECOMMISSIONED"}, status: 400, code: "VALIDATION_FAILED", field: "status"},
		{name: "patch machine: temperature", method: "PATCH", path: "/machines/M1", body: map[string]any{"temperatureMax": 99}, status: 400, code: "VALIDATION_FAILED", field: "temperatureMax"},
		{name: "patch machine: location", method: "PATCH", path: "/machines/M1", body: map[string]any{"location": map[string]any{"city": "X"}}, status: 400, code: "UNKNOWN_FIELD", field: "location"},
		{name: "patch machine: unknown", method: "PATCH", path: "/machines/NOPE", body: map[string]any{"status": "ACTIVE"}, status: 404, code: "NOT_FOUND", field: "machineId"},
		{name: "patch machine: decommissioned", method: "PATCH", path: "/machines/MDEC", body: map[string]any{"status": "ACTIVE"}, status: 409, code: "MACHINE_DECOMMISSIONED", field: "machineId"},

		{name: "patch product: quantity", method: "PATCH", path: "/machines/M1/products/P1", body: map[string]any{"price": 3, "quantity": 25}, status: 400, code: "STOCK_OWNED_BY_SITE", field: "quantity"},
		{name: "patch product: nothing", method: "PATCH", path: "/machines/M1/products/P1", body: map[string]any{}, status: 400, code: "VALIDATION_FAILED"},
		{name: "patch product: price decimals", method: "PATCH", path: "/machines/M1/products/P1", body: `{"price": 1.234}`, status: 400, code: "INVALID_FIELD", field: "price"},
		{name: "patch product: price string", method: "PATCH", path: "/machines/M1/products/P1", body: `{"price": "2"}`, status: 400, code: "INVALID_FIELD", field: "price"},
		{name: "patch product: negative price", method: "PATCH", path: "/machines/M1/products/P1", body: map[string]any{"price": -1}, status: 400, code: "VALIDATION_FAILED", field: "price"},
		{name: "patch product: low stock", method: "PATCH", path: "/machines/M1/products/P1", body: map[string]any{"lowStockLimit": -1}, status: 400, code: "VALIDATION_FAILED", field: "lowStockLimit"},
		{name: "patch product: par level", method: "PATCH", path: "/machines/M1/products/P1", body: map[string]any{"parLevel": 1000001}, status: 400, code: "VALIDATION_FAILED", field: "parLevel"},
		{name: "patch product: case pack", method: "PATCH", path: "/machines/M1/products/P1", body: map[string]any{"casePack": 1.5}, status: 400, code: "INVALID_FIELD", field: "casePack"},
		{name: "patch product: name", method: "PATCH", path: "/machines/M1/products/P1", body: map[string]any{"name": "  "}, status: 400, code: "VALIDATION_FAILED", field: "name"},
		{name: "patch product: expiry", method: "PATCH", path: "/machines/M1/products/P1", body: map[string]any{"expiryDate": "2025-06-01"}, status: 400, code: "UNKNOWN_FIELD", field: "expiryDate"},
		{name: "patch product: unknown machine", method: "PATCH", path: "/machines/NOPE/products/P1", body: map[string]any{"price": 3}, status: 404, code: "NOT_FOUND", field: "machineId"},
		{name: "patch product: not on machine", method: "PATCH", path: "/machines/M1/products/P9", body: map[string]any{"price": 3}, status: 404, code: "NOT_FOUND", field: "productId"},
		{name: "patch product: decommissioned", method: "PATCH", path: "/machines/MDEC/products/P1", body: map[string]any{"price": 3}, status: 409, code: "MACHINE_DECOMMISSIONED", field: "machineId"},

		{name: "catalog: nothing", method: "PUT", path: "/catalog/products/P1", body: map[string]any{}, status: 400, code: "VALIDATION_FAILED"},
		{name: "catalog: quantity", method: "PUT", path: "/catalog/products/P1", body: map[string]any{"price": 3, "quantity": 1}, status: 400, code: "UNKNOWN_FIELD", field: "quantity"},
		{name: "catalog: price", method: "PUT", path: "/catalog/products/P1", body: map[string]any{"price": 2000000}, status: 400, code: "VALIDATION_FAILED", field: "price"},
		{name: "catalog: unknown product", method: "PUT", path: "/catalog/products/NOPE", body: map[string]any{"price": 3}, status: 404, code: "NOT_FOUND", field: "productId"},

		{name: "clients: no role", method: "POST", path: "/clients", body: map[string]any{"name": "x"}, status: 400, code: "VALIDATION_FAILED", field: "role"},
		{name: "clients: machine role", method: "POST", path: "/clients", body: map[string]any{"role": "MACHINE", "name": "x"}, status: 400, code: "VALIDATION_FAILED", field: "role"},
		{name: "clients: no name", method: "POST", path: "/clients", body: map[string]any{"role": "OPS"}, status: 400, code: "VALIDATION_FAILED", field: "name"},
		{name: "clients: blank name", method: "POST", path: "/clients", body: map[string]any{"role": "OPS", "name": " "}, status: 400, code: "VALIDATION_FAILED", field: "name"},
		{name: "clients: revoke unknown", method: "DELETE", path: "/clients/hqops_nope", status: 404, code: "NOT_FOUND", field: "clientId"},
		{name: "register site: no id", method: "POST", path: "/sites", body: map[string]any{"city": "Pune"}, status: 400, code: "VALIDATION_FAILED", field: "siteId"},
		{name: "register site: bad id", method: "POST", path: "/sites", body: map[string]any{"siteId": "a.b"}, status: 400, code: "VALIDATION_FAILED", field: "siteId"},
		{name: "register site: hub id", method: "POST", path: "/sites", body: map[string]any{"siteId": "HUB"}, status: 400, code: "VALIDATION_FAILED", field: "siteId"},
		{name: "register site: timezone", method: "POST", path: "/sites", body: map[string]any{"siteId": "pune", "timezone": "Mars/Olympus"}, status: 400, code: "VALIDATION_FAILED", field: "timezone"},
		{name: "register site: lat", method: "POST", path: "/sites", body: map[string]any{"siteId": "pune", "lat": 91}, status: 400, code: "VALIDATION_FAILED", field: "lat"},
		{name: "register site: lng", method: "POST", path: "/sites", body: map[string]any{"siteId": "pune", "lng": -181}, status: 400, code: "VALIDATION_FAILED", field: "lng"},
		{name: "register site: lat type", method: "POST", path: "/sites", body: map[string]any{"siteId": "pune", "lat": "north"}, status: 400, code: "INVALID_FIELD", field: "lat"},
		{name: "revoke site: unknown", method: "DELETE", path: "/sites/nope", status: 404, code: "NOT_FOUND", field: "siteId"},
		{name: "revoke site: bad id", method: "DELETE", path: "/sites/hub", status: 400, code: "VALIDATION_FAILED", field: "siteId"},
		{name: "no route", method: "GET", path: "/nowhere", status: 404, code: "NOT_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.Do(tt.method, tt.path, admin, tt.body)
			if got, want := r.Status, tt.status; got != want {
				t.Fatalf("status = %d, want %d: %s", got, want, r.Body)
			}
			e := r.Error(t)
			if got, want := e.Code, tt.code; got != want {
				t.Fatalf("code = %q, want %q (%s)", got, want, e.Message)
			}
			if got, want := e.Field, tt.field; got != want {
				t.Fatalf("field = %q, want %q (%s)", got, want, e.Message)
			}
			if e.Message == "" {
				t.Fatal("empty message")
			}
		})
	}
	// None of them published anything.
	c.Unpublished("s1", "fault.1")
	c.Unpublished("s1", "machine.M1")
	c.Unpublished("s1", "product.M1.P1")
	c.Unpublished("s2", "product.M2.P1")
}

func TestToken_IssuesBearerTokens(t *testing.T) {
	c := newCentral(t)
	id, secret, err := c.Auth.AddClient(t.Context(), auth.RoleFinance, "finance")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		body any
	}{
		{name: "json", body: map[string]string{"client_id": id, "client_secret": secret, "grant_type": "client_credentials"}},
		{name: "json without grant type", body: map[string]string{"client_id": id, "client_secret": secret}},
		{name: "form", body: url.Values{"client_id": {id}, "client_secret": {secret}, "grant_type": {"client_credentials"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.Do("POST", "/auth/token", "", tt.body)
			if r.Status != http.StatusOK {
				t.Fatalf("status = %d: %s", r.Status, r.Body)
			}
			var tok struct {
				AccessToken string    `json:"access_token"`
				TokenType   string    `json:"token_type"`
				ExpiresIn   int       `json:"expires_in"`
				Role        auth.Role `json:"role"`
			}
			r.JSON(t, &tok)
			if tok.TokenType != "Bearer" || tok.ExpiresIn != 3600 || tok.Role != auth.RoleFinance {
				t.Fatalf("token = %+v", tok)
			}
			if got := r.Header.Get("Cache-Control"); got != "no-store" {
				t.Fatalf("Cache-Control = %q", got)
			}
			if r := c.Do("GET", "/aggregations/sales", tok.AccessToken, nil); r.Status != http.StatusOK {
				t.Fatalf("token not accepted: %d %s", r.Status, r.Body)
			}
		})
	}
	if r := c.Do("POST", "/auth/token", "", map[string]string{"client_id": id, "client_secret": secret + "x"}); r.Status != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d %s", r.Status, r.Body)
	}
}

func TestHealth_Endpoints(t *testing.T) {
	c := newCentral(t)
	tests := []struct {
		path, want string
	}{
		{"/healthz", `"status":"ok"`},
		{"/readyz", `"status":"ready"`},
		{"/metrics", "vendsync_central_http_requests_total"},
	}
	c.Do("GET", "/healthz", "", nil) // so a request is counted before /metrics
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := c.Do("GET", tt.path, "", nil)
			if r.Status != http.StatusOK {
				t.Fatalf("status = %d: %s", r.Status, r.Body)
			}
			if !strings.Contains(r.Body, tt.want) {
				t.Fatalf("body lacks %q: %.300s", tt.want, r.Body)
			}
		})
	}
}

// freshness is the freshness JSON shape.
type freshness struct {
	SiteID              string     `json:"siteId"`
	Known               bool       `json:"known"`
	Timezone            string     `json:"timezone"`
	LastEventTime       *time.Time `json:"lastEventTime"`
	Watermark           uint64     `json:"watermark"`
	LastSeq             uint64     `json:"lastSeq"`
	Backlog             uint64     `json:"backlog"`
	LastContact         *time.Time `json:"lastContact"`
	SecondsSinceContact *int64     `json:"secondsSinceContact"`
	Stale               bool       `json:"stale"`
}

func sitesOf(fs []freshness) string {
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.SiteID)
	}
	return strings.Join(ids, ",")
}

func byID(t *testing.T, fs []freshness, site string) freshness {
	t.Helper()
	for _, f := range fs {
		if f.SiteID == site {
			return f
		}
	}
	t.Fatalf("no freshness for %s in %+v", site, fs)
	return freshness{}
}

// checkS1 checks site s1's freshness from the fixture.
func checkS1(t *testing.T, f freshness) {
	t.Helper()
	if !f.Known || f.Timezone != "Asia/Kolkata" || f.Watermark != 8 || f.LastSeq != 8 || f.Backlog != 0 || f.Stale {
		t.Fatalf("s1 freshness = %+v", f)
	}
	if f.LastContact == nil || !f.LastContact.Equal(t0) {
		t.Fatalf("s1 lastContact = %v, want %v", f.LastContact, t0)
	}
	if f.SecondsSinceContact == nil || *f.SecondsSinceContact != 300 {
		t.Fatalf("s1 secondsSinceContact = %v, want 300", f.SecondsSinceContact)
	}
	if want := t0.Add(-24 * time.Hour); f.LastEventTime == nil || !f.LastEventTime.Equal(want) {
		t.Fatalf("s1 lastEventTime = %v, want %v", f.LastEventTime, want)
	}
}
