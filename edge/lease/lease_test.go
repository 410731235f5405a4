package lease_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/edge/lease"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/sync/envelope"
)

func TestLease_RedeemsOnlyWithinTheLease(t *testing.T) {
	s := edgetest.Start(t, edgetest.Options{Site: "ls"})
	ctx := context.Background()
	l := s.Node.Leases
	if err := l.RedeemOne(ctx, "q"); errs.CodeOf(err) != lease.CodeExhausted {
		t.Fatalf("redeem without a lease: %v, want %s", err, lease.CodeExhausted)
	}
	if got := l.Available("q"); got != 0 {
		t.Fatalf("available without a lease = %d", got)
	}
	if _, err := l.Apply(ctx, envelope.Lease{PromotionID: "q", SiteID: "ls", LeaseID: "q/ls/1", Granted: 3, Epoch: 1}, "central"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := l.RedeemOne(ctx, "q"); err != nil {
			t.Fatalf("redemption %d: %v", i+1, err)
		}
	}
	if err := l.RedeemOne(ctx, "q"); errs.CodeOf(err) != lease.CodeExhausted {
		t.Fatalf("fourth redemption of 3: %v", err)
	}
	// An older lease (the mirror may redeliver) never lowers the grant.
	st, err := l.Apply(ctx, envelope.Lease{PromotionID: "q", SiteID: "ls", Granted: 1, Epoch: 0}, "central")
	if err != nil || st.Granted != 3 || st.Used != 3 {
		t.Fatalf("older lease: %+v %v", st, err)
	}
	if _, err := l.Apply(ctx, envelope.Lease{PromotionID: "q", SiteID: "elsewhere", Granted: 9}, "central"); errs.KindOf(err) != errs.Invalid {
		t.Fatalf("another site's lease: %v", err)
	}
	// Survives a restart (the view is loaded from the store).
	s.Reopen()
	if st, ok := s.Node.Leases.Get("q"); !ok || st.Used != 3 || st.Granted != 3 {
		t.Fatalf("after reopen: %+v %v", st, ok)
	}
}

func TestLease_RecallGivesBackHalfOfWhatIsUnused(t *testing.T) {
	s := edgetest.Start(t, edgetest.Options{Site: "lr"})
	ctx := context.Background()
	l := s.Node.Leases
	if _, err := l.Apply(ctx, envelope.Lease{PromotionID: "q", SiteID: "lr", Granted: 10, Epoch: 1}, "central"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := l.RedeemOne(ctx, "q"); err != nil {
			t.Fatal(err)
		}
	}
	st, err := l.Apply(ctx, envelope.Lease{PromotionID: "q", SiteID: "lr", Granted: 10, Epoch: 1, Recall: 1}, "central")
	if err != nil {
		t.Fatal(err)
	}
	// 7 unused: 4 back, 3 kept.
	if st.Returned != 4 || st.Available() != 3 || st.RecallSeen != 1 {
		t.Fatalf("after recall: %+v", st)
	}
	// The same recall again changes nothing.
	if st, _ = l.Apply(ctx, envelope.Lease{PromotionID: "q", SiteID: "lr", Granted: 10, Epoch: 1, Recall: 1}, "central"); st.Returned != 4 {
		t.Fatalf("recall applied twice: %+v", st)
	}
	// Each change went up as a cumulative report, the last one whole.
	var last envelope.LeaseUsage
	recs, err := s.Node.Store.ReadAfter(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		var e envelope.Event
		if err := json.Unmarshal(r.JSON, &e); err != nil {
			t.Fatal(err)
		}
		if e.Kind == envelope.KindLeaseUsage {
			n++
			last = envelope.LeaseUsage{}
			if err := json.Unmarshal(e.Data, &last); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n != 5 || last.Used != 3 || last.Returned != 4 || last.Granted != 10 || last.RecallSeen != 1 {
		t.Fatalf("%d reports, last %+v; want 5, used 3 returned 4 of 10", n, last)
	}
}
