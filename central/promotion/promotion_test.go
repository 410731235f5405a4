package promotion_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/central/promotion"
	"github.com/vendsync/vendsync/internal/promo"
	"github.com/vendsync/vendsync/internal/testkit/natstest"
	"github.com/vendsync/vendsync/sync/downlink"
	"github.com/vendsync/vendsync/sync/envelope"
)

func pct(id string, scope promo.Scope, city, site string, quota int) promo.Promotion {
	return promo.Promotion{ID: id, Name: id, Scope: scope, City: city, SiteID: site, Kind: promo.KindPercent, Percent: 10,
		Stacking: promo.Stackable, Quota: quota, Active: true}
}

func TestDistributor_PublishesToTheSitesEachScopeCovers(t *testing.T) {
	ctx := context.Background()
	h := natstest.StartHub(t)
	js := h.JetStream()
	st, err := promotion.Open(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := downlink.NewPublisher(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	cfgKV, err := js.KeyValue(ctx, envelope.BucketConfig)
	if err != nil {
		t.Fatal(err)
	}
	sites := []promotion.SiteInfo{{ID: "p1", City: "Pune"}, {ID: "p2", City: "pune"}, {ID: "m1", City: "Mumbai"}}
	d, err := promotion.NewDistributor(promotion.DistributorConfig{Store: st, Publisher: pub, Logger: zerolog.Nop(),
		Sites: func(context.Context) ([]promotion.SiteInfo, error) { return sites, nil },
		Usage: func(context.Context, string) (map[string]envelope.LeaseUsage, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []promo.Promotion{pct("all", promo.ScopeFleet, "", "", 0), pct("pune:1", promo.ScopeCity, "Pune", "", 0),
		pct("m1-only", promo.ScopeSite, "", "m1", 0), pct("code", promo.ScopeFleet, "", "", 7)} {
		if _, err := st.Put(ctx, p, "test"); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"p1": {"all", "pune:1", "code"}, "p2": {"all", "pune:1", "code"}, "m1": {"all", "m1-only", "code"}}
	for _, s := range sites {
		for _, id := range []string{"all", "pune:1", "m1-only", "code"} {
			e, err := cfgKV.Get(ctx, envelope.ConfigKeyPrefix(s.ID)+envelope.PromotionKey(id))
			wanted := false
			for _, w := range want[s.ID] {
				wanted = wanted || w == id
			}
			switch {
			case wanted && err != nil:
				t.Fatalf("site %s has no promotion %s: %v", s.ID, id, err)
			case !wanted && !errors.Is(err, jetstream.ErrKeyNotFound):
				t.Fatalf("site %s was sent promotion %s (%v)", s.ID, id, err)
			case wanted:
				var p promo.Promotion
				if err := json.Unmarshal(e.Value(), &p); err != nil || p.ID != id || p.Version != 1 {
					t.Fatalf("site %s promotion %s = %s (%v)", s.ID, id, e.Value(), err)
				}
			}
		}
		// The 7-use code is leased 3 + 2 + 2.
		e, err := cfgKV.Get(ctx, envelope.ConfigKeyPrefix(s.ID)+envelope.LeaseKey("code"))
		if err != nil {
			t.Fatalf("site %s has no lease: %v", s.ID, err)
		}
		var l envelope.Lease
		if err := json.Unmarshal(e.Value(), &l); err != nil || l.SiteID != s.ID || l.Granted < 2 || l.Granted > 3 || l.Epoch != 1 {
			t.Fatalf("site %s lease = %s (%v)", s.ID, e.Value(), err)
		}
	}
	// A deactivated promotion reaches its sites inactive.
	if _, err := st.Deactivate(ctx, "pune:1", "test"); err != nil {
		t.Fatal(err)
	}
	if err := d.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	e, err := cfgKV.Get(ctx, envelope.ConfigKeyPrefix("p2")+envelope.PromotionKey("pune:1"))
	if err != nil {
		t.Fatal(err)
	}
	var p promo.Promotion
	if err := json.Unmarshal(e.Value(), &p); err != nil || p.Active || p.Version != 2 {
		t.Fatalf("deactivated = %s (%v)", e.Value(), err)
	}
}

func TestPlan_Leases(t *testing.T) {
	sites := []string{"a", "b", "c"}
	use := func(m map[string][3]int64) map[string]envelope.LeaseUsage {
		out := map[string]envelope.LeaseUsage{}
		for s, v := range m {
			out[s] = envelope.LeaseUsage{Used: v[0], Returned: v[1], RecallSeen: v[2]}
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		steps    []map[string][3]int64 // per pass: site → used, returned, recallSeen
		active   bool
		granted  map[string]int64
		recall   map[string]int64
		unleased int64
	}{
		{name: "equal shares first", steps: []map[string][3]int64{nil}, active: true,
			granted: map[string]int64{"a": 34, "b": 33, "c": 33}, recall: map[string]int64{}, unleased: 0},
		{name: "a runs out: recall from b and c", steps: []map[string][3]int64{nil, {"a": {34, 0, 0}}}, active: true,
			granted: map[string]int64{"a": 34, "b": 33, "c": 33}, recall: map[string]int64{"b": 1, "c": 1}, unleased: 0},
		{name: "returns are re-leased to a", steps: []map[string][3]int64{nil, {"a": {34, 0, 0}}, {"a": {34, 0, 0}, "b": {3, 15, 1}, "c": {0, 17, 1}}}, active: true,
			granted: map[string]int64{"a": 66, "b": 33, "c": 33}, recall: map[string]int64{"b": 1, "c": 1}, unleased: 0},
		{name: "recall waits for the last to be answered", steps: []map[string][3]int64{nil, {"a": {34, 0, 0}}, {"a": {34, 0, 0}}}, active: true,
			granted: map[string]int64{"a": 34, "b": 33, "c": 33}, recall: map[string]int64{"b": 1, "c": 1}, unleased: 0},
		{name: "inactive recalls everywhere", steps: []map[string][3]int64{nil}, active: false,
			granted: map[string]int64{}, recall: map[string]int64{}, unleased: 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l promotion.Ledger
			for i, step := range tc.steps {
				promotion.Plan(&l, 100, tc.active, sites, use(step))
				if err := l.Check(); err != nil {
					t.Fatalf("pass %d: %v", i, err)
				}
			}
			for s, g := range tc.granted {
				if l.Granted[s] != g {
					t.Fatalf("granted = %v, want %v", l.Granted, tc.granted)
				}
			}
			for _, s := range sites {
				if l.Recall[s] != tc.recall[s] {
					t.Fatalf("recall = %v, want %v", l.Recall, tc.recall)
				}
			}
			if l.Unleased() != tc.unleased {
				t.Fatalf("unleased = %d, want %d", l.Unleased(), tc.unleased)
			}
		})
	}
}

// TestPlan_NeverOverGrants drives random, valid site reports through many
// passes: the invariant holds after every one.
func TestPlan_NeverOverGrants(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sites := []string{"a", "b", "c", "d"}
	for round := range 200 {
		var l promotion.Ledger
		total := int64(1 + rng.IntN(300))
		siteUse := map[string]*envelope.LeaseUsage{}
		for _, s := range sites {
			siteUse[s] = &envelope.LeaseUsage{}
		}
		for pass := range 30 {
			usage := map[string]envelope.LeaseUsage{}
			for _, s := range sites {
				u := siteUse[s]
				u.Granted = l.Granted[s]
				avail := u.Granted - u.Used - u.Returned
				if avail > 0 {
					u.Used += rng.Int64N(avail + 1)
				}
				if r := l.Recall[s]; r > u.RecallSeen && rng.IntN(2) == 0 {
					a := u.Granted - u.Used - u.Returned
					u.Returned += a - a/2
					u.RecallSeen = r
				}
				if rng.IntN(3) > 0 { // some reports are late
					usage[s] = *u
				}
			}
			promotion.Plan(&l, total, true, sites, usage)
			if err := l.Check(); err != nil {
				t.Fatalf("round %d pass %d: %v", round, pass, err)
			}
			var held int64
			for _, s := range sites {
				held += l.Outstanding(s)
			}
			if held+l.Unleased() != total-l.Redeemed() {
				t.Fatalf("round %d pass %d: invariant broken: %+v", round, pass, l)
			}
		}
	}
}
