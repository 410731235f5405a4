// Package tlsca is vendsync's built-in certificate authority for a fleet:
// central creates one CA (ECDSA P-256, self-signed) and issues from it the
// certificates of its own listeners (HQ API, leaf port) and of every site
// (its API and its end of the leaf link); every client pins the CA
// certificate instead of trusting the system's roots. A standalone site
// makes a CA of its own the same way.
//
// Only the standard library is used (crypto/x509, crypto/ecdsa).
package tlsca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vendsync/vendsync/internal/secfile"
)

// Lifetimes of what the CA makes.
const (
	CALifetime   = 10 * 365 * 24 * time.Hour
	LeafLifetime = 2 * 365 * 24 * time.Hour
)

// File names a site keeps its TLS material under, in DIR/TLSDir.
const (
	TLSDir   = "tls"
	CertFile = "site.crt"
	KeyFile  = "site.key"
	CAFile   = "ca.pem"
)

// CA is a certificate authority: its certificate and private key.
type CA struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM []byte
}

// New makes a CA named name, valid for CALifetime from now.
func New(name string, now time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("new ca: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"vendsync"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CALifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("new ca: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("new ca: %w", err)
	}
	return &CA{Cert: cert, Key: key, CertPEM: pemBlock("CERTIFICATE", der)}, nil
}

// Marshal encodes the CA (certificate and key) as PEM, for storage where
// only the CA's owner can read it.
func (ca *CA) Marshal() ([]byte, error) {
	kb, err := x509.MarshalECPrivateKey(ca.Key)
	if err != nil {
		return nil, fmt.Errorf("encode ca key: %w", err)
	}
	return append(append([]byte(nil), ca.CertPEM...), pemBlock("EC PRIVATE KEY", kb)...), nil
}

// Parse decodes what Marshal made. It returns an error if either part is
// missing or the key does not match the certificate.
func Parse(b []byte) (*CA, error) {
	var ca CA
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse ca: %w", err)
			}
			ca.Cert, ca.CertPEM = c, pemBlock("CERTIFICATE", blk.Bytes)
		case "EC PRIVATE KEY":
			k, err := x509.ParseECPrivateKey(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse ca: %w", err)
			}
			ca.Key = k
		}
	}
	if ca.Cert == nil || ca.Key == nil || !ca.Cert.IsCA {
		return nil, errors.New("parse ca: want a CA certificate and its EC private key")
	}
	if !ca.Key.PublicKey.Equal(ca.Cert.PublicKey) {
		return nil, errors.New("parse ca: the key does not match the certificate")
	}
	return &ca, nil
}

// Leaf is a certificate issued by a CA with its private key, as PEM.
type Leaf struct {
	CertPEM []byte
	KeyPEM  []byte // nil when the key stayed with the requester (a CSR)
}

// TLSCertificate is the leaf as a tls.Certificate for a server or client.
func (l Leaf) TLSCertificate() (tls.Certificate, error) {
	return tls.X509KeyPair(l.CertPEM, l.KeyPEM)
}

// Issue makes a key and a certificate for name, valid for the DNS names and
// IP addresses in hosts, usable by a server and as a TLS client, for
// LeafLifetime.
func (ca *CA) Issue(name string, hosts []string, now time.Time) (Leaf, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Leaf{}, fmt.Errorf("issue %s: %w", name, err)
	}
	der, err := ca.sign(name, hosts, &key.PublicKey, now)
	if err != nil {
		return Leaf{}, err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return Leaf{}, fmt.Errorf("issue %s: %w", name, err)
	}
	return Leaf{CertPEM: pemBlock("CERTIFICATE", der), KeyPEM: pemBlock("EC PRIVATE KEY", kb)}, nil
}

// SignCSR issues a certificate for the key of a PEM certificate request,
// named name (whatever the request says) and valid for the request's DNS
// names and IP addresses. It returns an error for a malformed or unsigned
// request, a key that is not ECDSA P-256, or a name that is not a plain
// host name or address.
func (ca *CA) SignCSR(name string, csrPEM []byte, now time.Time) ([]byte, error) {
	blk, _ := pem.Decode(csrPEM)
	if blk == nil || blk.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("csr: want one PEM CERTIFICATE REQUEST")
	}
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("csr: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("csr: %w", err)
	}
	hosts := append([]string(nil), csr.DNSNames...)
	for _, ip := range csr.IPAddresses {
		hosts = append(hosts, ip.String())
	}
	der, err := ca.sign(name, hosts, csr.PublicKey, now)
	if err != nil {
		return nil, err
	}
	return pemBlock("CERTIFICATE", der), nil
}

func (ca *CA) sign(name string, hosts []string, pub any, now time.Time) ([]byte, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("issue %s: ECDSA keys must use P-256", name)
		}
	default:
		return nil, fmt.Errorf("issue %s: the key must be ECDSA P-256", name)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: name, Organization: []string{"vendsync"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(LeafLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if len(hosts) > 64 {
		return nil, fmt.Errorf("issue %s: %d host names; at most 64", name, len(hosts))
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			continue
		}
		if !validDNSName(h) {
			return nil, fmt.Errorf("issue %s: %q is not a host name or IP address", name, h)
		}
		tmpl.DNSNames = append(tmpl.DNSNames, h)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("issue %s: %w", name, err)
	}
	return der, nil
}

// NewCSR makes a key and a PEM certificate request for hosts; the key stays
// with the caller (written 0600 by the caller) and only the request is sent.
func NewCSR(name string, hosts []string) (csrPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("new csr: %w", err)
	}
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: name}}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, nil, fmt.Errorf("new csr: %w", err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("new csr: %w", err)
	}
	return pemBlock("CERTIFICATE REQUEST", der), pemBlock("EC PRIVATE KEY", kb), nil
}

// Pool returns a pool holding the certificates in caPEM. It returns an
// error if caPEM holds none.
func Pool(caPEM []byte) (*x509.CertPool, error) {
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("no PEM certificate in the CA file")
	}
	return p, nil
}

// ClientConfig is a TLS client configuration that trusts only the CA in
// caFile (read now). It returns an error if the file cannot be read or
// holds no certificate.
func ClientConfig(caFile string) (*tls.Config, error) {
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read ca %s: %w", caFile, err)
	}
	p, err := Pool(b)
	if err != nil {
		return nil, fmt.Errorf("ca %s: %w", caFile, err)
	}
	return &tls.Config{RootCAs: p, MinVersion: tls.VersionTLS12}, nil
}

// ServerConfig is a TLS server configuration with the certificate and key
// in certFile and keyFile. It refuses a key file other users can read.
func ServerConfig(certFile, keyFile string) (*tls.Config, error) {
	if err := secfile.Check(keyFile); err != nil {
		return nil, fmt.Errorf("tls key: %w", err)
	}
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load tls certificate %s: %w", certFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{c}, MinVersion: tls.VersionTLS12}, nil
}

// WriteSite writes a site's TLS material to dir/TLSDir: its key (0600),
// certificate and the CA certificate to pin (readable: they are public).
func WriteSite(dir string, certPEM, keyPEM, caPEM []byte) error {
	tdir := filepath.Join(dir, TLSDir)
	if _, err := secfile.MkdirAll(tdir); err != nil {
		return err
	}
	if err := secfile.Write(filepath.Join(tdir, KeyFile), keyPEM); err != nil {
		return err
	}
	if err := secfile.Write(filepath.Join(tdir, CertFile), certPEM); err != nil {
		return err
	}
	return secfile.Write(filepath.Join(tdir, CAFile), caPEM)
}

// DefaultHosts are the names every vendsync listener answers to locally,
// plus the machine's host name and those of addrs (host:port listen
// addresses; unspecified hosts such as 0.0.0.0 are skipped).
func DefaultHosts(addrs ...string) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil && validDNSName(h) {
		hosts = append(hosts, h)
	}
	for _, a := range addrs {
		h, _, err := net.SplitHostPort(a)
		if err != nil || h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() {
			continue
		}
		hosts = append(hosts, h)
	}
	return dedupe(hosts)
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	out := in[:0]
	for _, h := range in {
		if !seen[strings.ToLower(h)] {
			seen[strings.ToLower(h)] = true
			out = append(out, h)
		}
	}
	return out
}

func validDNSName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return false
			}
		}
	}
	return true
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic("tlsca: crypto/rand failed: " + err.Error())
	}
	return n
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// NodeName is the name the fleet CA gives central node server's
// certificate. Only central nodes get such a name: a site's certificate is
// named after the site (SignCSR is given the name by central, never by the
// request), so a route peer presenting NodeName's prefix is a central node.
func NodeName(server string) string { return nodePrefix + server }

const nodePrefix = "vendsync central "

// IsNode reports whether cert is a central node's (see NodeName) and may act
// both as a TLS server and as a TLS client.
func IsNode(cert *x509.Certificate) bool {
	if !strings.HasPrefix(cert.Subject.CommonName, nodePrefix) || len(cert.Subject.CommonName) == len(nodePrefix) {
		return false
	}
	var server, client bool
	for _, u := range cert.ExtKeyUsage {
		server = server || u == x509.ExtKeyUsageServerAuth
		client = client || u == x509.ExtKeyUsageClientAuth
	}
	return server && client
}

// NodeMutualConfig is the TLS configuration of a link between central
// nodes (NATS cluster routes), for both its ends: each side presents its
// node certificate (cert, asked at every handshake so that a re-issued one
// is used) and accepts only a peer whose certificate chains to the CA in
// caPEM and is a central node's (IsNode). Host names are not checked: a
// route is dialled by whatever address the operator wrote, and what makes a
// peer trusted is its certificate, not its address. It returns an error if
// caPEM holds no certificate.
func NodeMutualConfig(caPEM []byte, cert func() (*tls.Certificate, error)) (*tls.Config, error) {
	pool, err := Pool(caPEM)
	if err != nil {
		return nil, fmt.Errorf("node tls: %w", err)
	}
	verify := func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("peer presented no certificate")
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		leaf := cs.PeerCertificates[0]
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			return fmt.Errorf("peer certificate: %w", err)
		}
		if !IsNode(leaf) {
			return fmt.Errorf("peer certificate %q is not a central node's", leaf.Subject.CommonName)
		}
		return nil
	}
	return &tls.Config{
		MinVersion:           tls.VersionTLS12,
		GetCertificate:       func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert() },
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert() },
		ClientAuth:           tls.RequireAndVerifyClientCert,
		ClientCAs:            pool,
		RootCAs:              pool,
		// The dialling side's own verification would also check the host
		// name; VerifyConnection checks the chain and the node name instead,
		// on both sides.
		InsecureSkipVerify: true,
		VerifyConnection:   verify,
	}, nil
}
