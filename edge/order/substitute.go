package order

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vendsync/vendsync/edge/check"
	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/sync/envelope"
)

// Substitutes (seed 001: "use alternative products to ensure sales instead
// of abandoning the customer"). The site's operator configures, per
// product, an ordered list of substitutes (SetSubstitutes). When a new
// order's line can't be reserved in full, the units missing are offered as
// the first substitute that has them free (unreserved) in the order's
// machine, the machine the customer picks up at; the site reserves the
// substitute and the order waits in SUBSTITUTION_OFFERED for the
// customer's answer, which central sends down (Decide):
//   - accepted: the substitute replaces the missing units and the order
//     goes on (ACCEPTED, or PENDING for the operator); the pickup records
//     the sale of the substitute for what was paid for the line's missing
//     units. Price rule: the customer never pays more, and a cheaper
//     substitute is given for the price paid (no difference refunded).
//   - refused, or no answer within Config.SubstituteWindow: the missing
//     units are dropped, their reservation released, and what was paid for
//     them is refunded by central (the Substitution's RefundCents); an
//     order left with no line is REJECTED and refunded in full.
//
// A line with units missing and no substitute possible rejects the order,
// as without substitutes.

// MaxSubstitutes bounds a product's substitutes.
const MaxSubstitutes = 10

// substitutesSQL are the substitutes' statements.
type substitutesSQL struct {
	clearSubs, putSub, knownProduct, setOffer, releaseProduct, offered *ingest.Stmt
}

func prepareSubstitutes(w *ingest.Writer) substitutesSQL {
	return substitutesSQL{
		clearSubs: w.Prepare(`DELETE FROM product_substitutes WHERE product_id = ?`),
		putSub: w.Prepare(`INSERT INTO product_substitutes (product_id, position, substitute_id, updated_at, updated_by)
			VALUES (?, ?, ?, ?, ?)`),
		knownProduct:   w.Prepare(`SELECT COUNT(*) FROM products WHERE product_id = ?`),
		setOffer:       w.Prepare(`UPDATE orders SET lines = ?, substitution = ? WHERE order_id = ?`),
		releaseProduct: w.Prepare(`DELETE FROM reservations WHERE order_id = ? AND machine_id = ? AND product_id = ?`),
		offered:        w.Prepare(`SELECT order_id FROM orders WHERE status = 'SUBSTITUTION_OFFERED' ORDER BY order_id`),
	}
}

// loadSubstitutes reads every product's substitutes (part of Load).
func (r *Rules) loadSubstitutes(ctx context.Context, db ingest.Querier) error {
	r.subs = map[string][]string{}
	rows, err := db.QueryContext(ctx, `SELECT product_id, substitute_id FROM product_substitutes ORDER BY product_id, position`)
	if err != nil {
		return fmt.Errorf("load substitutes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p, s string
		if err := rows.Scan(&p, &s); err != nil {
			return fmt.Errorf("load substitutes: %w", err)
		}
		r.subs[p] = append(r.subs[p], s)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load substitutes: %w", err)
	}
	return nil
}

// Substitutes are a product's substitutes, in the order they are offered.
type Substitutes struct {
	ProductID   string   `json:"productId"`
	Substitutes []string `json:"substitutes"`
}

// SetSubstitutes replaces productID's substitutes with subs (empty: none).
// It returns an *errs.Error: NotFound for a product this site does not
// know, Invalid naming the entry (substitutes[i]) for an unknown product,
// the product itself or a duplicate, or more than MaxSubstitutes.
func (r *Rules) SetSubstitutes(ctx context.Context, productID string, subs []string, by string) (Substitutes, error) {
	if err := check.ID("productId", productID); err != nil {
		return Substitutes{}, err
	}
	if len(subs) > MaxSubstitutes {
		return Substitutes{}, errs.Invalidf("substitutes", "at most %d substitutes, got %d", MaxSubstitutes, len(subs))
	}
	seen := map[string]bool{}
	for i, s := range subs {
		field := fmt.Sprintf("substitutes[%d]", i)
		if err := check.ID(field, s); err != nil {
			return Substitutes{}, err
		}
		if s == productID {
			return Substitutes{}, errs.Invalidf(field, "%q can't be a substitute for itself", s)
		}
		if seen[s] {
			return Substitutes{}, errs.Invalidf(field, "%q is listed twice", s)
		}
		seen[s] = true
	}
	return ingest.Submit(ctx, r.w, func(t *ingest.Tx) (Substitutes, error) {
		known := func(id string) (bool, error) {
			var n int
			if err := t.QueryRow(r.sq.knownProduct, id).Scan(&n); err != nil {
				return false, fmt.Errorf("find product: %w", err)
			}
			return n > 0, nil
		}
		switch ok, err := known(productID); {
		case err != nil:
			return Substitutes{}, err
		case !ok:
			return Substitutes{}, errs.NotFoundf("productId", "product %q is not stocked at this site", productID)
		}
		for i, s := range subs {
			switch ok, err := known(s); {
			case err != nil:
				return Substitutes{}, err
			case !ok:
				return Substitutes{}, errs.Invalidf(fmt.Sprintf("substitutes[%d]", i), "product %q is not stocked at this site", s)
			}
		}
		if _, err := t.Exec(r.sq.clearSubs, productID); err != nil {
			return Substitutes{}, fmt.Errorf("set substitutes: %w", err)
		}
		for i, s := range subs {
			if _, err := t.Exec(r.sq.putSub, productID, i, s, t.Now().UnixMilli(), by); err != nil {
				return Substitutes{}, fmt.Errorf("set substitutes: %w", err)
			}
		}
		out := Substitutes{ProductID: productID, Substitutes: append([]string{}, subs...)}
		if len(subs) == 0 {
			delete(r.subs, productID)
		} else {
			r.subs[productID] = out.Substitutes
		}
		return out, t.Audit("product_substitutes", productID, "SET", by, map[string]any{"substitutes": out.Substitutes})
	})
}

// ListSubstitutes returns every product's substitutes, or productID's
// alone when it is set (an empty list when it has none).
func (r *Rules) ListSubstitutes(ctx context.Context, productID string) ([]Substitutes, error) {
	rows, err := r.db.Query(ctx, `SELECT product_id, substitute_id FROM product_substitutes
		WHERE (?1 = '' OR product_id = ?1) ORDER BY product_id, position`, productID)
	if err != nil {
		return nil, fmt.Errorf("list substitutes: %w", err)
	}
	defer rows.Close()
	out := []Substitutes{}
	for rows.Next() {
		var p, s string
		if err := rows.Scan(&p, &s); err != nil {
			return nil, fmt.Errorf("list substitutes: %w", err)
		}
		if n := len(out); n == 0 || out[n-1].ProductID != p {
			out = append(out, Substitutes{ProductID: p})
		}
		out[len(out)-1].Substitutes = append(out[len(out)-1].Substitutes, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list substitutes: %w", err)
	}
	if productID != "" && len(out) == 0 {
		out = append(out, Substitutes{ProductID: productID, Substitutes: []string{}})
	}
	return out, nil
}

// Shelf is what planOffer needs to know of the order's machine.
type Shelf struct {
	// Free is the units of product free (held, minus reserved) in the
	// machine; stocked is false when the machine does not hold it.
	Free func(product string) (free int64, stocked bool)
	// Substitutes are a product's substitutes, in order.
	Substitutes func(product string) []string
	// Price is the list price of one unit of product in the machine.
	Price func(product string) int64
}

// PlanOffer decides what a new order's lines need: nil and "" when every
// line can be reserved; the substitutes to offer when some line's units
// are missing and every such line has a substitute; else nil and the
// reason to reject the order (OUT_OF_STOCK: …, as without substitutes).
//
// For a line of n units with k < n free, the n-k missing units are offered
// as the first substitute (in the configured order) that has n-k units
// free, is not itself in the order and is not offered for another line;
// the k units stay reserved. The substitute is given for what the missing
// units were paid: amount × (n-k) / n, the rounding going to the
// substitute's share.
func PlanOffer(machineID string, lines []envelope.OrderLine, shelf Shelf) ([]envelope.SubstituteOffer, string) {
	inOrder := map[string]bool{}
	for _, l := range lines {
		inOrder[l.ProductID] = true
	}
	used := map[string]bool{}
	var offers []envelope.SubstituteOffer
	for i, l := range lines {
		free, stocked := shelf.Free(l.ProductID)
		free = max(0, free)
		if stocked && free >= l.Quantity {
			continue
		}
		missing := l.Quantity - free
		chosen := ""
		for _, s := range shelf.Substitutes(l.ProductID) {
			if inOrder[s] || used[s] {
				continue
			}
			if f, ok := shelf.Free(s); ok && f >= missing {
				chosen = s
				break
			}
		}
		if chosen == "" {
			if !stocked {
				return nil, fmt.Sprintf("OUT_OF_STOCK: %s is not stocked in machine %s", l.ProductID, machineID)
			}
			return nil, fmt.Sprintf("OUT_OF_STOCK: %d of %s free in machine %s, %d ordered", free, l.ProductID, machineID, l.Quantity)
		}
		used[chosen] = true
		kept := free
		offers = append(offers, envelope.SubstituteOffer{Line: i, ProductID: l.ProductID, SubstituteID: chosen, Quantity: missing,
			KeptQuantity: kept, AmountCents: l.AmountCents - l.AmountCents*kept/l.Quantity, ListPriceCents: missing * shelf.Price(chosen)})
	}
	return offers, ""
}

// Substituted returns an order's lines once its offer is accepted or
// refused, and what the units dropped were paid (refused only). A line
// partly substituted keeps its own product's units as one line, followed
// by the substitute's.
func Substituted(lines []envelope.OrderLine, s *envelope.Substitution, accept bool) (out []envelope.OrderLine, refund int64) {
	by := map[int]envelope.SubstituteOffer{}
	if s != nil {
		for _, o := range s.Lines {
			by[o.Line] = o
		}
	}
	out = []envelope.OrderLine{}
	for i, l := range lines {
		o, ok := by[i]
		if !ok {
			out = append(out, l)
			continue
		}
		if o.KeptQuantity > 0 {
			out = append(out, envelope.OrderLine{ProductID: l.ProductID, Quantity: o.KeptQuantity, AmountCents: l.AmountCents - o.AmountCents})
		}
		if accept {
			out = append(out, envelope.OrderLine{ProductID: o.SubstituteID, Quantity: o.Quantity, AmountCents: o.AmountCents})
		} else {
			refund += o.AmountCents
		}
	}
	return out, refund
}

// describeOffer is the reason of an order offered substitutes.
func describeOffer(offers []envelope.SubstituteOffer) string {
	parts := make([]string, len(offers))
	for i, o := range offers {
		parts[i] = fmt.Sprintf("%d %s instead of %s", o.Quantity, o.SubstituteID, o.ProductID)
	}
	return "OUT_OF_STOCK: substitute offered: " + strings.Join(parts, ", ")
}

// Decide applies the customer's answer to an order's substitute offer:
// accepted, the substitutes replace the missing units; refused (or
// decided after the offer expired), those units are dropped and refunded
// at central, and an order left with no line is REJECTED. The same answer
// again changes nothing. It returns an *errs.Error: NotFound, Conflict
// NO_SUBSTITUTION_OFFER, SUBSTITUTION_ANSWERED (the other answer was
// already taken) or ORDER_CLOSED (the order was cancelled or expired).
func (r *Rules) Decide(ctx context.Context, id string, d envelope.SubstitutionDecision, by string) (Order, error) {
	if d.By != "" {
		by = d.By + " via " + by
	}
	return ingest.Submit(ctx, r.w, func(t *ingest.Tx) (Order, error) {
		o, found, err := r.get(t, id)
		switch {
		case err != nil:
			return Order{}, err
		case !found:
			return Order{}, errNotFound(id)
		case o.Substitution == nil:
			return Order{}, errs.Errorf(errs.Conflict, "NO_SUBSTITUTION_OFFER", "orderId", "order %q has no substitute offer", id)
		case o.Substitution.State == envelope.SubstitutionAccepted && d.Accept,
			o.Substitution.State == envelope.SubstitutionRefused && !d.Accept:
			return o, nil
		case o.Substitution.State != envelope.SubstitutionOffered:
			return Order{}, errs.Errorf(errs.Conflict, "SUBSTITUTION_ANSWERED", "accept", "order %q's substitute offer was already %s", id, o.Substitution.State)
		case o.Status != envelope.OrderSubstitutionOffered:
			return Order{}, errs.Errorf(errs.Conflict, "ORDER_CLOSED", "orderId", "order %q is %s: %s", id, o.Status, o.Reason)
		}
		if !d.DecidedAt.IsZero() && d.DecidedAt.After(o.Substitution.ExpiresAt) {
			return r.answer(t, o, false, "no answer before the offer expired", "system")
		}
		if d.Accept {
			return r.answer(t, o, true, "substitute accepted by the customer", by)
		}
		return r.answer(t, o, false, "substitute refused by the customer", by)
	})
}

// answer closes o's offer.
func (r *Rules) answer(t *ingest.Tx, o Order, accept bool, reason, by string) (Order, error) {
	sub := *o.Substitution
	sub.By = by
	lines, refund := Substituted(o.Lines, &sub, accept)
	if accept {
		sub.State = envelope.SubstitutionAccepted
	} else {
		sub.State, sub.RefundCents, sub.Reason = envelope.SubstitutionRefused, refund, reason
		for _, s := range sub.Lines {
			if _, err := t.Exec(r.sq.releaseProduct, o.OrderID, o.MachineID, s.SubstituteID); err != nil {
				return Order{}, fmt.Errorf("release substitute: %w", err)
			}
			k := slotKey{o.MachineID, s.SubstituteID}
			if r.reserved[k] -= s.Quantity; r.reserved[k] <= 0 {
				delete(r.reserved, k)
			}
		}
	}
	o.Lines, o.Substitution = lines, &sub
	if err := r.saveOffer(t, o); err != nil {
		return Order{}, err
	}
	if len(lines) == 0 {
		return r.move(t, o, envelope.OrderRejected, reason+": no line left", by, true)
	}
	return r.move(t, o, sub.Then, reason, by, false)
}

func (r *Rules) saveOffer(t *ingest.Tx, o Order) error {
	lines, err := json.Marshal(o.Lines)
	if err != nil {
		return err
	}
	sub, err := json.Marshal(o.Substitution)
	if err != nil {
		return err
	}
	if _, err := t.Exec(r.sq.setOffer, string(lines), string(sub), o.OrderID); err != nil {
		return fmt.Errorf("save substitute offer: %w", err)
	}
	return nil
}

// sweepOffers refuses the offers not answered in time.
func (r *Rules) sweepOffers(t *ingest.Tx) error {
	ids, err := orderIDs(t, r.sq.offered)
	if err != nil {
		return fmt.Errorf("find substitute offers: %w", err)
	}
	for _, id := range ids {
		o, _, err := r.get(t, id)
		if err != nil {
			return err
		}
		if o.Substitution == nil || t.Now().Before(o.Substitution.ExpiresAt) {
			continue
		}
		if _, err := r.answer(t, o, false, "no answer to the substitute offer in time", "system"); err != nil {
			return err
		}
	}
	return nil
}

// offerWindow is how long a customer has to answer an offer made now for
// an order expiring at expires.
func (r *Rules) offerWindow(now, expires time.Time) time.Time {
	end := now.Add(r.cfg.SubstituteWindow)
	if end.After(expires) {
		return expires
	}
	return end
}
