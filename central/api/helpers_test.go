package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/central/api"
	"github.com/vendsync/vendsync/central/hqauth"
	"github.com/vendsync/vendsync/central/promotion"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/central/sitereg"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/testkit/natstest"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/downlink"
	"github.com/vendsync/vendsync/sync/envelope"
)

// t0 is when the read model last heard from the sites: a Monday noon, UTC.
// The API's clock is five minutes later.
var t0 = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

// central is one central node under test: a hub, a read model filled with
// the fixture below, and the API over HTTP.
type central struct {
	t      *testing.T
	URL    string
	Auth   *hqauth.Store
	Signer *auth.Signer
	Store  *readmodel.Store
	Config jetstream.KeyValue
	JS     jetstream.JetStream
	Sites  *sitereg.Registry
	tokens map[auth.Role]string
	// Promotions is the promotions bucket; StoreNow the read model's
	// receive clock (unix ms), t0 unless a test moves it.
	Promotions *promotion.Store
	StoreNow   *atomic.Int64
}

// newCentral starts a node with three sites:
//
//	s1 (Asia/Kolkata):  M1 in Bangalore with P1 (2.50) and P2 (1.00); sales,
//	                    fault 1 OPEN, alert 1 LOW_STOCK OPEN on M1/P2
//	s2 (Europe/Berlin): M2 in Berlin with P1; MDEC decommissioned with P1;
//	                    sales, fault 7 RESOLVED, alert 4 TEMPERATURE_HIGH CLOSED
//	s3 (UTC):           only events 3..4 arrived: watermark 0, backlog 4
func newCentral(t *testing.T) *central {
	t.Helper()
	ctx := context.Background()
	hb := natstest.StartHub(t)
	js := hb.JetStream()

	path := filepath.Join(t.TempDir(), "central.db")
	storeNow := new(atomic.Int64) // unix ms; the read model's receive clock
	storeNow.Store(t0.UnixMilli())
	store, err := readmodel.Open(ctx, path, readmodel.WithClock(func() time.Time { return time.UnixMilli(storeNow.Load()).UTC() }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	fill(t, store)

	hq, err := hqauth.Open(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := hq.Signer(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := downlink.NewPublisher(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, envelope.BucketConfig)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := sitereg.Open(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := api.OpenCatalog(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })

	promos, err := promotion.Open(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	h2 := api.New(api.Config{
		Store: store, Auth: hq, Signer: signer, Publisher: pub, Metrics: newMetrics(),
		Logger: zerolog.Nop(), Now: func() time.Time { return t0.Add(5 * time.Minute) },
		ConfigKV: kv, Catalog: cat, Sites: reg, NATSUsers: hb, Promotions: promos,
	})
	srv := httptest.NewServer(h2)
	t.Cleanup(srv.Close)
	c := &central{t: t, URL: srv.URL, Auth: hq, Signer: signer, Store: store, Config: kv, JS: js, Sites: reg, tokens: map[auth.Role]string{},
		Promotions: promos, StoreNow: storeNow}
	for _, role := range append(slices.Clone(hqauth.Roles), auth.RoleCustomer) {
		c.tokens[role] = c.login(role)
	}
	return c
}

// login creates a client with role and gets a token through POST /auth/token.
func (c *central) login(role auth.Role) string {
	c.t.Helper()
	id, secret, err := c.Auth.AddClient(context.Background(), role, "test "+string(role))
	if err != nil {
		c.t.Fatal(err)
	}
	return c.tokenFor(id, secret)
}

func (c *central) tokenFor(id, secret string) string {
	c.t.Helper()
	r := c.Do("POST", "/auth/token", "", map[string]string{"client_id": id, "client_secret": secret, "grant_type": "client_credentials"})
	if r.Status != http.StatusOK {
		c.t.Fatalf("POST /auth/token: %d %s", r.Status, r.Body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	r.JSON(c.t, &tok)
	return tok.AccessToken
}

// Token returns a token of role made through the API (HQ roles), or signed
// directly (MACHINE, which central never issues).
func (c *central) Token(role auth.Role) string {
	if tok, ok := c.tokens[role]; ok {
		return tok
	}
	tok, err := c.Signer.Issue(auth.Claims{ClientID: "machine-x", Role: role, MachineID: "M1"}, t0)
	if err != nil {
		c.t.Fatal(err)
	}
	return tok
}

// Published reads a site's key back from the CONFIG bucket.
func (c *central) Published(site, key string) (map[string]any, uint64) {
	c.t.Helper()
	e, err := c.Config.Get(context.Background(), envelope.ConfigKeyPrefix(site)+key)
	if err != nil {
		c.t.Fatalf("CONFIG %s.%s: %v", site, key, err)
	}
	var v map[string]any
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		c.t.Fatal(err)
	}
	return v, e.Revision()
}

// Unpublished asserts that nothing was published under a site's key.
func (c *central) Unpublished(site, key string) {
	c.t.Helper()
	if _, err := c.Config.Get(context.Background(), envelope.ConfigKeyPrefix(site)+key); err == nil {
		c.t.Fatalf("CONFIG %s.%s was published", site, key)
	}
}

// Response is an HTTP answer.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// JSON decodes the body into v.
func (r Response) JSON(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		t.Fatalf("decode %q: %v", r.Body, err)
	}
}

// APIError is the error shape.
type APIError struct {
	Code, Message, Field string
}

// Error decodes the error body.
func (r Response) Error(t *testing.T) APIError {
	t.Helper()
	var e struct {
		Error APIError `json:"error"`
	}
	r.JSON(t, &e)
	if e.Error.Code == "" {
		t.Fatalf("no error in %d %s", r.Status, r.Body)
	}
	return e.Error
}

// Do sends a request; body is JSON unless it is a string (sent raw) or
// url.Values (sent as a form).
func (c *central) Do(method, path, token string, body any) Response {
	c.t.Helper()
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case url.Values:
		rd = strings.NewReader(b.Encode())
		ctype = "application/x-www-form-urlencoded"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = strings.NewReader(string(raw))
	}
	req, err := http.NewRequest(method, c.URL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return Response{Status: res.StatusCode, Header: res.Header, Body: string(b)}
}

// ev is an event under construction; seq is assigned by apply.
type ev struct {
	kind envelope.Kind
	at   time.Time
	data any
}

// apply applies one batch of a site's events numbered from first.
func apply(t *testing.T, s *readmodel.Store, site, tz string, first uint64, evs ...ev) {
	t.Helper()
	b := &envelope.Batch{V: envelope.Version, Site: site, TZ: tz, First: first, Last: first + uint64(len(evs)) - 1}
	for i, e := range evs {
		data, err := json.Marshal(e.data)
		if err != nil {
			t.Fatal(err)
		}
		b.Events = append(b.Events, envelope.Event{V: envelope.Version, Site: site, Seq: first + uint64(i), Kind: e.kind, Time: e.at, Data: data})
	}
	if _, err := s.Apply(context.Background(), 0, b); err != nil {
		t.Fatal(err)
	}
}

func machineEv(id, city, status string, at time.Time) ev {
	return ev{envelope.KindMachine, at, envelope.Machine{MachineID: id, City: city, Building: "Tower " + id,
		PaymentMethods: []string{"CARD"}, Status: status, Action: "REGISTERED"}}
}

func productEv(machine, product, name string, cents, qty int64, at time.Time) ev {
	return ev{envelope.KindInventory, at, envelope.Inventory{MachineID: machine, ProductID: product, Name: name,
		PriceCents: cents, Quantity: qty, LowStockLimit: 5, CasePack: 12, Action: "ADDED", By: "test"}}
}

func saleEv(tx, machine, product, city string, qty, cents int64, at time.Time) ev {
	return ev{envelope.KindSale, at, envelope.Sale{TransactionID: tx, MachineID: machine, ProductID: product,
		Quantity: qty, AmountCents: cents, PaymentMethod: "CARD", City: city, Location: "lobby"}}
}

func newMetrics() *web.Metrics { return web.NewMetrics("vendsync_central") }

// fill applies the fixture documented on newCentral.
func fill(t *testing.T, s *readmodel.Store) {
	t.Helper()
	day := t0.Add(-48 * time.Hour) // Saturday noon UTC
	apply(t, s, "s1", "Asia/Kolkata", 1,
		machineEv("M1", "Bangalore", "ACTIVE", day),
		productEv("M1", "P1", "Coke", 250, 20, day),
		productEv("M1", "P2", "Water", 100, 3, day),
		saleEv("tx-1", "M1", "P1", "Bangalore", 2, 500, day.Add(time.Hour)),
		saleEv("tx-2", "M1", "P2", "Bangalore", 10, 500, day.Add(2*time.Hour)),
		saleEv("tx-3", "M1", "P1", "Bangalore", 1, 250, t0.Add(-24*time.Hour)),
		ev{envelope.KindFault, day.Add(3 * time.Hour), envelope.Fault{FaultID: 1, MachineID: "M1", FaultType: "PAYMENT_FAILURE",
			Description: "card reader", Status: "OPEN", ReportedAt: day.Add(3 * time.Hour)}},
		ev{envelope.KindAlert, day.Add(2 * time.Hour), envelope.Alert{AlertID: 1, MachineID: "M1", ProductID: "P2",
			Type: "LOW_STOCK", Status: "OPEN", OpenedAt: day.Add(2 * time.Hour)}},
	)
	resolved := day.Add(5 * time.Hour)
	apply(t, s, "s2", "Europe/Berlin", 1,
		machineEv("M2", "Berlin", "ACTIVE", day),
		productEv("M2", "P1", "Coke", 300, 10, day),
		machineEv("MDEC", "Berlin", "DECOMMISSIONED", day),
		productEv("MDEC", "P1", "Coke", 300, 0, day),
		saleEv("tx-b1", "M2", "P1", "Berlin", 3, 900, day.Add(time.Hour)),
		ev{envelope.KindFault, day.Add(4 * time.Hour), envelope.Fault{FaultID: 7, MachineID: "M2", FaultType: "JAM",
			Status: "RESOLVED", ReportedAt: day.Add(4 * time.Hour), ResolvedAt: &resolved, By: "ops"}},
		ev{envelope.KindAlert, day.Add(4 * time.Hour), envelope.Alert{AlertID: 4, MachineID: "M2",
			Type: "TEMPERATURE_HIGH", Status: "CLOSED", OpenedAt: day.Add(3 * time.Hour), ClosedAt: &resolved}},
	)
	apply(t, s, "s3", "UTC", 3,
		machineEv("M3", "Paris", "ACTIVE", day),
		saleEv("tx-p1", "M3", "P9", "Paris", 1, 100, day),
	)
}
