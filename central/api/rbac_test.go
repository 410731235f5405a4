package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/vendsync/vendsync/central/api"
	"github.com/vendsync/vendsync/internal/auth"
)

// concrete fills a route pattern's wildcards. DELETE targets a client that
// or site that does not exist so the matrix changes nothing.
func concrete(rt api.Route) string {
	if rt.Method == "DELETE" {
		return strings.NewReplacer("{id}", "hqops_nope", "{siteId}", "nope").Replace(rt.Pattern)
	}
	return strings.NewReplacer("{id}", "M1", "{pid}", "P1", "{siteId}", "s1", "{faultId}", "1").Replace(rt.Pattern)
}

func TestRBAC_Matrix(t *testing.T) {
	c := newCentral(t)
	before, err := c.Auth.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range api.Routes {
		path := concrete(rt)
		var body any
		if rt.Method != "GET" && rt.Method != "DELETE" {
			body = `{}` // invalid for every write: allowed roles get 400, nothing changes
		}
		t.Run(rt.Method+" "+rt.Pattern+" without token", func(t *testing.T) {
			r := c.Do(rt.Method, path, "", body)
			if rt.Roles == nil {
				if r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden {
					t.Fatalf("public route answered %d: %s", r.Status, r.Body)
				}
				return
			}
			if got, want := r.Status, http.StatusUnauthorized; got != want {
				t.Fatalf("status = %d, want %d: %s", got, want, r.Body)
			}
			if got, want := r.Error(t).Code, "UNAUTHENTICATED"; got != want {
				t.Fatalf("code = %q, want %q", got, want)
			}
			if got := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Fatalf("WWW-Authenticate = %q", got)
			}
		})
		if rt.Roles == nil {
			continue
		}
		t.Run(rt.Method+" "+rt.Pattern+" with a bad token", func(t *testing.T) {
			r := c.Do(rt.Method, path, c.Token(auth.RoleAdmin)+"x", body)
			if got, want := r.Status, http.StatusUnauthorized; got != want {
				t.Fatalf("status = %d, want %d: %s", got, want, r.Body)
			}
		})
		for _, role := range auth.Roles {
			allowed := slices.Contains(rt.Roles, role)
			t.Run(rt.Method+" "+rt.Pattern+" as "+string(role), func(t *testing.T) {
				r := c.Do(rt.Method, path, c.Token(role), body)
				if !allowed {
					if got, want := r.Status, http.StatusForbidden; got != want {
						t.Fatalf("status = %d, want %d: %s", got, want, r.Body)
					}
					if got, want := r.Error(t).Code, "FORBIDDEN"; got != want {
						t.Fatalf("code = %q, want %q", got, want)
					}
					return
				}
				if r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden || r.Status >= 500 {
					t.Fatalf("allowed role answered %d: %s", r.Status, r.Body)
				}
			})
		}
	}
	after, err := c.Auth.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// POST /customers is public (anyone may become a customer) and
	// customers are not listed: no HQ client may appear.
	if len(after) != len(before) {
		t.Fatalf("clients: %d before, %d after", len(before), len(after))
	}
	c.Unpublished("s1", "fault.1")
	c.Unpublished("s1", "machine.M1")
	c.Unpublished("s1", "product.M1.P1")
}

// TestRBAC_RolesPerRoute pins the role table to the specification.
func TestRBAC_RolesPerRoute(t *testing.T) {
	const (
		A = auth.RoleAdmin
		O = auth.RoleOps
		F = auth.RoleFinance
		D = auth.RoleDriver
		W = auth.RoleWarehouse
		P = auth.RoleProcurement
		C = auth.RoleCustomer
	)
	want := map[string][]auth.Role{
		"POST /auth/token":                    nil,
		"GET /healthz":                        nil,
		"GET /readyz":                         nil,
		"GET /metrics":                        nil,
		"GET /aggregations/sales":             {A, O, F},
		"GET /aggregations/products/top":      {A, O, F},
		"GET /reports/daily":                  {A, O, F},
		"GET /reports/monthly":                {A, O, F},
		"POST /reports/export":                {A, O, F},
		"GET /faults":                         {A, O, D},
		"PATCH /faults/{siteId}/{faultId}":    {A, O},
		"GET /alerts":                         {A, O, D},
		"GET /routes/candidates":              {A, O, D},
		"GET /sites":                          {A, O, F, D},
		"GET /sites/{siteId}":                 {A, O, F, D},
		"POST /sites":                         {A},
		"GET /sites/registry":                 {A, O},
		"DELETE /sites/{siteId}":              {A},
		"GET /machines/{id}":                  {A, O, F, D},
		"PATCH /machines/{id}":                {A, O},
		"PATCH /machines/{id}/products/{pid}": {A, O},
		"PUT /catalog/products/{pid}":         {A, O},
		"POST /clients":                       {A},
		"POST /drivers":                       {A},
		"GET /clients":                        {A},
		"DELETE /clients/{id}":                {A},
		"POST /auth/rotate-key":               {A},
		"POST /sites/{siteId}/certificate":    {A},
		"GET /sites/{siteId}/snapshot":        {A},
		"POST /nats/users":                    {A},
		"GET /nats/users":                     {A},
		"DELETE /nats/users/{key}":            {A},
		"GET /reports/reconciliation":         {A, F},
		"GET /reports/cash":                   {A, F},
		"GET /lots":                           {A, O, F, D},
		"GET /reports/promotions":             {A, O, F},
		// purchasing, alert webhooks, stock value reports (issue 11)
		"POST /alerts/subscribe":                    {A, O, F, D, auth.RoleWarehouse, auth.RoleProcurement},
		"GET /alerts/subscriptions":                 {A, O, F, D, auth.RoleWarehouse, auth.RoleProcurement},
		"DELETE /alerts/subscriptions/{id}":         {A, O, F, D, auth.RoleWarehouse, auth.RoleProcurement},
		"GET /alerts/subscriptions/{id}/deliveries": {A, O, F, D, auth.RoleWarehouse, auth.RoleProcurement},
		"GET /suppliers":                            {A, O, F, auth.RoleProcurement, auth.RoleWarehouse},
		"POST /suppliers":                           {A, auth.RoleProcurement},
		"GET /purchase-orders":                      {A, O, F, auth.RoleProcurement, auth.RoleWarehouse},
		"POST /purchase-orders":                     {A, auth.RoleProcurement},
		"GET /purchase-orders/{id}":                 {A, O, F, auth.RoleProcurement, auth.RoleWarehouse},
		"POST /purchase-orders/{id}/send":           {A, auth.RoleProcurement},
		"POST /purchase-orders/{id}/cancel":         {A, auth.RoleProcurement},
		"POST /purchase-orders/{id}/receive":        {A, auth.RoleProcurement, auth.RoleWarehouse},
		"GET /reports/replenishment":                {A, O, auth.RoleProcurement},
		"GET /reports/valuation":                    {A, F, auth.RoleProcurement},
		"GET /reports/margin":                       {A, F},
		"GET /reports/shrink":                       {A, F, O, auth.RoleWarehouse},
		"GET /reports/payments":                     {A, F},
		// inventory (issue 11)
		"GET /depots":                     {A, O, F, W, P, D},
		"POST /depots":                    {A, W},
		"GET /vans":                       {A, O, F, W, P, D},
		"POST /vans":                      {A, W},
		"GET /skus":                       {A, O, F, W, P, D},
		"POST /skus":                      {A, W},
		"GET /inventory/stock":            {A, O, F, W, P, D},
		"GET /stock-movements":            {A, O, F, W, P},
		"GET /reports/stock-movement":     {A, O, F, W, P},
		"GET /transfers":                  {A, O, F, W, P, D},
		"POST /transfers":                 {A, W, D},
		"POST /inventory/bulk-update":     {A, W},
		"POST /integration/sync":          {A, W},
		"GET /integration/reconciliation": {A, O, W},
		"GET /promotions":                 {A, O, F, D},
		"GET /promotions/{id}":            {A, O, F, D},
		"POST /promotions":                {A, O},
		"PUT /promotions/{id}":            {A, O},
		"DELETE /promotions/{id}":         {A, O},
		"GET /sites/nearest":              {A, O, F, D, C},
		"GET /sites/{siteId}/menu":        {A, O, F, D, C},
		"GET /reports/demand-forecast":    {A, O, D, P},
		"POST /customers":                 nil,
		"POST /orders":                    {C},
		"GET /orders":                     {C, A, O, F},
		"GET /orders/{id}":                {C, A, O, F},
		"GET /orders/{id}/events":         {C, A, O, F},
		"GET /orders/{id}/qr":             {C},
		"POST /orders/{id}/cancel":        {C},
		"POST /orders/{id}/substitution":  {C, A, O},
	}
	if got, want := len(api.Routes), len(want); got != want {
		t.Fatalf("routes = %d, want %d", got, want)
	}
	for _, rt := range api.Routes {
		key := rt.Method + " " + rt.Pattern
		w, ok := want[key]
		if !ok {
			t.Fatalf("unexpected route %s", key)
		}
		got := slices.Clone(rt.Roles)
		slices.Sort(got)
		w = slices.Clone(w)
		slices.Sort(w)
		if !slices.Equal(got, w) {
			t.Fatalf("%s roles = %v, want %v", key, rt.Roles, w)
		}
	}
}
