package dashboard

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/central/api"
	"github.com/vendsync/vendsync/central/hqauth"
	"github.com/vendsync/vendsync/central/hub"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/testkit/natstest"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/downlink"
	"github.com/vendsync/vendsync/sync/envelope"
)

// fixture is one central node under test: a hub, a read model filled with
// the events below, the HQ API and the dashboard over HTTP.
//
//	s1 (Asia/Kolkata):  M1 in Bangalore with P1 and P2; sales today and
//	                    40 days ago; fault 1 OPEN; alert 1 LOW_STOCK OPEN
//	s2 (Europe/Berlin): M2 in Berlin with P1; sales today and 3 days ago;
//	                    fault 7 RESOLVED; alert 4 TEMPERATURE_HIGH OPEN
type fixture struct {
	t      *testing.T
	URL    string
	API    http.Handler
	D      *Dashboard
	Store  *readmodel.Store
	Auth   *hqauth.Store
	Signer *auth.Signer
	JS     jetstream.JetStream
	Hub    *hub.Hub
	Config jetstream.KeyValue
	now    time.Time
	creds  map[auth.Role][2]string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	h := natstest.StartHub(t)
	js := h.JetStream()
	store, err := readmodel.Open(ctx, filepath.Join(t.TempDir(), "central.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
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
	metrics := web.NewMetrics("vendsync_central")
	apiH := api.New(api.Config{Store: store, Auth: hq, Signer: signer, Publisher: pub, Metrics: metrics, Logger: zerolog.Nop(), ConfigKV: kv})
	f := &fixture{t: t, API: apiH, Store: store, Auth: hq, Signer: signer, JS: js, Hub: h, Config: kv, now: time.Now(), creds: map[auth.Role][2]string{}}
	f.D = f.dashboard(func(c *Config) { c.Metrics = metrics })
	srv := httptest.NewServer(f.D.Wrap(apiH))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	f.fill()
	for _, role := range hqauth.Roles {
		id, secret, err := hq.AddClient(ctx, role, "test "+strings.ToLower(string(role)))
		if err != nil {
			t.Fatal(err)
		}
		f.creds[role] = [2]string{id, secret}
	}
	return f
}

// dashboard opens another dashboard on the fixture's hub and read model,
// as a second central node would.
func (f *fixture) dashboard(mod func(*Config)) *Dashboard {
	f.t.Helper()
	cfg := Config{Store: f.Store, Auth: f.Auth, Signer: f.Signer, API: f.API, JS: f.JS, NC: f.Hub.Conn(),
		Logger: zerolog.Nop(), Coalesce: 20 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := d.Open(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { d.Close() })
	return d
}

// ev is an event under construction; seq is assigned by apply.
type ev struct {
	kind envelope.Kind
	at   time.Time
	data any
}

// apply applies one batch of a site's events numbered from first.
func apply(t testing.TB, s *readmodel.Store, site, tz string, first uint64, evs ...ev) {
	t.Helper()
	b := &envelope.Batch{V: envelope.Version, Site: site, TZ: tz, First: first, Last: first + uint64(len(evs)) - 1}
	for i, e := range evs {
		data, err := json.Marshal(e.data)
		if err != nil {
			t.Fatal(err)
		}
		b.Events = append(b.Events, envelope.Event{V: envelope.Version, Site: site, Seq: first + uint64(i), Kind: e.kind, Time: e.at, Data: data})
	}
	pos, err := s.Position(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(context.Background(), pos+1, b); err != nil {
		t.Fatal(err)
	}
}

func machineEv(id, city string, at time.Time) ev {
	return ev{envelope.KindMachine, at, envelope.Machine{MachineID: id, City: city, Building: "Tower " + id,
		PaymentMethods: []string{"CARD"}, Status: "ACTIVE", Action: "REGISTERED"}}
}

func productEv(machine, product, name string, cents, qty int64, at time.Time) ev {
	return ev{envelope.KindInventory, at, envelope.Inventory{MachineID: machine, ProductID: product, Name: name,
		PriceCents: cents, Quantity: qty, LowStockLimit: 5, CasePack: 12, Action: "ADDED", By: "test"}}
}

func saleEv(tx, machine, product, city string, qty, cents int64, at time.Time) ev {
	return ev{envelope.KindSale, at, envelope.Sale{TransactionID: tx, MachineID: machine, ProductID: product,
		Quantity: qty, AmountCents: cents, PaymentMethod: "CARD", City: city, Location: "lobby"}}
}

// fill applies the events documented on fixture. Sales "today" are an hour
// before now (or at 00:30 UTC when now is earlier), so they fall on today
// in UTC and in the sites' zones alike.
func (f *fixture) fill() {
	now := f.now.UTC()
	today := now.Truncate(24 * time.Hour)
	at := now.Add(-time.Hour)
	if at.Before(today) {
		at = today.Add(30 * time.Minute)
	}
	old := at.AddDate(0, 0, -40)
	apply(f.t, f.Store, "s1", "UTC", 1,
		machineEv("M1", "Bangalore", old),
		productEv("M1", "P1", "Coke", 250, 20, old),
		productEv("M1", "P2", "Water", 100, 3, old),
		saleEv("tx-1", "M1", "P1", "Bangalore", 2, 500, old),
		saleEv("tx-2", "M1", "P2", "Bangalore", 1, 100, at),
		saleEv("tx-3", "M1", "P1", "Bangalore", 1, 250, at),
		ev{envelope.KindFault, at, envelope.Fault{FaultID: 1, MachineID: "M1", FaultType: "PAYMENT_FAILURE",
			Description: "card reader", Status: "OPEN", ReportedAt: at}},
		ev{envelope.KindAlert, at, envelope.Alert{AlertID: 1, MachineID: "M1", ProductID: "P2",
			Type: "LOW_STOCK", Status: "OPEN", OpenedAt: at}},
	)
	resolved := at.Add(-time.Minute)
	apply(f.t, f.Store, "s2", "UTC", 1,
		machineEv("M2", "Berlin", old),
		productEv("M2", "P1", "Coke", 300, 10, old),
		saleEv("tx-b1", "M2", "P1", "Berlin", 3, 900, at),
		saleEv("tx-b2", "M2", "P1", "Berlin", 1, 300, at.AddDate(0, 0, -3)),
		ev{envelope.KindFault, at, envelope.Fault{FaultID: 7, MachineID: "M2", FaultType: "JAM",
			Status: "RESOLVED", ReportedAt: at.Add(-time.Hour), ResolvedAt: &resolved, By: "ops"}},
		ev{envelope.KindAlert, at, envelope.Alert{AlertID: 4, MachineID: "M2",
			Type: "TEMPERATURE_HIGH", Status: "OPEN", OpenedAt: at}},
	)
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so tests see them.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (f *fixture) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return &browser{t: f.t, base: f.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// answer is an HTTP answer.
type answer struct {
	Status int
	Header http.Header
	Body   string
}

func (b *browser) do(method, path string, form url.Values, hdr map[string]string) answer {
	b.t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.base)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return answer{Status: res.StatusCode, Header: res.Header, Body: string(body)}
}

func (b *browser) get(path string) answer { b.t.Helper(); return b.do("GET", path, nil, nil) }

func (b *browser) post(path string, form url.Values) answer {
	b.t.Helper()
	return b.do("POST", path, form, nil)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the first CSRF token in a answer's forms.
func csrf(t *testing.T, p answer) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no csrf field in %d answer:\n%s", p.Status, p.Body)
	}
	return m[1]
}

// signIn signs in with role's credentials and returns the browser.
func (f *fixture) signIn(role auth.Role) *browser {
	f.t.Helper()
	b := f.browser()
	c := f.creds[role]
	res := b.signInWith(c[0], c[1])
	if res.Status != http.StatusSeeOther {
		f.t.Fatalf("sign in as %s: %d\n%s", role, res.Status, res.Body)
	}
	return b
}

func (b *browser) signInWith(id, secret string) answer {
	b.t.Helper()
	form := b.get("/ui/login")
	if form.Status != http.StatusOK {
		b.t.Fatalf("GET /ui/login: %d", form.Status)
	}
	return b.post("/ui/login", url.Values{"csrf": {csrf(b.t, form)}, "client_id": {id}, "client_secret": {secret}, "next": {"/ui/"}})
}

// apiGet calls the HQ API with a token of role.
func (f *fixture) apiGet(role auth.Role, path string, v any) {
	f.t.Helper()
	tok, err := f.Signer.Issue(auth.Claims{ClientID: f.creds[role][0], Role: role}, time.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", f.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		f.t.Fatalf("GET %s: %d %s", path, res.StatusCode, b)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		f.t.Fatal(err)
	}
}

// newServer serves h over HTTP for the test and returns its URL.
func newServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
