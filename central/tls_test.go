package central_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/machine"
	"github.com/vendsync/vendsync/edge/sale"
	"github.com/vendsync/vendsync/edge/stock"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/fleet"
	"github.com/vendsync/vendsync/internal/tlsca"
	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/wire"
)

// pinned is an HTTP client trusting only the CA in caFile.
func pinned(t *testing.T, caFile string) *http.Client {
	t.Helper()
	cfg, err := tlsca.ClientConfig(caFile)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
}

// tlsSite initializes a site, has central sign its certificate through
// POST /sites/{id}/certificate (the key stays at the site) and opens its
// edge with TLS on its API and its leaf link pinned to caFile.
func tlsSite(t *testing.T, c *central.Node, hc *http.Client, adminTok, id, caFile string) *edge.Node {
	t.Helper()
	seed := fleet.Register(t, c, id, "Pune", "Asia/Kolkata")
	dir := filepath.Join(t.TempDir(), id)
	if _, err := edge.Init(context.Background(), dir, store.SiteInit{ID: id, City: "Pune", Timezone: "Asia/Kolkata"}); err != nil {
		t.Fatal(err)
	}
	csr, key, err := tlsca.NewCSR(id, []string{"localhost", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]string{"csr": string(csr)})
	req, _ := http.NewRequest(http.MethodPost, c.URL()+"/sites/"+id+"/certificate", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+adminTok)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sc struct{ Certificate, CA string }
	if err := json.NewDecoder(resp.Body).Decode(&sc); err != nil || resp.StatusCode != 200 {
		t.Fatalf("site certificate: %d %v", resp.StatusCode, err)
	}
	if err := tlsca.WriteSite(dir, []byte(sc.Certificate), key, []byte(sc.CA)); err != nil {
		t.Fatal(err)
	}
	cfg := edge.DefaultConfig()
	cfg.Dir, cfg.HTTPAddr, cfg.SweepEvery = dir, "127.0.0.1:0", time.Hour
	cfg.HubURLs, cfg.LeafSeed = []string{c.Hub.LeafURL()}, seed
	cfg.TLSCertFile, cfg.TLSKeyFile = filepath.Join(dir, tlsca.TLSDir, tlsca.CertFile), filepath.Join(dir, tlsca.TLSDir, tlsca.KeyFile)
	cfg.HubCAFile = caFile
	n, err := edge.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// TestFleet_TLSEverywhere: with TLS on, central's HQ API and leaf port and
// a site's API and leaf link all use certificates from the fleet CA, which
// clients pin; sales still reach central; a plaintext or wrongly pinned
// client gets nothing.
func TestFleet_TLSEverywhere(t *testing.T) {
	c := fleet.StartCentral(t, t.TempDir(), func(cfg *central.Config) { cfg.HTTPTLS, cfg.LeafTLS = true, true })
	defer c.Close()
	if !strings.HasPrefix(c.URL(), "https://") {
		t.Fatalf("central URL %s, want https", c.URL())
	}
	hc := pinned(t, c.CAPath())
	resp, err := hc.Get(c.URL() + "/healthz")
	if err != nil {
		t.Fatalf("pinned client: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz over TLS: %d", resp.StatusCode)
	}
	if resp, err := http.Get("http://" + strings.TrimPrefix(c.URL(), "https://") + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("the HQ API answered plaintext HTTP")
		}
	}
	if _, err := (&http.Client{Timeout: 5 * time.Second}).Get(c.URL() + "/healthz"); err == nil {
		t.Fatal("a client trusting only the system roots accepted the fleet's certificate")
	}

	creds, err := edge.ReadCredentials(filepath.Join(c.Dir(), central.CredentialsFile))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]string{"client_id": creds.ClientID, "client_secret": creds.ClientSecret})
	resp, err = hc.Post(c.URL()+"/auth/token", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	n := tlsSite(t, c, hc, tok.AccessToken, "tls-site", c.CAPath())
	if !strings.HasPrefix(n.URL(), "https://") {
		t.Fatalf("edge URL %s, want https", n.URL())
	}
	if resp, err := hc.Get(n.URL() + "/healthz"); err != nil {
		t.Fatalf("site API pinned to the fleet CA: %v", err)
	} else {
		resp.Body.Close()
	}
	ctx := context.Background()
	if err := n.Machines.Register(ctx, machine.In{MachineID: "VM1", Location: &machine.LocationIn{City: "Pune"}}, "test"); err != nil {
		t.Fatal(err)
	}
	price, q, one := wire.Money(150), int64(100), int64(1)
	if _, err := n.Stock.AddProduct(ctx, "VM1", stock.ProductIn{ProductID: "P1", Name: "P", Price: &price, Quantity: &q}, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Sales.RecordBatch(ctx, []sale.In{{TransactionID: "T1", MachineID: "VM1", ProductID: "P1", Quantity: &one, Amount: &price,
		PaymentMethod: "CARD", Timestamp: time.Now().UTC().Format(time.RFC3339)}}, ""); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 60*time.Second, func() error { // the sale reaches central over the TLS leaf link
		if rows := fleet.CentralAgg(t, c, readmodel.ByProduct, bucket.Day, "", "tls-site"); len(rows) == 0 {
			return fmt.Errorf("no sale at central yet; leaf connected %v", n.Leaf.Connected())
		}
		return nil
	})

	// A site pinning another CA never connects its leaf.
	other, err := tlsca.New("not the fleet", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	otherCA := filepath.Join(t.TempDir(), "other.pem")
	if err := tlsca.WriteSite(filepath.Dir(otherCA), other.CertPEM, []byte("k"), other.CertPEM); err != nil {
		t.Fatal(err)
	}
	wrong := tlsSite(t, c, hc, tok.AccessToken, "wrong-ca", filepath.Join(filepath.Dir(otherCA), tlsca.TLSDir, tlsca.CAFile))
	deadline := time.Now().Add(4 * time.Second)
	for time.Now().Before(deadline) {
		if wrong.Leaf.Connected() {
			t.Fatal("a site pinning another CA connected its leaf")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
