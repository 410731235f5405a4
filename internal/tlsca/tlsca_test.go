package tlsca

import (
	"crypto/tls"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// handshake serves one TLS connection with srv and dials it with cli and
// serverName; it returns the client's handshake error.
func handshake(t *testing.T, srv, cli *tls.Config, serverName string) error {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.(*tls.Conn).Handshake()
		io.Copy(io.Discard, c)
		c.Close()
	}()
	cli = cli.Clone()
	cli.ServerName = serverName
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), cli)
	if err != nil {
		return err
	}
	return c.Close()
}

func TestCA_IssuePinAndVerify(t *testing.T) {
	now := time.Now()
	ca, err := New("fleet", now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ca.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ca2, err := Parse(b)
	if err != nil || !ca2.Cert.Equal(ca.Cert) {
		t.Fatalf("Parse(Marshal) = %v", err)
	}
	leaf, err := ca2.Issue("central-1", []string{"localhost", "127.0.0.1", "hq.example"}, now)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := leaf.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	srv := &tls.Config{Certificates: []tls.Certificate{cert}}
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, ca.CertPEM, 0o644)
	cli, err := ClientConfig(caFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"localhost", "127.0.0.1", "hq.example"} {
		if err := handshake(t, srv, cli, name); err != nil {
			t.Fatalf("pinned client to %s: %v", name, err)
		}
	}
	if err := handshake(t, srv, cli, "other.example"); err == nil {
		t.Fatal("a certificate was accepted for a name it does not hold")
	}
	other, _ := New("other fleet", now)
	otherFile := filepath.Join(dir, "other.pem")
	os.WriteFile(otherFile, other.CertPEM, 0o644)
	cli2, _ := ClientConfig(otherFile)
	if err := handshake(t, srv, cli2, "localhost"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a client pinning another CA: err = %v, want a certificate error", err)
	}
}

func TestCA_SignCSR(t *testing.T) {
	now := time.Now()
	ca, _ := New("fleet", now)
	csr, key, err := NewCSR("blr", []string{"blr.example", "10.0.0.5"})
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.SignCSR("site blr", csr, now)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := Leaf{CertPEM: certPEM, KeyPEM: key}.TLSCertificate()
	if err != nil {
		t.Fatalf("signed certificate does not match the requester's key: %v", err)
	}
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, ca.CertPEM, 0o644)
	cli, _ := ClientConfig(caFile)
	if err := handshake(t, &tls.Config{Certificates: []tls.Certificate{cert}}, cli, "10.0.0.5"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{nil, []byte("junk"), ca.CertPEM} {
		if _, err := ca.SignCSR("x", bad, now); err == nil {
			t.Fatalf("SignCSR accepted %q", bad)
		}
	}
	if _, err := ca.Issue("x", []string{"bad host!"}, now); err == nil {
		t.Fatal("Issue accepted a bad host name")
	}
}

func TestServerConfig_RefusesExposedKey(t *testing.T) {
	ca, _ := New("fleet", time.Now())
	leaf, _ := ca.Issue("n", []string{"localhost"}, time.Now())
	dir := t.TempDir()
	if err := WriteSite(dir, leaf.CertPEM, leaf.KeyPEM, ca.CertPEM); err != nil {
		t.Fatal(err)
	}
	cert, key := filepath.Join(dir, TLSDir, CertFile), filepath.Join(dir, TLSDir, KeyFile)
	if _, err := ServerConfig(cert, key); err != nil {
		t.Fatal(err)
	}
	os.Chmod(key, 0o644)
	if _, err := ServerConfig(cert, key); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("ServerConfig on a world-readable key: %v", err)
	}
}
