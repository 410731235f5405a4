package central_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/internal/secfile"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/fleet"
	"github.com/vendsync/vendsync/internal/tlsca"
)

// writeFleetCA makes a fleet CA as `vendsync central fleet-ca` does and
// returns it and its file.
func writeFleetCA(t *testing.T) (*tlsca.CA, string) {
	t.Helper()
	ca, err := tlsca.New("vendsync fleet CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, err := ca.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fleet-ca.pem")
	if err := secfile.Write(path, b); err != nil {
		t.Fatal(err)
	}
	return ca, path
}

// startTLSCluster starts a 3-node cluster whose routes are TLS, as
// `central run --fleet-ca FILE` starts one.
func startTLSCluster(t *testing.T, caFile string) *cluster {
	t.Helper()
	base := t.TempDir()
	c := &cluster{nodes: make([]*central.Node, 3)}
	addrs := testkit.FreeAddrs(t, 6)
	for i := range 3 {
		c.dirs = append(c.dirs, filepath.Join(base, fmt.Sprint(i)))
		c.routes = append(c.routes, addrs[i].String())
		c.leafs = append(c.leafs, addrs[3+i].String())
	}
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.nodes[i] = fleet.StartCentral(t, c.dirs[i], func(cfg *central.Config) {
				clusterCfg(c.dirs, c.routes, c.leafs, i)(cfg)
				cfg.RouteTLS, cfg.NATSTLS, cfg.FleetCAFile = true, true, caFile
				cfg.HTTPTLS, cfg.LeafTLS = true, true
			})
		}()
	}
	wg.Wait()
	for _, n := range c.nodes {
		if n == nil {
			c.Close()
			t.FailNow()
		}
	}
	return c
}

// routeAttempt dials a route port as an intruder would (the server expects
// the TLS handshake first), upgrading to TLS with cert unless cert is nil,
// sends a route CONNECT, a PING and interest in every subject, and returns
// what the server sent until it closed the connection, and the TLS
// handshake's error.
func routeAttempt(t *testing.T, addr string, cert *tls.Certificate) (got string, hsErr error) {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(15 * time.Second))
	conn := raw
	if cert != nil {
		tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{*cert}})
		hsErr = tc.Handshake()
		conn = tc
	}
	_, _ = fmt.Fprintf(conn, "CONNECT {\"verbose\":false,\"pedantic\":false,\"tls_required\":%v,\"name\":\"intruder\",\"cluster\":\"hq\"}\r\nPING\r\nRS+ $G >\r\n", cert != nil)
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		sb.Write(buf[:n])
		if err != nil || cert != nil && hsErr == nil && strings.Contains(sb.String(), "INFO") {
			break
		}
	}
	return sb.String(), hsErr
}

func TestCluster_RoutesAreMutualTLS(t *testing.T) {
	ca, caFile := writeFleetCA(t)
	c := startTLSCluster(t, caFile)
	defer c.Close()

	// The cluster formed over TLS routes (Open waited for it) and replicates:
	// a site registered through node 1 is admitted by node 3.
	fleet.Register(t, c.nodes[0], "rt1", "Pune", "Asia/Kolkata")
	testkit.CheckFor(t, 30*time.Second, func() error {
		if got := c.nodes[2].Hub.Sites(); len(got) != 1 || got[0] != "rt1" {
			return fmt.Errorf("node 3 admits %v, want [rt1]", got)
		}
		return nil
	})
	// Every node trusts the one fleet CA it was started with.
	for i, n := range c.nodes {
		if n.CA == nil || !n.CA.Cert.Equal(ca.Cert) {
			t.Fatalf("node %d does not use the --fleet-ca CA", i+1)
		}
	}

	other, err := tlsca.New("another CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	issue := func(ca *tlsca.CA, name string) *tls.Certificate {
		l, err := ca.Issue(name, []string{"127.0.0.1"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		cert, err := l.TLSCertificate()
		if err != nil {
			t.Fatal(err)
		}
		return &cert
	}
	// A site's certificate from the fleet CA (named as POST
	// /sites/{id}/certificate names it) is no central node's.
	siteCSR, siteKey, err := tlsca.NewCSR("rt1", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	siteCertPEM, err := ca.SignCSR("site rt1", siteCSR, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	siteCert, err := tls.X509KeyPair(siteCertPEM, siteKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cert *tls.Certificate
	}{
		{name: "plaintext", cert: nil},
		{name: "certificate of another CA, named as a node", cert: issue(other, tlsca.NodeName("intruder"))},
		{name: "site certificate of the fleet CA", cert: &siteCert},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := routeAttempt(t, c.routes[0], tc.cert)
			if strings.Contains(got, "PONG") || strings.Contains(got, "MSG") || strings.Contains(got, "RS+") || strings.Contains(got, "INFO") {
				t.Fatalf("an unauthenticated route was answered: %q", got)
			}
		})
	}
	// The control: a central node's certificate from the fleet CA completes
	// the handshake (so the refusals above are for the certificate).
	if got, err := routeAttempt(t, c.routes[0], issue(ca, tlsca.NodeName("central-9"))); err != nil || !strings.Contains(got, "INFO") {
		t.Fatalf("a fleet node certificate was refused: %v (got %q)", err, got)
	}
	// The cluster gained no member.
	rz, err := c.nodes[0].Hub.Server().Routez(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rz.Routes {
		if r.RemoteName == "intruder" {
			t.Fatalf("the intruder is a route: %+v", r)
		}
	}
}

func TestCluster_NewNodeWithoutFleetCAIsRefused(t *testing.T) {
	cfg := central.DefaultConfig()
	cfg.Dir, cfg.HTTPAddr = t.TempDir(), "127.0.0.1:0"
	addrs := testkit.FreeAddrs(t, 2)
	cfg.ClusterName, cfg.ClusterListen, cfg.Replicas = "hq", addrs[0].String(), 3
	cfg.Routes = []string{"nats-route://" + addrs[1].String()}
	cfg.RouteTLS = true
	n, err := central.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = n.Open(context.Background())
	if err == nil || !strings.Contains(err.Error(), "--fleet-ca") {
		t.Fatalf("open = %v, want an error naming --fleet-ca", err)
	}
}
