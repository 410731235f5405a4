package client_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/sync/wire"
)

func TestBaseURL(t *testing.T) {
	tests := []struct {
		name, in, want, err string
	}{
		{name: "http", in: "http://127.0.0.1:9080", want: "http://127.0.0.1:9080"},
		{name: "https with path", in: "https://hq.example/api/", want: "https://hq.example/api"},
		{name: "host:port", in: "127.0.0.1:9080", want: "https://127.0.0.1:9080"},
		{name: "name:port", in: " hq.example:9080 ", want: "https://hq.example:9080"},
		{name: "ipv6", in: "[::1]:9080", want: "https://[::1]:9080"},
		{name: "empty", in: "", err: "no URL"},
		{name: "host only", in: "127.0.0.1", err: "want https://host:port or host:port"},
		{name: "other scheme", in: "nats-leaf://hq:7422", err: "scheme must be http or https"},
		{name: "no host", in: "http://", err: "no host"},
		{name: "query", in: "http://hq:9080/?x=1", err: "no query"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := client.BaseURL(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("BaseURL(%q) = %q, %v; want an error containing %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("BaseURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// TestEdge_AgainstARealEdge drives every Edge method against a real edge
// and checks the answers decode into the wire types with their values.
func TestEdge_AgainstARealEdge(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	s := edgetest.Start(t, edgetest.Options{Clock: edgetest.NewClock(now)})
	// edgetest serves plain HTTP, so the scheme is given (a bare host:port
	// means https://, see TestBaseURL).
	e, err := client.NewEdge(s.URL(), client.Credentials{ClientID: s.Admin.ClientID, ClientSecret: s.Admin.ClientSecret}, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lat, lng := 12.5, 77.25
	m, err := e.RegisterMachine(ctx, edgeapi.NewMachine{MachineID: "M1", Location: &edgeapi.Location{City: "Pune", Building: "B", Lat: &lat, Lng: &lng},
		PaymentMethods: []string{"CARD"}})
	if err != nil || m.MachineID != "M1" || m.Location.City != "Pune" || *m.Location.Lat != lat || m.Status != "ACTIVE" {
		t.Fatalf("RegisterMachine = %+v, %v", m, err)
	}
	_, err = e.RegisterMachine(ctx, edgeapi.NewMachine{MachineID: "M1", Location: &edgeapi.Location{City: "Pune"}, PaymentMethods: []string{"CARD"}})
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusConflict || !client.HasCode(err, "MACHINE_EXISTS") || ae.Field != "machineId" || client.Retryable(err) {
		t.Fatalf("second RegisterMachine: %v, want a 409 MACHINE_EXISTS on machineId", err)
	}
	price, qty, low := wire.Money(250), int64(6), int64(5)
	it, err := e.AddProduct(ctx, "M1", edgeapi.NewProduct{ProductID: "P1", Name: "Cola", Price: &price, Quantity: &qty, LowStockLimit: &low})
	if err != nil || it.Price != price || it.Quantity != qty || it.ParLevel != 15 || it.OpenAlerts == nil {
		t.Fatalf("AddProduct = %+v, %v", it, err)
	}
	sale := edgeapi.Sale{TransactionID: "T1", MachineID: "M1", ProductID: "P1", Quantity: 2, Amount: 500, PaymentMethod: "CARD", Timestamp: now.Add(-time.Minute).Format(time.RFC3339)}
	first, err := e.Sale(ctx, sale)
	if err != nil || first.Status != "ACCEPTED" || first.Sequence == 0 || first.Replayed {
		t.Fatalf("Sale = %+v, %v", first, err)
	}
	again, err := e.Sale(ctx, sale)
	if err != nil || !again.Replayed || again.Sequence != first.Sequence {
		t.Fatalf("replayed Sale = %+v, %v; want the first answer, replayed", again, err)
	}
	b, err := e.Batch(ctx, []edgeapi.Sale{sale, {TransactionID: "T2", MachineID: "M9", ProductID: "P1", Quantity: 1, Amount: 250, PaymentMethod: "CARD", Timestamp: sale.Timestamp}})
	if err != nil || b.Duplicates != 1 || b.Rejected != 1 || len(b.Results) != 2 || b.Results[1].Error == nil || b.Results[1].Error.Code != "UNKNOWN_MACHINE" {
		t.Fatalf("Batch = %+v, %v", b, err)
	}
	temp := 9.5
	if err := e.Telemetry(ctx, edgeapi.Telemetry{MachineID: "M1", Temperature: &temp, PowerStatus: "ON", DoorStatus: "CLOSED", Timestamp: sale.Timestamp}); err != nil {
		t.Fatalf("Telemetry: %v", err)
	}
	f, err := e.ReportFault(ctx, edgeapi.NewFault{MachineID: "M1", FaultType: "COIN_JAM", Description: "stuck", Timestamp: sale.Timestamp}, "F1")
	if err != nil || f.FaultID == 0 || f.Status != "OPEN" {
		t.Fatalf("ReportFault = %+v, %v", f, err)
	}
	if f2, err := e.ReportFault(ctx, edgeapi.NewFault{MachineID: "M1", FaultType: "COIN_JAM", Description: "stuck", Timestamp: sale.Timestamp}, "F1"); err != nil || f2.FaultID != f.FaultID {
		t.Fatalf("retried ReportFault = %+v, %v; want fault %d", f2, err, f.FaultID)
	}
	if f, err = e.SetFaultStatus(ctx, f.FaultID, "RESOLVED"); err != nil || f.Status != "RESOLVED" || f.ResolvedAt == nil {
		t.Fatalf("SetFaultStatus = %+v, %v", f, err)
	}
	if fs, err := e.Faults(ctx, "RESOLVED", "M1", 0); err != nil || len(fs) != 1 {
		t.Fatalf("Faults = %+v, %v", fs, err)
	}
	if as, err := e.Alerts(ctx, "OPEN", "LOW_STOCK", "", 10); err != nil || len(as) != 1 || as[0].ProductID != "P1" {
		t.Fatalf("Alerts = %+v, %v; want P1 low", as, err)
	}
	counted := int64(4)
	r := edgeapi.Restock{MovementID: "R1", Items: []edgeapi.RestockItem{{ProductID: "P1", Added: 10, CountedQuantity: &counted}}}
	res, err := e.Restock(ctx, "M1", r)
	if err != nil || res.Replayed || len(res.Lines) == 0 || res.Lines[len(res.Lines)-1].After != counted {
		t.Fatalf("Restock = %+v, %v", res, err)
	}
	if res, err = e.Restock(ctx, "M1", r); err != nil || !res.Replayed {
		t.Fatalf("replayed Restock = %+v, %v", res, err)
	}
	set := int64(7)
	if it, err = e.PatchProduct(ctx, "M1", "P1", edgeapi.ProductPatch{Quantity: &set}); err != nil || it.Quantity != set {
		t.Fatalf("PatchProduct = %+v, %v", it, err)
	}
	if items, err := e.Inventory(ctx, "M1"); err != nil || len(items) != 1 || items[0].Quantity != set {
		t.Fatalf("Inventory = %+v, %v", items, err)
	}
	if ms, err := e.Machines(ctx, "ACTIVE"); err != nil || len(ms) != 1 || ms[0].State == nil || *ms[0].State.Temperature != temp {
		t.Fatalf("Machines = %+v, %v", ms, err)
	}
	agg, err := e.Sales(ctx, edgeapi.SalesQuery{GroupBy: "product", Window: "day"})
	if err != nil || agg.Timezone != "UTC" || agg.Totals.Transactions != 1 || agg.Totals.Revenue != 500 {
		t.Fatalf("Sales = %+v, %v", agg, err)
	}
	st, err := e.Sync(ctx)
	if err != nil || st.Site != "test-site" || st.Outbox.Depth == 0 || st.Uplink.Configured {
		t.Fatalf("Sync = %+v, %v", st, err)
	}
	if got := e.Tokens(); got != 1 {
		t.Fatalf("%d tokens fetched, want 1", got)
	}

	// A MACHINE client may not read another machine: an API error, kept.
	mc := s.Client(auth.RoleMachine, "M2")
	other, err := client.NewEdge(s.URL(), client.Credentials{ClientID: mc.ClientID, ClientSecret: mc.ClientSecret}, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Inventory(ctx, "M1"); !client.HasCode(err, "FORBIDDEN") {
		t.Fatalf("other machine's inventory: %v, want FORBIDDEN", err)
	}
	// Refused credentials wrap ErrAuth and the API's error.
	bad, err := client.NewEdge(s.URL(), client.Credentials{ClientID: s.Admin.ClientID, ClientSecret: "nope"}, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Machines(ctx, "")
	if !errors.Is(err, client.ErrAuth) || !client.HasCode(err, "INVALID_CLIENT") || client.Retryable(err) {
		t.Fatalf("wrong secret: %v, want ErrAuth with INVALID_CLIENT, not retryable", err)
	}
	// No answer at all wraps ErrUnreachable, which may be retried.
	s.Close()
	_, err = e.Machines(ctx, "")
	if !errors.Is(err, client.ErrUnreachable) || !client.Retryable(err) {
		t.Fatalf("edge down: %v, want ErrUnreachable", err)
	}
}

// TestConn_RenewsARefusedTokenAndRetriesTransientFailures: a 401 gets a new
// token and one resend; 503s are resent up to MaxAttempts with the same
// body and Idempotency-Key, each reported to OnRetry.
func TestConn_RenewsARefusedTokenAndRetriesTransientFailures(t *testing.T) {
	var tokens, sales atomic.Int32
	var keys []string
	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth/token", func(w http.ResponseWriter, r *http.Request) {
		n := tokens.Add(1)
		w.Write([]byte(`{"access_token":"tok` + string(rune('0'+n)) + `","expires_in":3600}`))
	})
	mux.HandleFunc("POST /events/sales", func(w http.ResponseWriter, r *http.Request) {
		switch n := sales.Add(1); {
		case r.Header.Get("Authorization") == "Bearer tok1":
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":{"code":"UNAUTHENTICATED","message":"token expired"}}`))
		case n <= 3:
			keys = append(keys, r.Header.Get("Idempotency-Key"))
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`busy`))
		default:
			keys = append(keys, r.Header.Get("Idempotency-Key"))
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(`{"status":"ACCEPTED","transactionId":"T1","sequence":1}`))
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	var retried []string
	e, err := client.NewEdge(srv.URL, client.Credentials{ClientID: "a", ClientSecret: "b"},
		client.Options{MaxAttempts: 3, Backoff: time.Millisecond, OnRetry: func(code string) { retried = append(retried, code) }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Sale(context.Background(), edgeapi.Sale{TransactionID: "T1"})
	if err != nil || res.Sequence != 1 {
		t.Fatalf("Sale = %+v, %v", res, err)
	}
	if got, want := strings.Join(retried, ","), "UNAUTHENTICATED,HTTP_503,HTTP_503"; got != want {
		t.Fatalf("retried %s, want %s", got, want)
	}
	if got, want := strings.Join(keys, ","), "T1,T1,T1"; got != want {
		t.Fatalf("Idempotency-Keys %s, want %s", got, want)
	}
	if got := tokens.Load(); got != 2 {
		t.Fatalf("%d tokens, want 2", got)
	}
	// One attempt only: the 503 is the answer, and retryable.
	sales.Store(1)
	once, err := client.NewEdge(srv.URL, client.Credentials{ClientID: "a", ClientSecret: "b"}, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = once.Sale(context.Background(), edgeapi.Sale{TransactionID: "T2"})
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable || ae.Code != "HTTP_503" || ae.Message != "busy" || !client.Retryable(err) {
		t.Fatalf("single attempt: %v, want a retryable 503", err)
	}
}

// TestHQ_AgainstARealCentral drives the HQ client against a real central
// node: the site registry, queries, a report and a streamed export.
func TestHQ_AgainstARealCentral(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a central node")
	}
	ctx := context.Background()
	cfg := central.DefaultConfig()
	cfg.Dir, cfg.HTTPAddr, cfg.LeafListen = t.TempDir(), "127.0.0.1:0", "127.0.0.1:-1"
	n, err := central.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	creds, err := client.ReadCredentials(n.Dir() + "/" + central.CredentialsFile)
	if err != nil {
		t.Fatal(err)
	}
	hq, err := client.NewHQ(n.URL(), creds, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lat, lng := 52.5, 13.4
	site, err := hq.RegisterSite(ctx, hqapi.NewSite{SiteID: "ber-1", Name: "Hbf", City: "Berlin", Timezone: "Europe/Berlin", Lat: &lat, Lng: &lng})
	if err != nil || site.ID != "ber-1" || site.Seed == "" || site.PublicKey == "" || *site.Lat != lat {
		t.Fatalf("RegisterSite = %+v, %v", site, err)
	}
	if _, err := hq.RegisterSite(ctx, hqapi.NewSite{SiteID: "ber-1"}); !client.HasCode(err, "SITE_EXISTS") {
		t.Fatalf("second RegisterSite: %v, want SITE_EXISTS", err)
	}
	if reg, err := hq.Registry(ctx); err != nil || len(reg) != 1 || reg[0].City != "Berlin" || reg[0].RevokedAt != nil {
		t.Fatalf("Registry = %+v, %v", reg, err)
	}
	if fs, err := hq.Sites(ctx); err != nil || len(fs) != 1 || fs[0].SiteID != "ber-1" || fs[0].Known || !fs[0].Stale {
		t.Fatalf("Sites = %+v, %v; want ber-1 never synced", fs, err)
	}
	if _, err := hq.Site(ctx, "ber-1"); !client.HasCode(err, "NOT_FOUND") {
		t.Fatalf("Site of a site that never synced: %v, want NOT_FOUND", err)
	}
	if a, err := hq.Sales(ctx, hqapi.SalesQuery{GroupBy: "site", Window: "day"}); err != nil || a.GroupBy != "site" || a.Rows == nil {
		t.Fatalf("Sales = %+v, %v", a, err)
	}
	if a, err := hq.TopProducts(ctx, hqapi.TopQuery{N: 3, By: "quantity"}); err != nil || a.N != 3 || a.By != "quantity" {
		t.Fatalf("TopProducts = %+v, %v", a, err)
	}
	if _, err := hq.Faults(ctx, hqapi.FaultQuery{Status: "OPEN", Limit: 5}); err != nil {
		t.Fatalf("Faults: %v", err)
	}
	if _, err := hq.Alerts(ctx, hqapi.AlertQuery{Status: "BAD"}); !client.HasCode(err, "VALIDATION_FAILED") {
		t.Fatalf("Alerts with a bad status: %v, want VALIDATION_FAILED", err)
	}
	if rep, err := hq.Report(ctx, "monthly", "2025-01"); err != nil || rep.Period != "2025-01" {
		t.Fatalf("Report = %+v, %v", rep, err)
	}
	if cs, err := hq.RouteCandidates(ctx); err != nil || cs == nil {
		t.Fatalf("RouteCandidates = %+v, %v", cs, err)
	}
	var buf bytes.Buffer
	var progress int64
	nb, err := hq.Export(ctx, hqapi.ExportRequest{Kind: "sales", From: "2025-01-01", To: "2025-02-01"}, &buf, func(n int64) { progress = n })
	if err != nil || nb != int64(buf.Len()) || progress != nb {
		t.Fatalf("Export = %d bytes (progress %d), %v; buffer %d", nb, progress, err, buf.Len())
	}
	if recs, err := csv.NewReader(&buf).ReadAll(); err != nil || len(recs) != 1 || recs[0][0] != "site" {
		t.Fatalf("export CSV %v, %v; want only the header", recs, err)
	}
	if _, err := hq.Export(ctx, hqapi.ExportRequest{Kind: "stock", From: "2025-01-01", To: "2025-02-01"}, &buf, nil); !client.HasCode(err, "VALIDATION_FAILED") {
		t.Fatalf("export of stock: %v, want VALIDATION_FAILED", err)
	}
	if s, err := hq.RevokeSite(ctx, "ber-1"); err != nil || s.RevokedAt == nil {
		t.Fatalf("RevokeSite = %+v, %v", s, err)
	}
}
