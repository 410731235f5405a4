package central

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vendsync/vendsync/central/promotion"
)

// openPromotions opens the shared promotions bucket and starts the
// distributor that sends promotions and quota leases to the sites.
func (n *Node) openPromotions(ctx context.Context, js jetstream.JetStream) error {
	err := retry(ctx, n.cfg.ReadyTimeout, n.log, func(ctx context.Context) error {
		var err error
		n.Promotions, err = promotion.Open(ctx, js, n.cfg.Replicas)
		return err
	})
	if err != nil {
		return err
	}
	n.PromotionDistributor, err = promotion.NewDistributor(promotion.DistributorConfig{
		Store: n.Promotions, Publisher: n.Publisher, Sites: n.promotionSites, Usage: n.Store.LeaseUsage,
		Every: n.cfg.PromotionEvery, Logger: n.cfg.Logger,
	})
	if err != nil {
		return err
	}
	if err := n.PromotionDistributor.Open(ctx); err != nil {
		n.PromotionDistributor = nil
		return fmt.Errorf("start promotions: %w", err)
	}
	return nil
}

// promotionSites lists the fleet's sites with their cities: the registry's
// (not revoked) and every site the read model heard from; a site's city is
// the registry's, else that of its machines.
func (n *Node) promotionSites(ctx context.Context) ([]promotion.SiteInfo, error) {
	cities, err := n.Store.SiteCities(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[string]string{}
	known, err := n.Store.Sites(ctx)
	if err != nil {
		return nil, err
	}
	for _, f := range known {
		byID[f.Site] = cities[f.Site]
	}
	if n.Sites != nil {
		reg, err := n.Sites.List(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range reg {
			if s.RevokedAt != nil {
				delete(byID, s.ID)
				continue
			}
			city := s.City
			if city == "" {
				city = cities[s.ID]
			}
			byID[s.ID] = city
		}
	}
	out := make([]promotion.SiteInfo, 0, len(byID))
	for id, city := range byID {
		out = append(out, promotion.SiteInfo{ID: id, City: city})
	}
	return out, nil
}
