package leaf_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vendsync/vendsync/edge/leaf"
	"github.com/vendsync/vendsync/internal/natsusers"
	"github.com/vendsync/vendsync/internal/secfile"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/tlsca"
)

// TestNATSCLI_SitePort runs the standard nats CLI against a site's NATS
// port with users issued as `vendsync edge nats-creds` issues them.
func TestNATSCLI_SitePort(t *testing.T) {
	bin := testkit.NATSCLI(t)
	dir := t.TempDir()
	ca, err := tlsca.New("site CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	l, err := ca.Issue("vendsync site s1", []string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := l.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := secfile.Write(caFile, ca.CertPEM); err != nil {
		t.Fatal(err)
	}
	usersFile := filepath.Join(dir, natsusers.SiteFile)
	roSeed, roUser, err := natsusers.AddToFile(usersFile, natsusers.RoleReadOnly, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	roPub := roUser.PublicKey
	ro := filepath.Join(dir, "ro.nk")
	if err := secfile.Write(ro, []byte(roSeed+"\n")); err != nil {
		t.Fatal(err)
	}

	addr := testkit.FreeAddrs(t, 1)[0].String()
	cfg := leaf.Config{SiteID: "s1", StoreDir: filepath.Join(dir, "nats"), ListenAddr: addr, UsersFile: usersFile,
		ClientTLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, Logger: testkit.Logger(t)}
	n, err := leaf.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ctx := context.Background()
	kv, err := n.JetStream().CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "CONFIG"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "s1.price.cola", []byte("150")); err != nil {
		t.Fatal(err)
	}

	run := func(seed string, args ...string) (string, error) {
		a := append([]string{"--server", "tls://" + addr, "--tlsca", caFile}, args...)
		if seed != "" {
			a = append([]string{"--nkey", seed}, a...)
		}
		return testkit.RunNATS(t, bin, a...)
	}
	if out, err := run(ro, "kv", "ls"); err != nil || !strings.Contains(out, "CONFIG") {
		t.Fatalf("kv ls: %v\n%s", err, out)
	}
	if out, err := run(ro, "stream", "info", "KV_CONFIG"); err != nil || !strings.Contains(out, "KV_CONFIG") {
		t.Fatalf("stream info: %v\n%s", err, out)
	}
	if out, err := run(ro, "kv", "get", "CONFIG", "s1.price.cola", "--raw"); err != nil || !strings.Contains(out, "150") {
		t.Fatalf("kv get: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"kv", "put", "CONFIG", "s1.price.cola", "1"}, {"stream", "rm", "-f", "KV_CONFIG"}} {
		if out, err := run(ro, args...); err == nil {
			t.Fatalf("nats %v was allowed:\n%s", args, out)
		}
	}
	if e, err := kv.Get(ctx, "s1.price.cola"); err != nil || string(e.Value()) != "150" {
		t.Fatalf("CONFIG s1.price.cola = %v, %v after a refused put", e, err)
	}
	if out, err := run("", "kv", "ls"); err == nil {
		t.Fatalf("a client without credentials was served:\n%s", out)
	}
	if _, err := nats.Connect("nats://"+addr, nats.Timeout(2*time.Second)); err == nil {
		t.Fatal("a plaintext client was served")
	}

	// Revoked in the file (as `edge nats-creds --revoke` does), the user is
	// refused without a restart.
	if _, err := natsusers.RevokeInFile(usersFile, roPub, time.Now()); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 20*time.Second, func() error {
		if out, err := run(ro, "kv", "ls"); err == nil {
			return fmt.Errorf("revoked user still served:\n%s", out)
		}
		return nil
	})
}
