package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/testkit/fleet"
)

// `vendsync hq depot|van|transfer|stock`: a warehouse sets up a depot and
// a van, and a driver's load with a shortfall is recorded once however
// often the command runs.
func TestHQInventory_LoadAVan(t *testing.T) {
	c := fleet.StartCentral(t, t.TempDir(), nil)
	defer c.Close()
	hq := []string{"--central", c.URL(), "--credentials", filepath.Join(c.Dir(), central.CredentialsFile), "--ca", c.CAPath()}
	with := func(args ...string) []string { return append(args, hq...) }

	run(t, with("hq", "depot", "add", "D1", "--name", "North", "--city", "Porto")...)
	run(t, with("hq", "van", "add", "VAN1", "--depot", "D1", "--name", "Van 1", "--driver", "rui")...)
	if out := run(t, with("hq", "van", "list")...); !strings.Contains(out, "VAN1") || !strings.Contains(out, "rui") {
		t.Fatalf("van list:\n%s", out)
	}
	// The depot is empty: the load is refused and says why.
	load := with("hq", "transfer", "--id", "load-1", "--from", "depot:D1", "--to", "van:VAN1", "--line", "COLA=10/12")
	if out, err := runErr(t, load...); err == nil || !strings.Contains(out, "INSUFFICIENT_STOCK") {
		t.Fatalf("load from an empty depot: err %v\n%s", err, out)
	}
	if out, err := runErr(t, with("hq", "transfer", "--id", "x", "--from", "shelf:1", "--to", "van:VAN1", "--line", "COLA=1")...); err == nil || !strings.Contains(out, "--from") {
		t.Fatalf("bad --from: err %v\n%s", err, out)
	}
	// A receipt (purchase orders record them; here the ledger directly).
	if _, _, err := c.Store.RecordMovements(t.Context(), []readmodel.MovementIn{{Key: "r1", Kind: readmodel.LocationDepot,
		LocationID: "D1", ProductID: "COLA", Type: readmodel.MoveReceipt, Quantity: 30, By: "test"}}); err != nil {
		t.Fatal(err)
	}
	out := run(t, load...)
	if !strings.Contains(out, "load load-1 recorded") || !strings.Contains(out, "COLA") || !strings.Contains(out, "2") {
		t.Fatalf("load:\n%s", out)
	}
	if out := run(t, load...); !strings.Contains(out, "already recorded") {
		t.Fatalf("load again:\n%s", out)
	}
	out = run(t, with("hq", "stock", "van")...)
	if !strings.Contains(out, "VAN1") || !strings.Contains(out, "10") {
		t.Fatalf("van stock:\n%s", out)
	}
	st, err := c.Store.Stock(t.Context(), readmodel.LocationDepot, "D1")
	if err != nil || len(st) != 1 || st[0].Quantity != 20 {
		t.Fatalf("depot stock = %+v, %v; want 20 COLA", st, err)
	}
}
