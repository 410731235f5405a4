package edge_test

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/backup"
	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/testkit"
)

// TestCrash_KillDuringBackup SIGKILLs the real binary while it writes a
// backup generation, several times, then restores the newest generation
// with `vendsync edge restore`: every generation left is complete (no torn
// latest backup), the restored database passes integrity_check, holds the
// sales made before the backup, and `edge run` starts on it.
func TestCrash_KillDuringBackup(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := vendsyncBinary(t)
	dir := filepath.Join(t.TempDir(), "site")
	bdir := filepath.Join(t.TempDir(), "backups")
	if out, err := exec.Command(bin, "edge", "init", "--dir", dir, "--site", "backup-site", "--city", "Pune", "--timezone", "Asia/Kolkata").CombinedOutput(); err != nil {
		t.Fatalf("edge init: %v\n%s", err, out)
	}
	creds, err := edge.ReadCredentials(filepath.Join(dir, edge.CredentialsFile))
	if err != nil {
		t.Fatal(err)
	}
	// Enough rows that a backup takes a moment to write.
	st, err := store.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB.W.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 60000)
		INSERT INTO telemetry_events (machine_id, temperature, power_status, door_status, event_time, received_at)
		SELECT 'VM-' || (i % 50), 4.5, 'ON', 'CLOSED', ?1 - i, ?1 - i FROM n`, time.Now().UnixMilli()); err != nil {
		t.Fatal(err)
	}
	st.Close()

	args := []string{"--backup-dir", bdir, "--backup-every", "50ms", "--backup-keep", "3", "--keep-telemetry", "0"}
	p := startEdge(t, bin, dir, args...)
	tok := token(t, p.url, creds)
	for _, req := range []struct {
		path string
		body any
	}{
		{"/machines", map[string]any{"machineId": "VM1", "location": map[string]any{"city": "Pune", "building": "Hall 1"}}},
		{"/machines/VM1/products", map[string]any{"productId": "P1", "name": "Tea", "price": 1.2, "quantity": 100}},
		{"/events/sales", saleBody("before-backup-1", "VM1", "P1", 2, 120, time.Now().Add(-time.Second))},
		{"/events/sales", saleBody("before-backup-2", "VM1", "P1", 3, 120, time.Now().Add(-time.Second))},
	} {
		r, err := edgetest.Send(context.Background(), http.DefaultClient, p.url, "POST", req.path, tok, req.body)
		if err != nil || r.Status != http.StatusCreated {
			t.Fatalf("POST %s: %v %d %s", req.path, err, r.Status, r.Body)
		}
	}
	soldAt := time.Now()

	// The edge holds its directory: a restore is refused while it runs.
	if out, err := exec.Command(bin, "edge", "restore", "--dir", dir, "--from", filepath.Join(bdir, "any.db")).CombinedOutput(); err == nil || !strings.Contains(string(out), "in use") {
		t.Fatalf("edge restore while the edge runs: %v\n%s", err, out)
	}

	// A complete generation after the sales, before any kill.
	testkit.Eventually(t, 60*time.Second, "a generation taken after the sales", func() bool {
		gens, _ := backup.Generations(bdir)
		if len(gens) == 0 {
			return false
		}
		taken, err := backup.Taken(gens[len(gens)-1])
		return err == nil && taken.After(soldAt)
	})
	for kill := range 3 {
		if kill > 0 {
			p = startEdge(t, bin, dir, args...)
		}
		// Kill it while a generation is being written.
		testkit.Eventually(t, 30*time.Second, "a backup in progress", func() bool {
			tmps, _ := filepath.Glob(filepath.Join(bdir, ".*.tmp"))
			return len(tmps) > 0
		})
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-p.done
		gens, err := backup.Generations(bdir)
		if err != nil {
			t.Fatal(err)
		}
		if len(gens) == 0 {
			t.Fatalf("kill %d: no complete generation", kill)
		}
		// The latest backup is never torn (SQLite in this race-checked
		// process is slow: the older ones are checked once, at the end).
		if _, err := backup.Verify(t.Context(), gens[len(gens)-1]); err != nil {
			t.Fatalf("kill %d: newest generation: %v", kill, err)
		}
	}

	// The newest generation written after the sales holds them.
	gens, err := backup.Generations(bdir)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gens[:len(gens)-1] {
		if _, err := backup.Verify(t.Context(), g); err != nil {
			t.Fatalf("generation %s: %v", g, err)
		}
	}
	newest := gens[len(gens)-1]
	if taken, err := backup.Taken(newest); err != nil || !taken.After(soldAt) {
		t.Fatalf("newest generation %s (%v) was not taken after the sales", newest, err)
	}
	out, err := exec.Command(bin, "edge", "restore", "--dir", dir, "--from", newest).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "restored from") || !strings.Contains(string(out), "kept as") {
		t.Fatalf("edge restore: %v\n%s", err, out)
	}
	if _, err := backup.Verify(t.Context(), filepath.Join(dir, store.DBFile)); err != nil {
		t.Fatalf("restored database: %v", err)
	}
	p = startEdge(t, bin, dir)
	tok = token(t, p.url, creds)
	r, err := edgetest.Send(context.Background(), http.DefaultClient, p.url, "GET", "/machines/VM1/inventory", tok, nil)
	if err != nil || r.Status != http.StatusOK {
		t.Fatalf("GET inventory after restore: %v %d %s", err, r.Status, r.Body)
	}
	if !strings.Contains(string(r.Body), `"quantity":95`) {
		t.Fatalf("inventory after restore: %s, want 95 left (100 - 2 - 3)", r.Body)
	}
	r, err = edgetest.Send(context.Background(), http.DefaultClient, p.url, "POST", "/events/sales", tok, saleBody("after-restore", "VM1", "P1", 1, 120, time.Now()))
	if err != nil || r.Status != http.StatusCreated {
		t.Fatal(fmt.Errorf("sale after restore: %v %d %s", err, r.Status, r.Body))
	}
}
