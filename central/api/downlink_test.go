package api_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/vendsync/vendsync/central/hqauth"
	"github.com/vendsync/vendsync/internal/auth"
)

type published struct {
	SiteID    string         `json:"siteId"`
	MachineID string         `json:"machineId"`
	Key       string         `json:"key"`
	Revision  uint64         `json:"revision"`
	Value     map[string]any `json:"value"`
}

// checkPublished asserts that every answered value is what the CONFIG
// bucket holds under the site's key, at the answered revision.
func checkPublished(t *testing.T, c *central, ps []published) {
	t.Helper()
	for _, p := range ps {
		v, rev := c.Published(p.SiteID, p.Key)
		if rev != p.Revision {
			t.Fatalf("%s.%s revision = %d, answered %d", p.SiteID, p.Key, rev, p.Revision)
		}
		if !reflect.DeepEqual(v, p.Value) {
			t.Fatalf("%s.%s = %v, answered %v", p.SiteID, p.Key, v, p.Value)
		}
	}
}

func TestPatchProduct_PublishesProductConfigForTheMachinesSite(t *testing.T) {
	c := newCentral(t)
	tok := c.Token(auth.RoleOps)
	r := c.Do("PATCH", "/machines/M2/products/P1", tok, `{"price": 2.75, "lowStockLimit": 4}`)
	if r.Status != http.StatusAccepted {
		t.Fatalf("status = %d: %s", r.Status, r.Body)
	}
	var a struct{ Published []published }
	r.JSON(t, &a)
	if len(a.Published) != 1 {
		t.Fatalf("published = %+v", a.Published)
	}
	p := a.Published[0]
	if p.SiteID != "s2" || p.MachineID != "M2" || p.Key != "product.M2.P1" {
		t.Fatalf("published = %+v", p)
	}
	v, _ := c.Published("s2", "product.M2.P1")
	if want := map[string]any{"priceCents": 275.0, "lowStockLimit": 4.0}; !reflect.DeepEqual(v, want) {
		t.Fatalf("CONFIG s2.product.M2.P1 = %v, want %v", v, want)
	}
	checkPublished(t, c, a.Published)
	c.Unpublished("s1", "product.M2.P1") // another site's key is untouched

	// A later change of another field keeps the price: the value is merged.
	r = c.Do("PATCH", "/machines/M2/products/P1", tok, map[string]any{"name": "Coca-Cola", "parLevel": 20})
	if r.Status != http.StatusAccepted {
		t.Fatalf("status = %d: %s", r.Status, r.Body)
	}
	r.JSON(t, &a)
	v, _ = c.Published("s2", "product.M2.P1")
	if want := map[string]any{"priceCents": 275.0, "lowStockLimit": 4.0, "name": "Coca-Cola", "parLevel": 20.0}; !reflect.DeepEqual(v, want) {
		t.Fatalf("CONFIG s2.product.M2.P1 = %v, want %v", v, want)
	}
	checkPublished(t, c, a.Published)
}

func TestPatchProduct_RefusesQuantity(t *testing.T) {
	c := newCentral(t)
	for _, body := range []string{`{"quantity": 25}`, `{"price": 3, "quantity": 25}`, `{"quantity": null}`} {
		r := c.Do("PATCH", "/machines/M1/products/P1", c.Token(auth.RoleAdmin), body)
		if got, want := r.Status, http.StatusBadRequest; got != want {
			t.Fatalf("%s: status = %d, want %d: %s", body, got, want, r.Body)
		}
		e := r.Error(t)
		if e.Code != "STOCK_OWNED_BY_SITE" || e.Field != "quantity" {
			t.Fatalf("%s: error = %+v", body, e)
		}
	}
	c.Unpublished("s1", "product.M1.P1")
}

func TestPatchMachine_PublishesMergedMachineConfig(t *testing.T) {
	c := newCentral(t)
	tok := c.Token(auth.RoleAdmin)
	steps := []struct {
		body string
		want map[string]any
	}{
		{`{"status": "maintenance"}`, map[string]any{"status": "UNDER_MAINTENANCE"}},
		{`{"temperatureMax": 7.5}`, map[string]any{"status": "UNDER_MAINTENANCE", "temperatureMax": 7.5}},
		{`{"status": "ACTIVE"}`, map[string]any{"status": "ACTIVE", "temperatureMax": 7.5}},
	}
	for _, st := range steps {
		r := c.Do("PATCH", "/machines/M1", tok, st.body)
		if r.Status != http.StatusAccepted {
			t.Fatalf("%s: status = %d: %s", st.body, r.Status, r.Body)
		}
		var a struct{ Published []published }
		r.JSON(t, &a)
		if len(a.Published) != 1 || a.Published[0].SiteID != "s1" || a.Published[0].Key != "machine.M1" {
			t.Fatalf("%s: published = %+v", st.body, a.Published)
		}
		if !reflect.DeepEqual(a.Published[0].Value, st.want) {
			t.Fatalf("%s: value = %v, want %v", st.body, a.Published[0].Value, st.want)
		}
		checkPublished(t, c, a.Published)
	}
}

func TestPatchFault_PublishesFaultUpdateToItsSite(t *testing.T) {
	c := newCentral(t)
	id, secret, err := c.Auth.AddClient(t.Context(), auth.RoleOps, "night ops")
	if err != nil {
		t.Fatal(err)
	}
	tok := c.tokenFor(id, secret)
	r := c.Do("PATCH", "/faults/s1/1", tok, map[string]any{"status": "resolved"})
	if r.Status != http.StatusAccepted {
		t.Fatalf("status = %d: %s", r.Status, r.Body)
	}
	var p published
	r.JSON(t, &p)
	if p.SiteID != "s1" || p.Key != "fault.1" {
		t.Fatalf("answer = %+v", p)
	}
	v, rev := c.Published("s1", "fault.1")
	if want := map[string]any{"status": "RESOLVED", "by": id}; !reflect.DeepEqual(v, want) {
		t.Fatalf("CONFIG s1.fault.1 = %v, want %v", v, want)
	}
	if rev != p.Revision {
		t.Fatalf("revision = %d, answered %d", rev, p.Revision)
	}
	c.Unpublished("s2", "fault.1")
}

func TestPutCatalogProduct_PublishesToEveryStockistAcrossSites(t *testing.T) {
	c := newCentral(t)
	tok := c.Token(auth.RoleOps)
	// M1 already has a price change pending: the catalog change keeps it
	// unless it sets the price itself.
	if r := c.Do("PATCH", "/machines/M1/products/P1", tok, map[string]any{"lowStockLimit": 2}); r.Status != http.StatusAccepted {
		t.Fatalf("PATCH: %d %s", r.Status, r.Body)
	}
	r := c.Do("PUT", "/catalog/products/P1", tok, map[string]any{"name": "Coke Zero", "price": 3, "casePack": 24})
	if r.Status != http.StatusAccepted {
		t.Fatalf("status = %d: %s", r.Status, r.Body)
	}
	var a struct {
		ProductID string
		Published []published
	}
	r.JSON(t, &a)
	var got []string
	for _, p := range a.Published {
		got = append(got, p.SiteID+"/"+p.MachineID+"/"+p.Key)
	}
	// MDEC (decommissioned) stocks P1 too but gets nothing.
	if want := []string{"s1/M1/product.M1.P1", "s2/M2/product.M2.P1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("published = %v, want %v", got, want)
	}
	checkPublished(t, c, a.Published)
	v, _ := c.Published("s1", "product.M1.P1")
	if want := map[string]any{"name": "Coke Zero", "priceCents": 300.0, "casePack": 24.0, "lowStockLimit": 2.0}; !reflect.DeepEqual(v, want) {
		t.Fatalf("CONFIG s1.product.M1.P1 = %v, want %v", v, want)
	}
	v, _ = c.Published("s2", "product.M2.P1")
	if want := map[string]any{"name": "Coke Zero", "priceCents": 300.0, "casePack": 24.0}; !reflect.DeepEqual(v, want) {
		t.Fatalf("CONFIG s2.product.M2.P1 = %v, want %v", v, want)
	}
	c.Unpublished("s2", "product.MDEC.P1")
}

func TestClients_CreateListRevoke(t *testing.T) {
	c := newCentral(t)
	admin := c.Token(auth.RoleAdmin)
	r := c.Do("POST", "/clients", admin, map[string]any{"role": "finance", "name": "accounts"})
	if r.Status != http.StatusCreated {
		t.Fatalf("POST /clients: %d %s", r.Status, r.Body)
	}
	var nc struct {
		ClientID, ClientSecret, Name string
		Role                         auth.Role
	}
	r.JSON(t, &nc)
	if nc.ClientID == "" || nc.ClientSecret == "" || nc.Role != auth.RoleFinance || nc.Name != "accounts" {
		t.Fatalf("new client = %+v", nc)
	}
	tok := c.tokenFor(nc.ClientID, nc.ClientSecret)
	if r := c.Do("GET", "/aggregations/sales", tok, nil); r.Status != http.StatusOK {
		t.Fatalf("new client's token: %d %s", r.Status, r.Body)
	}

	r = c.Do("GET", "/clients", admin, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /clients: %d %s", r.Status, r.Body)
	}
	var list struct {
		Clients []map[string]json.RawMessage
	}
	r.JSON(t, &list)
	if got, want := len(list.Clients), len(hqauth.Roles)+1; got != want { // a test login per HQ role + accounts
		t.Fatalf("clients = %d, want %d", got, want)
	}
	for _, cl := range list.Clients {
		for k := range cl {
			if k == "clientSecret" || k == "secretHash" {
				t.Fatalf("GET /clients shows %s", k)
			}
		}
	}

	r = c.Do("DELETE", "/clients/"+nc.ClientID, admin, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("DELETE: %d %s", r.Status, r.Body)
	}
	var revoked struct{ RevokedAt *string }
	r.JSON(t, &revoked)
	if revoked.RevokedAt == nil {
		t.Fatalf("revoked client has no revokedAt: %s", r.Body)
	}
	// A revoked client gets no token, and its live token stops working.
	r = c.Do("POST", "/auth/token", "", map[string]string{"client_id": nc.ClientID, "client_secret": nc.ClientSecret})
	if got, want := r.Status, http.StatusUnauthorized; got != want {
		t.Fatalf("token for revoked client: %d, want %d: %s", got, want, r.Body)
	}
	r = c.Do("GET", "/aggregations/sales", tok, nil)
	if got, want := r.Status, http.StatusUnauthorized; got != want {
		t.Fatalf("revoked client's token: %d, want %d: %s", got, want, r.Body)
	}
	if e := r.Error(t); e.Code != "UNAUTHENTICATED" {
		t.Fatalf("error = %+v", e)
	}
}
