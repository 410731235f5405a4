package edge

import (
	"context"
	"testing"

	"github.com/vendsync/vendsync/edge/machine"
	"github.com/vendsync/vendsync/edge/store"
)

// TestApplyDownlink_CrashAfterApplyDoesNotReapply: a node that dies right
// after a downlink change commits (before the watcher records the revision)
// finds the revision recorded with the change, so the change is neither
// applied twice nor skipped.
func TestApplyDownlink_CrashAfterApplyDoesNotReapply(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := Init(ctx, dir, store.SiteInit{ID: "s1", Name: "Test", City: "Testville", Timezone: "UTC"}); err != nil {
		t.Fatal(err)
	}
	open := func() *Node {
		cfg := DefaultConfig()
		cfg.Dir, cfg.HTTPAddr = dir, "127.0.0.1:0"
		n, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Open(ctx); err != nil {
			t.Fatal(err)
		}
		return n
	}
	n := open()
	if err := n.Machines.Register(ctx, machine.In{MachineID: "M1", Location: &machine.LocationIn{City: "Testville", Building: "B1"}}, "test"); err != nil {
		t.Fatal(err)
	}
	// The watcher calls the handler, then SetApplied: the crash comes between.
	if err := n.applyDownlink(ctx, "machine.M1", []byte(`{"status":"UNDER_MAINTENANCE"}`), 12); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	n = open()
	defer n.Close()
	last, err := n.Store.LastApplied(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if last != 12 {
		t.Fatalf("last applied after restart = %d, want 12: the watcher would apply revision 12 again", last)
	}
	if m := n.Machines.Get("M1"); m == nil || m.Status != "UNDER_MAINTENANCE" {
		t.Fatalf("machine M1 = %+v, want UNDER_MAINTENANCE", m)
	}
	var audits int
	if err := n.Store.DB.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_logs WHERE performed_by LIKE '%downlink rev 12%'`).Scan(&audits); err != nil {
		t.Fatal(err)
	}
	if audits != 1 {
		t.Fatalf("%d audit rows for revision 12, want 1", audits)
	}
}
