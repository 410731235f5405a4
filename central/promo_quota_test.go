package central_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/central/promotion"
	"github.com/vendsync/vendsync/edge/lease"
	"github.com/vendsync/vendsync/edge/sale"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/internal/promo"
	"github.com/vendsync/vendsync/internal/tcplink"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/fleet"
	"github.com/vendsync/vendsync/internal/testkit/natstest"
	"github.com/vendsync/vendsync/sync/wire"
)

// quotaPromo is a fleet-wide code limited to quota redemptions.
func quotaPromo(id string, quota int) promo.Promotion {
	return promo.Promotion{ID: id, Name: "launch code", Scope: promo.ScopeFleet, Kind: promo.KindPercent, Percent: 10,
		Code: "LAUNCH", Priority: 1, Stacking: promo.Stackable, Quota: quota, Active: true}
}

// quotaFleet starts central (promotions reconciled every 100ms) and one site
// per id, each behind its own cuttable link, all synced.
func quotaFleet(t *testing.T, ids ...string) (*central.Node, []*fleet.Site, []*tcplink.Link) {
	t.Helper()
	c := fleet.StartCentral(t, t.TempDir(), func(cfg *central.Config) { cfg.PromotionEvery = 100 * time.Millisecond })
	t.Cleanup(func() { c.Close() })
	var sites []*fleet.Site
	var links []*tcplink.Link
	for _, id := range ids {
		link := testkit.NewLink(t, c.Hub.LeafURL())
		sp := fleet.SiteSpec{ID: id, City: "Pune", Timezone: "Asia/Kolkata", Machines: 1, Products: 1, HubURL: link.URL()}
		s := fleet.StartSite(t, sp, fleet.Register(t, c, sp.ID, sp.City, sp.Timezone))
		t.Cleanup(s.Close)
		fleet.WaitSynced(t, c, s, syncTimeout)
		sites, links = append(sites, s), append(links, link)
	}
	return c, sites, links
}

// checkLedger asserts central's ledger holds its invariant and what it
// says was redeemed.
func checkLedger(t *testing.T, c *central.Node, id string, total, redeemed int64) promotion.Ledger {
	t.Helper()
	l, err := c.Promotions.Ledger(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Check(); err != nil {
		t.Fatalf("ledger: %v", err)
	}
	var held int64
	for _, s := range l.Sites() {
		held += l.Outstanding(s)
	}
	if got, want := held+l.Unleased(), total-l.Redeemed(); got != want {
		t.Fatalf("Σ outstanding + unleased = %d, want total − redeemed = %d (%+v)", got, want, l)
	}
	if l.Redeemed() != redeemed {
		t.Fatalf("central counts %d redeemed, want %d", l.Redeemed(), redeemed)
	}
	return l
}

func TestQuota_OfflineSiteCannotOverRedeem(t *testing.T) {
	c, sites, links := quotaFleet(t, "qa", "qb", "qc")
	ctx := context.Background()
	const id, quota = "launch:100", 100
	if _, err := c.Promotions.Put(ctx, quotaPromo(id, quota), "test"); err != nil {
		t.Fatal(err)
	}
	// Central sends the promotion and leases equal shares: 34 + 33 + 33.
	testkit.CheckFor(t, syncTimeout, func() error {
		var sum int64
		for _, s := range sites {
			ps, err := s.Node.Promotions.List(ctx)
			if err != nil || len(ps) != 1 || ps[0].ID != id {
				return fmt.Errorf("site %s holds promotions %+v (%v)", s.ID, ps, err)
			}
			st, _ := s.Node.Leases.Get(id)
			if st.Granted == 0 {
				return fmt.Errorf("site %s holds no lease yet", s.ID)
			}
			sum += st.Granted
		}
		if sum != quota {
			return fmt.Errorf("sites hold %d, want %d", sum, quota)
		}
		return nil
	})
	off := sites[2]
	links[2].Cut()
	natstest.WaitConnected(t, off.Node.Leaf, false)
	held, _ := off.Node.Leases.Get(id)

	// 200 sales with the code, spread round-robin over the three sites,
	// one offline: each accepted one redeems a unit of its site's lease.
	accepted := map[string]int{}
	total := 0
	one, price := int64(1), wire.Money(90) // P00 lists at 1.00: 10 % off
	for i := range 200 {
		s := sites[i%3]
		_, err := s.Node.Sales.Record(ctx, sale.In{TransactionID: fmt.Sprintf("%s-code-%d", s.ID, i), MachineID: s.Machines[0],
			ProductID: "P00", Quantity: &one, Amount: &price, PaymentMethod: "CARD", Code: "LAUNCH",
			Timestamp: time.Now().UTC().Format(time.RFC3339Nano)}, "", "")
		switch {
		case err == nil:
			accepted[s.ID]++
			total++
		case errs.CodeOf(err) == "CODE_EXPIRED":
			// The site's share is used up: the code gives nothing here now.
		default:
			t.Fatalf("sale at %s: %v", s.ID, err)
		}
	}
	if total > quota {
		t.Fatalf("accepted %d sales with a %d-use code: %v", total, quota, accepted)
	}
	// Every site had more attempts than its share, so every unit was used.
	if total != quota {
		t.Fatalf("accepted %d, want all %d units used: %v", total, quota, accepted)
	}
	if got, want := int64(accepted[off.ID]), held.Granted; got != want {
		t.Fatalf("the offline site accepted %d while holding a lease of %d", got, want)
	}
	for _, s := range sites {
		if st, _ := s.Node.Leases.Get(id); st.Used != int64(accepted[s.ID]) {
			t.Fatalf("site %s lease used %d, accepted %d", s.ID, st.Used, accepted[s.ID])
		}
	}
	// The online sites ran out; central recalls from the offline site, which
	// cannot hear it: nothing more is granted while the link is down.
	testkit.Consistently(t, time.Second, func() error {
		l, err := c.Promotions.Ledger(ctx, id)
		if err != nil {
			return err
		}
		return l.Check()
	})
	links[2].Restore("")
	for _, s := range sites {
		fleet.WaitSynced(t, c, s, syncTimeout)
	}
	testkit.CheckFor(t, syncTimeout, func() error {
		l, err := c.Promotions.Ledger(ctx, id)
		if err != nil {
			return err
		}
		if l.Redeemed() != int64(total) {
			return fmt.Errorf("central counts %d redeemed, want %d", l.Redeemed(), total)
		}
		return nil
	})
	checkLedger(t, c, id, quota, int64(total))
	// Every unit was redeemed somewhere: none is left to accept.
	for _, s := range sites {
		if err := s.Node.Leases.RedeemOne(ctx, id); errs.CodeOf(err) != lease.CodeExhausted {
			t.Fatalf("site %s: a 101st use: %v", s.ID, err)
		}
	}
}

func TestQuota_RecallReturnsUnusedAndReleases(t *testing.T) {
	c, sites, _ := quotaFleet(t, "ra", "rb")
	ctx := context.Background()
	const id, quota = "ten", 10
	if _, err := c.Promotions.Put(ctx, quotaPromo(id, quota), "test"); err != nil {
		t.Fatal(err)
	}
	a, b := sites[0], sites[1]
	testkit.CheckFor(t, syncTimeout, func() error {
		for _, s := range sites {
			if st, _ := s.Node.Leases.Get(id); st.Granted != 5 {
				return fmt.Errorf("site %s holds %d, want 5", s.ID, st.Granted)
			}
		}
		return nil
	})
	for range 5 {
		if err := a.Node.Leases.RedeemOne(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Node.Leases.RedeemOne(ctx, id); errs.CodeOf(err) != lease.CodeExhausted {
		t.Fatalf("a sixth redemption at %s: %v, want %s", a.ID, err, lease.CodeExhausted)
	}
	// Central sees a ran out and nothing unleased: it recalls from b, which
	// gives back half of its 5 unused (3), and central grants them to a.
	testkit.CheckFor(t, syncTimeout, func() error {
		sb, _ := b.Node.Leases.Get(id)
		sa, _ := a.Node.Leases.Get(id)
		if sb.Returned != 3 || sb.Available() != 2 {
			return fmt.Errorf("b: %+v, want 3 returned and 2 available", sb)
		}
		if sa.Available() != 3 {
			return fmt.Errorf("a: %+v, want 3 available after the re-lease", sa)
		}
		return nil
	})
	for range 3 {
		if err := a.Node.Leases.RedeemOne(ctx, id); err != nil {
			t.Fatalf("redeem the re-leased units: %v", err)
		}
	}
	fleet.WaitSynced(t, c, a, syncTimeout)
	fleet.WaitSynced(t, c, b, syncTimeout)
	testkit.CheckFor(t, syncTimeout, func() error {
		l, err := c.Promotions.Ledger(ctx, id)
		if err != nil {
			return err
		}
		if l.Redeemed() != 8 {
			return errors.New("central has not counted the 8 redemptions yet")
		}
		return nil
	})
	checkLedger(t, c, id, quota, 8)
}
