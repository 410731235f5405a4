package hqauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vendsync/vendsync/central/hqauth"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/testkit/natstest"
)

func open(t *testing.T, js jetstream.JetStream) *hqauth.Store {
	t.Helper()
	s, err := hqauth.Open(context.Background(), js, 1)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOpen_ConcurrentNodesAgreeOnSigningKey(t *testing.T) {
	js := natstest.StartHub(t).JetStream()
	const nodes = 6
	stores := make([]*hqauth.Store, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			// Each node has its own JetStream handle, as separate processes would.
			njs, err := jetstream.New(js.Conn())
			if err != nil {
				errs[i] = err
				return
			}
			stores[i], errs[i] = hqauth.Open(context.Background(), njs, 1)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}
	now := time.Now()
	first, err := stores[0].Signer(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := first.Issue(auth.Claims{ClientID: "c", Role: auth.RoleAdmin}, now)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range stores {
		sg, err := s.Signer(time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sg.Verify(tok, now); err != nil {
			t.Fatalf("node %d rejects node 0's token: %v", i, err)
		}
	}
	// The key a later node reads is the one already there.
	kv, err := js.KeyValue(context.Background(), hqauth.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(context.Background(), "signing-key")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Revision(), uint64(1); got != want {
		t.Fatalf("signing-key revision = %d, want %d (written once)", got, want)
	}
}

func TestStore_ClientLifecycle(t *testing.T) {
	ctx := context.Background()
	s := open(t, natstest.StartHub(t).JetStream())
	id, secret, err := s.AddClient(ctx, auth.RoleOps, "ops desk")
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Authenticate(ctx, id, secret)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Role, auth.RoleOps; got != want {
		t.Fatalf("role = %s, want %s", got, want)
	}
	if got, want := c.Name, "ops desk"; got != want {
		t.Fatalf("name = %q, want %q", got, want)
	}

	tests := []struct {
		name       string
		id, secret string
	}{
		{name: "wrong secret", id: id, secret: secret + "x"},
		{name: "unknown client", id: "hqops_0000", secret: secret},
		{name: "id with a wildcard", id: "hqops_*", secret: secret},
		{name: "empty", id: "", secret: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Authenticate(ctx, tt.id, tt.secret); !errors.Is(err, hqauth.ErrBadCredentials) {
				t.Fatalf("err = %v, want ErrBadCredentials", err)
			}
		})
	}

	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(list), 1; got != want {
		t.Fatalf("clients = %d, want %d", got, want)
	}
	if list[0].ID != id || list[0].Revoked() {
		t.Fatalf("list = %+v", list)
	}

	rc, err := s.Revoke(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !rc.Revoked() {
		t.Fatal("revoked client is not marked revoked")
	}
	if _, err := s.Authenticate(ctx, id, secret); !errors.Is(err, hqauth.ErrBadCredentials) {
		t.Fatalf("revoked client: err = %v, want ErrBadCredentials", err)
	}
	if _, err := s.Revoke(ctx, id); err != nil {
		t.Fatalf("revoke twice: %v", err)
	}
	if _, err := s.Revoke(ctx, "hqops_nope"); !errors.Is(err, hqauth.ErrNotFound) {
		t.Fatalf("revoke unknown: err = %v, want ErrNotFound", err)
	}
}

func TestStore_AddClientRefusesBadInput(t *testing.T) {
	s := open(t, natstest.StartHub(t).JetStream())
	tests := []struct {
		name string
		role auth.Role
		cn   string
	}{
		{name: "machine role", role: auth.RoleMachine, cn: "m"},
		{name: "unknown role", role: "BOSS", cn: "b"},
		{name: "empty name", role: auth.RoleOps, cn: "  "},
		{name: "long name", role: auth.RoleOps, cn: string(make([]byte, 129))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := s.AddClient(context.Background(), tt.role, tt.cn); !errors.Is(err, hqauth.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

// TestEnsureAdmin_EachNodeWritesItsOwn: nodes starting together each write
// a working ADMIN credential into their own file, whichever starts first;
// a restart with the file in place creates nothing.
func TestEnsureAdmin_EachNodeWritesItsOwn(t *testing.T) {
	ctx := context.Background()
	js := natstest.StartHub(t).JetStream()
	const nodes = 3
	dir := t.TempDir()
	path := func(i int) string { return filepath.Join(dir, "admin-"+string(rune('a'+i))+".json") }
	created := make([]bool, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			njs, err := jetstream.New(js.Conn())
			if err != nil {
				errs[i] = err
				return
			}
			s, err := hqauth.Open(ctx, njs, 1)
			if err != nil {
				errs[i] = err
				return
			}
			created[i], errs[i] = s.EnsureAdmin(ctx, path(i), "admin of node "+string(rune('a'+i)))
		})
	}
	wg.Wait()
	s := open(t, js)
	ids := map[string]bool{}
	for i := range nodes {
		if errs[i] != nil || !created[i] {
			t.Fatalf("node %d: created=%v err=%v, want a new admin", i, created[i], errs[i])
		}
		st, err := os.Stat(path(i))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := st.Mode().Perm(), os.FileMode(0o600); got != want {
			t.Fatalf("file mode = %v, want %v", got, want)
		}
		b, err := os.ReadFile(path(i))
		if err != nil {
			t.Fatal(err)
		}
		var creds struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		}
		if err := json.Unmarshal(b, &creds); err != nil {
			t.Fatal(err)
		}
		c, err := s.Authenticate(ctx, creds.ClientID, creds.ClientSecret)
		if err != nil {
			t.Fatalf("node %d's credentials: %v", i, err)
		}
		if got, want := c.Role, auth.RoleAdmin; got != want {
			t.Fatalf("role = %s, want %s", got, want)
		}
		ids[creds.ClientID] = true
	}
	if got, want := len(ids), nodes; got != want {
		t.Fatalf("%d distinct admins, want one per node (%d)", got, want)
	}
	// A restart finds its file: nothing new.
	again, err := s.EnsureAdmin(ctx, path(0), "admin of node a")
	if err != nil || again {
		t.Fatalf("restart: created=%v err=%v", again, err)
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(list), nodes; got != want {
		t.Fatalf("clients = %d (%+v), want %d", got, list, want)
	}
}

func TestEnsureAdmin_LeavesAnExistingFile(t *testing.T) {
	ctx := context.Background()
	s := open(t, natstest.StartHub(t).JetStream())
	path := filepath.Join(t.TempDir(), "admin.json")
	if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if created, err := s.EnsureAdmin(ctx, path, "n"); err != nil || created {
		t.Fatalf("created=%v err=%v, want nothing done", created, err)
	}
	if b, _ := os.ReadFile(path); string(b) != "keep me" {
		t.Fatalf("file changed: %q", b)
	}
	if list, err := s.List(ctx); err != nil || len(list) != 0 {
		t.Fatalf("clients %+v, %v; want none", list, err)
	}
	// A directory that cannot be written: the client made is revoked.
	if _, err := s.EnsureAdmin(ctx, filepath.Join(t.TempDir(), "missing", "admin.json"), "n"); err == nil {
		t.Fatal("wrote into a missing directory")
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 || !list[0].Revoked() {
		t.Fatalf("clients %+v, %v; want the one made revoked", list, err)
	}
}
