package api_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/vendsync/vendsync/central/sitereg"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/sync/envelope"
)

// TestCreateDriver_PerSiteCredentialsGoOnlyToTheirSite: POST /drivers makes
// an HQ DRIVER client that signs in at central, and per site a credential
// whose secret's hash only (never the secret) is published to that site's
// downlink and no other site's.
func TestCreateDriver_PerSiteCredentialsGoOnlyToTheirSite(t *testing.T) {
	c := newCentral(t)
	ctx := context.Background()
	for _, id := range []string{"s1", "s2", "s3"} {
		if _, _, err := c.Sites.Add(ctx, sitereg.Site{ID: id, City: "Testville", Timezone: "UTC"}, false); err != nil {
			t.Fatal(err)
		}
	}
	r := c.Do("POST", "/drivers", c.Token(auth.RoleAdmin), hqapi.NewDriverRequest{Name: "Asha", Sites: []string{"s1", "s2"}})
	if got, want := r.Status, http.StatusCreated; got != want {
		t.Fatalf("status = %d, want %d: %s", got, want, r.Body)
	}
	var d hqapi.NewDriver
	r.JSON(t, &d)
	if d.ClientID == "" || d.ClientSecret == "" || len(d.Sites) != 2 {
		t.Fatalf("answer = %+v", d)
	}
	c.tokenFor(d.ClientID, d.ClientSecret) // the HQ credential signs in at central
	for i, s := range d.Sites {
		if want := []string{"s1", "s2"}[i]; s.SiteID != want || s.ClientSecret == "" {
			t.Fatalf("site %d = %+v", i, s)
		}
		v, rev := c.Published(s.SiteID, envelope.DriverKey(s.ClientID))
		if rev != s.Revision {
			t.Fatalf("revision %d, answered %d", rev, s.Revision)
		}
		hash, _ := base64.StdEncoding.DecodeString(v["secretHash"].(string))
		if !auth.CheckSecret(hash, s.ClientSecret) {
			t.Fatalf("published hash does not match the secret of %s", s.SiteID)
		}
		if _, ok := v["secret"]; ok {
			t.Fatalf("a secret was published: %v", v)
		}
		for _, other := range []string{"s1", "s2", "s3"} {
			if other != s.SiteID {
				c.Unpublished(other, envelope.DriverKey(s.ClientID))
			}
		}
	}
}

func TestCreateDriver_Refusals(t *testing.T) {
	c := newCentral(t)
	if _, _, err := c.Sites.Add(context.Background(), sitereg.Site{ID: "s1", City: "Testville", Timezone: "UTC"}, false); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		role   auth.Role
		body   any
		status int
		field  string
	}{
		{"no sites", auth.RoleAdmin, hqapi.NewDriverRequest{Name: "A"}, http.StatusBadRequest, "sites"},
		{"unregistered site", auth.RoleAdmin, hqapi.NewDriverRequest{Name: "A", Sites: []string{"s1", "nowhere"}}, http.StatusBadRequest, "sites"},
		{"a site twice", auth.RoleAdmin, hqapi.NewDriverRequest{Name: "A", Sites: []string{"s1", "s1"}}, http.StatusBadRequest, "sites"},
		{"no name", auth.RoleAdmin, hqapi.NewDriverRequest{Sites: []string{"s1"}}, http.StatusBadRequest, "name"},
		{"ops may not", auth.RoleOps, hqapi.NewDriverRequest{Name: "A", Sites: []string{"s1"}}, http.StatusForbidden, ""},
		{"a driver may not", auth.RoleDriver, hqapi.NewDriverRequest{Name: "A", Sites: []string{"s1"}}, http.StatusForbidden, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Do("POST", "/drivers", c.Token(tc.role), tc.body)
			if r.Status != tc.status {
				t.Fatalf("status = %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if tc.field != "" {
				if e := r.Error(t); e.Field != tc.field {
					t.Fatalf("field = %q, want %q (%+v)", e.Field, tc.field, e)
				}
			}
		})
	}
}

// TestCreateClient_AnswerIsACredentialsFile: POST /clients answers
// client_id and client_secret, the names every credentials file uses.
func TestCreateClient_AnswerIsACredentialsFile(t *testing.T) {
	c := newCentral(t)
	r := c.Do("POST", "/clients", c.Token(auth.RoleAdmin), map[string]string{"role": "DRIVER", "name": "Asha"})
	if r.Status != http.StatusCreated {
		t.Fatalf("status = %d: %s", r.Status, r.Body)
	}
	var f struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	r.JSON(t, &f)
	c.tokenFor(f.ID, f.Secret)
}
