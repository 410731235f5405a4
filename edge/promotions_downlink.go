package edge

import (
	"context"
	"encoding/json"

	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/internal/promo"
	"github.com/vendsync/vendsync/sync/envelope"
)

// centralPromotions is what the downlink needs of the site's promotion
// rules: saving a promotion central authored inside the downlink's
// transaction, never overwriting one the site authored.
type centralPromotions interface {
	Apply(t *ingest.Tx, p promo.Promotion, by string) (applied bool, err error)
}

// promotionRules returns the site's promotion rules.
func (n *Node) promotionRules() centralPromotions { return n.Promotions }

// applyPromotionDownlink applies a promotion central authored or a lease
// of a promotion's quota. A value the site cannot read is rejected (logged
// and skipped by applyDownlink), since retrying it would not help.
func (n *Node) applyPromotionDownlink(ctx context.Context, kind, id string, value []byte, by string) error {
	switch kind {
	case envelope.DownlinkLease:
		var l envelope.Lease
		if err := json.Unmarshal(value, &l); err != nil || l.PromotionID != id {
			return errs.Invalidf("lease", "lease for %s unreadable or for another promotion", id)
		}
		_, err := n.Leases.Apply(ctx, l, by)
		return err
	case envelope.DownlinkPromotion:
		var p promo.Promotion
		if err := json.Unmarshal(value, &p); err != nil || p.ID != id {
			return errs.Invalidf("promotion", "promotion %s unreadable or under another id", id)
		}
		rules := n.promotionRules()
		if rules == nil {
			n.log.Warn().Str("promotion", id).Msg("downlink: this site has no promotion rules; promotion skipped")
			return nil
		}
		return n.Writer.Do(ctx, func(t *ingest.Tx) error {
			_, err := rules.Apply(t, p, by)
			return err
		})
	}
	return nil
}
