package central_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/central/api"
	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/secfile"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/fleet"
	"github.com/vendsync/vendsync/internal/tlsca"
	"github.com/vendsync/vendsync/sync/envelope"
)

// issueNATSUser issues a NATS user through the HQ API as `vendsync central
// nats-creds` does and writes its seed to a file.
func issueNATSUser(t *testing.T, hq *client.HQ, role string) (pub, seedFile string) {
	t.Helper()
	var ans api.NATSUserCreated
	if err := hq.Do(context.Background(), "POST", "/nats/users", map[string]string{"role": role, "name": "test " + role}, &ans); err != nil {
		t.Fatalf("issue %s nats user: %v", role, err)
	}
	seedFile = filepath.Join(t.TempDir(), role+".nk")
	if err := secfile.Write(seedFile, []byte(ans.Seed+"\n")); err != nil {
		t.Fatal(err)
	}
	return ans.PublicKey, seedFile
}

func TestNATSCLI_OperatorCredentials(t *testing.T) {
	bin := testkit.NATSCLI(t)
	natsAddr := testkit.FreeAddrs(t, 1)[0].String()
	c := fleet.StartCentral(t, t.TempDir(), func(cfg *central.Config) {
		cfg.HTTPTLS, cfg.LeafTLS, cfg.NATSTLS, cfg.ClientListen = true, true, true, natsAddr
	})
	defer c.Close()
	ctx := context.Background()
	cfgKV, err := c.Hub.JetStream().KeyValue(ctx, envelope.BucketConfig)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfgKV.Put(ctx, "s1.price.cola", []byte(`{"price":"1.50"}`)); err != nil {
		t.Fatal(err)
	}
	creds, err := client.ReadCredentials(filepath.Join(c.Dir(), central.CredentialsFile))
	if err != nil {
		t.Fatal(err)
	}
	tc, err := tlsca.ClientConfig(c.CAPath())
	if err != nil {
		t.Fatal(err)
	}
	hq, err := client.NewHQ(c.URL(), creds, client.Options{TLS: tc})
	if err != nil {
		t.Fatal(err)
	}
	roPub, ro := issueNATSUser(t, hq, "read-only")
	_, ops := issueNATSUser(t, hq, "ops")

	server := []string{"--server", "tls://" + natsAddr, "--tlsca", c.CAPath()}
	natsAs := func(seed string, args ...string) (string, error) {
		t.Helper()
		a := append(append([]string(nil), server...), args...)
		if seed != "" {
			a = append([]string{"--nkey", seed}, a...)
		}
		return testkit.RunNATS(t, bin, a...)
	}
	mustOK := func(seed string, args ...string) string {
		t.Helper()
		out, err := natsAs(seed, args...)
		if err != nil {
			t.Fatalf("nats %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	mustFail := func(seed string, args ...string) {
		t.Helper()
		out, err := natsAs(seed, args...)
		if err == nil {
			t.Fatalf("nats %s was allowed:\n%s", strings.Join(args, " "), out)
		}
		t.Logf("nats %s refused: %s", strings.Join(args, " "), strings.TrimSpace(out))
	}
	fleetMsgs := func() uint64 {
		t.Helper()
		s, err := c.Hub.JetStream().Stream(ctx, envelope.StreamIngest)
		if err != nil {
			t.Fatalf("FLEET is gone: %v", err)
		}
		return s.CachedInfo().State.Msgs
	}

	// read-only reads stream and KV state.
	if out := mustOK(ro, "stream", "info", envelope.StreamIngest); !strings.Contains(out, envelope.StreamIngest) {
		t.Fatalf("stream info:\n%s", out)
	}
	if out := mustOK(ro, "kv", "ls"); !strings.Contains(out, envelope.BucketConfig) {
		t.Fatalf("kv ls:\n%s", out)
	}
	if out := mustOK(ro, "kv", "get", envelope.BucketConfig, "s1.price.cola", "--raw"); !strings.Contains(out, "1.50") {
		t.Fatalf("kv get:\n%s", out)
	}
	if out := mustOK(ro, "kv", "ls", envelope.BucketConfig); !strings.Contains(out, "s1.price.cola") {
		t.Fatalf("kv ls %s:\n%s", envelope.BucketConfig, out)
	}
	// ... and writes nothing, nor reads central's secrets.
	before := fleetMsgs()
	mustFail(ro, "stream", "rm", "-f", envelope.StreamIngest)
	mustFail(ro, "stream", "purge", "-f", envelope.StreamIngest)
	mustFail(ro, "kv", "put", envelope.BucketConfig, "s1.price.cola", "0.01")
	mustFail(ro, "kv", "get", "HQ_AUTH", "fleet-ca")
	_, _ = natsAs(ro, "pub", "fleet.s1.batch", "forged")
	mustFail(ro, "consumer", "rm", "-f", envelope.StreamIngest, "agg-"+"central-1")
	if got := fleetMsgs(); got != before {
		t.Fatalf("FLEET has %d messages, had %d: a read-only user published", got, before)
	}
	if e, err := cfgKV.Get(ctx, "s1.price.cola"); err != nil || string(e.Value()) != `{"price":"1.50"}` {
		t.Fatalf("CONFIG s1.price.cola = %v, %v: a read-only user wrote it", e, err)
	}

	// ops manages consumers, still cannot delete a stream.
	mustOK(ops, "consumer", "add", envelope.StreamIngest, "ops-probe", "--pull", "--defaults")
	mustOK(ops, "consumer", "rm", "-f", envelope.StreamIngest, "ops-probe")
	mustFail(ops, "stream", "rm", "-f", envelope.StreamIngest)
	mustFail(ops, "kv", "put", envelope.BucketConfig, "s1.price.cola", "0.01")
	fleetMsgs()

	// No credentials, or no TLS, is refused.
	mustFail("", "stream", "info", envelope.StreamIngest)
	if out, err := testkit.RunNATS(t, bin, "--server", "nats://"+natsAddr, "--nkey", ro, "stream", "info", envelope.StreamIngest); err == nil {
		t.Fatalf("a plaintext connection was served:\n%s", out)
	}

	// A revoked user is refused from then on.
	if err := hq.Do(ctx, "DELETE", "/nats/users/"+roPub, nil, nil); err != nil {
		t.Fatal(err)
	}
	mustFail(ro, "stream", "info", envelope.StreamIngest)
	mustOK(ops, "stream", "info", envelope.StreamIngest)
}
