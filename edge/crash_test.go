package edge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/sqlite"
	"github.com/vendsync/vendsync/internal/testkit"
)

var (
	binMu   sync.Mutex
	binPath = map[string]string{} // build tags -> binary
)

// vendsyncBinary builds ./cmd/vendsync once per test run.
func vendsyncBinary(t *testing.T) string { return buildVendsync(t, "") }

// buildVendsync builds ./cmd/vendsync with the build tags once per test
// run.
func buildVendsync(t *testing.T, tags string) string {
	t.Helper()
	binMu.Lock()
	defer binMu.Unlock()
	if p, ok := binPath[tags]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", "vendsync-crash-bin-")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "vendsync")
	if out, err := exec.Command("go", "build", "-tags", tags, "-o", p, "github.com/vendsync/vendsync/cmd/vendsync").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags %q ./cmd/vendsync: %v\n%s", tags, err, out)
	}
	binPath[tags] = p
	return p
}

// edgeProc is `vendsync edge run` as a child process.
type edgeProc struct {
	cmd  *exec.Cmd
	url  string
	out  *bytes.Buffer
	done chan error
}

func startEdge(t *testing.T, bin, dir string, extra ...string) *edgeProc {
	t.Helper()
	addr := testkit.FreeAddr(t)
	p := &edgeProc{url: "http://" + addr, out: &bytes.Buffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(bin, append([]string{"edge", "run", "--dir", dir, "--http", addr, "--insecure-http", "--log-level", "warn", "--log-format", "json"}, extra...)...)
	out := &lockedWriter{w: p.out} // one lock for both streams: they share the buffer
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start edge: %v", err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	// A slow machine may take a while to start the binary and open the store.
	testkit.CheckFor(t, 30*time.Second, func() error {
		select {
		case err := <-p.done:
			t.Fatalf("edge exited before it was ready: %v\n%s", err, p.out)
		default:
		}
		r, err := edgetest.Send(context.Background(), http.DefaultClient, p.url, "GET", "/readyz", "", nil)
		if err == nil && r.Status != http.StatusOK {
			err = fmt.Errorf("GET /readyz: %d", r.Status)
		}
		if err != nil {
			return fmt.Errorf("edge not ready: %w", err) // its output is read only once it has exited
		}
		return nil
	})
	return p
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func token(t *testing.T, base string, c edge.Credentials) string {
	t.Helper()
	r, err := edgetest.Send(context.Background(), http.DefaultClient, base, "POST", "/auth/token", "", map[string]string{"client_id": c.ClientID, "client_secret": c.ClientSecret})
	if err != nil || r.Status != http.StatusOK {
		t.Fatalf("POST /auth/token: %v %d %s", err, r.Status, r.Body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	r.Decode(t, &tok)
	return tok.AccessToken
}

// TestCrash_KillDuringSales SIGKILLs the real binary while 32 clients post
// sales (four of them in batches of five), restarts it on the same directory, and checks that every
// acknowledged sale is there exactly once, stock and aggregates agree with
// the raw sales, and the outbox has no gaps.
func TestCrash_KillDuringSales(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := vendsyncBinary(t)
	// Every durability mechanism: each commit fsyncs itself; the WAL is
	// fsynced on another goroutine while the writer runs ahead (and the
	// restart fsyncs what a killed process left unsynced); or a single
	// sale is made durable by its intake log record (the restart runs
	// again what the database lacks: nothing after a kill -9, whose
	// commits the OS keeps; TestIntakeLog_… covers a lost database tail).
	for _, mode := range []string{"inline", "pipelined", "log"} {
		t.Run(mode, func(t *testing.T) { killDuringSales(t, bin, "--fsync="+mode, nil) })
	}
}

// TestPowerLoss_AcknowledgedSalesSurvive is TestCrash_KillDuringSales on a
// disk that loses every write not synced when the power goes: the binary
// is built with the tag lossydisk and runs with VENDSYNC_LOSSY_DISK=1, so
// beside each database, WAL and intake log it keeps what a sync made
// durable; after the kill -9 those shadows replace the files (and the
// -shm files go), which is the disk a power cut leaves. In every fsync
// mode, what was acknowledged must be there exactly once: inline because
// each commit was synced before its answer, pipelined because the WAL
// was, log because the intake log was, and the restart runs again what
// the database lost (here the WAL's unsynced tail really is lost).
func TestPowerLoss_AcknowledgedSalesSurvive(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildVendsync(t, "lossydisk")
	t.Setenv("VENDSYNC_LOSSY_DISK", "1")
	for _, mode := range []string{"inline", "pipelined", "log"} {
		t.Run(mode, func(t *testing.T) { killDuringSales(t, bin, "--fsync="+mode, powerCut) })
	}
}

// powerCut puts under dir every file as the lossy disk says a power cut
// would leave it, and reports how many files lost writes.
func powerCut(t *testing.T, dir string) {
	t.Helper()
	changed, shadows := 0, 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch {
		case strings.HasSuffix(path, "-shm"):
			return os.Remove(path) // shared memory: gone with the power
		case strings.HasSuffix(path, sqlite.DurableSuffix):
			shadows++
			orig := strings.TrimSuffix(path, sqlite.DurableSuffix)
			now, err := os.ReadFile(orig)
			if errors.Is(err, fs.ErrNotExist) {
				return os.Remove(path) // deleted, which is durable at once
			}
			if err != nil {
				return err
			}
			durable, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if !bytes.Equal(now, durable) {
				changed++
			}
			return os.Rename(path, orig)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if shadows == 0 {
		t.Fatal("the lossy disk kept no shadow: is the binary built with -tags lossydisk?")
	}
	t.Logf("power cut: %d of %d tracked files lost writes", changed, shadows)
}

// killDuringSales is TestCrash_KillDuringSales with the edge's fsync flag;
// cut, when set, changes the files after the kill (a power cut).
func killDuringSales(t *testing.T, bin, fsync string, cut func(*testing.T, string)) {
	dir := filepath.Join(t.TempDir(), "site")
	if out, err := exec.Command(bin, "edge", "init", "--dir", dir, "--site", "crash-site", "--city", "Pune", "--timezone", "Asia/Kolkata").CombinedOutput(); err != nil {
		t.Fatalf("edge init: %v\n%s", err, out)
	}
	creds, err := edge.ReadCredentials(filepath.Join(dir, edge.CredentialsFile))
	if err != nil {
		t.Fatal(err)
	}

	const initial = 100000
	p := startEdge(t, bin, dir, fsync)
	tok := token(t, p.url, creds)
	for _, req := range []struct {
		path string
		body any
	}{
		{"/machines", map[string]any{"machineId": "VM1", "location": map[string]any{"city": "Pune", "building": "Hall 1"}}},
		{"/machines/VM1/products", map[string]any{"productId": "P1", "name": "Tea", "price": 1.2, "quantity": initial}},
	} {
		r, err := edgetest.Send(context.Background(), http.DefaultClient, p.url, "POST", req.path, tok, req.body)
		if err != nil || r.Status != http.StatusCreated {
			t.Fatalf("POST %s: %v %d %s", req.path, err, r.Status, r.Body)
		}
	}

	var (
		mu    sync.Mutex
		acked = map[string]int64{}
		wg    sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second}
	stop := make(chan struct{})
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				tx := "k" + strconv.Itoa(g) + "-" + strconv.Itoa(i)
				qty := int64(1 + (g+i)%3)
				at := time.Now().Add(-time.Second)
				if g%8 == 7 {
					// Every eighth client posts batches of five.
					events := make([]any, 5)
					qtys := map[string]int64{}
					for j := range events {
						id := tx + "-" + strconv.Itoa(j)
						events[j] = saleBody(id, "VM1", "P1", qty, 120, at)
						qtys[id] = qty
					}
					r, err := edgetest.Send(context.Background(), client, p.url, "POST", "/events/batch", tok, map[string]any{"events": events})
					if err != nil || r.Status != http.StatusOK {
						continue
					}
					var ans struct {
						Results []struct {
							TransactionID string `json:"transactionId"`
							Status        string `json:"status"`
						} `json:"results"`
					}
					if json.Unmarshal(r.Body, &ans) != nil {
						continue
					}
					mu.Lock()
					for _, res := range ans.Results {
						if res.Status == "ACCEPTED" {
							acked[res.TransactionID] = qtys[res.TransactionID]
						}
					}
					mu.Unlock()
					continue
				}
				r, err := edgetest.Send(context.Background(), client, p.url, "POST", "/events/sales", tok, saleBody(tx, "VM1", "P1", qty, 120, at))
				if err != nil {
					continue // no answer: the sale may or may not be stored
				}
				if r.Status/100 == 2 {
					mu.Lock()
					acked[tx] = qty
					mu.Unlock()
				}
			}
		}()
	}
	// Let the clients run ~1.5s and at least until some sales are in.
	started := time.Now()
	testkit.CheckFor(t, 30*time.Second, func() error {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n < 100 || time.Since(started) < 1500*time.Millisecond {
			return fmt.Errorf("%d sales acknowledged", n)
		}
		return nil
	})
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill: %v", err)
	}
	err = <-p.done
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("edge did not die of SIGKILL: %v", err)
	}
	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if cut != nil {
		cut(t, dir)
	}

	// Restart on the same directory.
	p = startEdge(t, bin, dir, fsync)
	tok = token(t, p.url, creds)
	r, err := edgetest.Send(context.Background(), http.DefaultClient, p.url, "POST", "/events/sales", tok, saleBody("after-restart", "VM1", "P1", 1, 120, time.Now()))
	if err != nil || r.Status != http.StatusCreated {
		t.Fatalf("sale after restart: %v %d %s", err, r.Status, r.Body)
	}
	var first saleAnswer
	r.Decode(t, &first)
	// A replay of an acknowledged sale is still a replay.
	for tx, qty := range acked {
		r, err := edgetest.Send(context.Background(), http.DefaultClient, p.url, "POST", "/events/sales", tok, saleBody(tx, "VM1", "P1", qty, 120, time.Now()))
		if err != nil || r.Status != http.StatusConflict {
			t.Fatalf("acknowledged %s with another timestamp after restart: %v %d %s, want 409", tx, err, r.Status, r.Body)
		}
		break
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("edge exit after SIGTERM: %v\n%s", err, p.out)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("edge did not exit 30s after SIGTERM\n%s", p.out)
	}

	st, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	db := st.DB.R
	// Every sale here is VM1's: its key (machine_id, transaction_id) finds
	// it without a scan of all sales per acknowledged sale.
	for tx, qty := range acked {
		if got := edgetest.Count(t, db, `SELECT COUNT(*) FROM sales_events WHERE machine_id = 'VM1' AND transaction_id = ?`, tx); got != 1 {
			t.Fatalf("acknowledged sale %s stored %d times", tx, got)
		}
		if got := edgetest.Count(t, db, `SELECT quantity FROM sales_events WHERE machine_id = 'VM1' AND transaction_id = ?`, tx); got != qty {
			t.Fatalf("acknowledged sale %s has quantity %d, want %d", tx, got, qty)
		}
	}
	stored := edgetest.Count(t, db, `SELECT COUNT(*) FROM sales_events`)
	sum := edgetest.Count(t, db, `SELECT SUM(quantity) FROM sales_events`)
	if got, want := edgetest.Count(t, db, `SELECT quantity FROM machine_inventory WHERE machine_id = 'VM1' AND product_id = 'P1'`), initial-sum; got != want {
		t.Fatalf("stock = %d, want %d − %d = %d", got, initial, sum, want)
	}
	if got, want := edgetest.Count(t, db, `SELECT COUNT(*) FROM outbox WHERE kind = 'sale'`), stored; got != want {
		t.Fatalf("%d sale events in the outbox, want %d", got, want)
	}
	maxSaleSeq := edgetest.Count(t, db, `SELECT MAX(seq) FROM sales_events WHERE transaction_id != 'after-restart'`)
	if first.Sequence <= uint64(maxSaleSeq) {
		t.Fatalf("first sale after restart got sequence %d, not above the %d used before the crash", first.Sequence, maxSaleSeq)
	}
	edgetest.CheckStore(t, db, st.Site.Loc)
	// A plain sale's payment is kept on its sale's row (payment_id, written
	// with the sale; ids assigned by the writer): one per stored sale, in
	// one place only (the view payment_ledger is payments and the sales'
	// rows together), none without its sale, ids with no gap after the
	// restart. A payment in payments has exactly one first history row.
	if got := edgetest.Count(t, db, `SELECT COUNT(*) FROM sales_events s JOIN payment_ledger p
		ON p.machine_id = s.machine_id AND p.transaction_id = s.transaction_id`); got != stored {
		t.Fatalf("%d sales with their payment, want %d", got, stored)
	}
	if got, want := edgetest.Count(t, db, `SELECT COUNT(*) FROM sales_events WHERE payment_id IS NOT NULL`), stored; got != want {
		t.Fatalf("%d sales keep their payment on their row, want %d (every sale here is a plain one)", got, want)
	}
	if got, want := edgetest.Count(t, db, `SELECT COUNT(DISTINCT payment_id) FROM payment_ledger`), stored; got != want {
		t.Fatalf("%d payments, want %d", got, want)
	}
	if got := edgetest.Count(t, db, `SELECT COUNT(*) FROM payments p WHERE (SELECT COUNT(*) FROM payment_history h WHERE h.payment_id = p.payment_id AND h.n = 1) <> 1`); got != 0 {
		t.Fatalf("%d payments without exactly one first history row", got)
	}
	if got := edgetest.Count(t, db, `SELECT COUNT(*) FROM payment_history h JOIN sales_events s ON s.payment_id = h.payment_id`); got != 0 {
		t.Fatalf("%d history rows of payments kept on their sales' rows", got)
	}
	if got := edgetest.Count(t, db, `SELECT MAX(payment_id) FROM payment_ledger`); got != stored {
		t.Fatalf("highest payment id %d, want %d (one per sale, no gap)", got, stored)
	}
	t.Logf("%d sales acknowledged, %d stored (1 after restart)", len(acked), stored)
}
