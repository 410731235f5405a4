package sale

import (
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/vendsync/vendsync/edge/check"
	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/payment"
	"github.com/vendsync/vendsync/edge/promotion"
	"github.com/vendsync/vendsync/edge/stock"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/internal/promo"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// A sale with promotions, and the basket form of a sale.
//
// A basket (In.Lines) is several products sold together, as a counter sale
// is. It is recorded as one sale per line, with transaction ids
// "<transactionId>#1", "#2", … in line order, each carrying its list
// amount, discount and promotions; its amount is the basket's net, which
// must equal the edge's own pricing to the cent (a counter prices with
// POST /promotions/evaluate first). A one-product sale keeps its tolerance
// (machines round, prices lag): its amount may be within tolerance of the
// net with promotions, or, when it claims no promotion figures, of the list
// price (a machine that does not know the promotion), which is recorded as
// a sale without discount.
//
// Figures a sale claims (listAmount, discount, promotions) must equal the
// edge's; a code must apply. Every refusal names the field and the expected
// figures.

// LineIn is one line of a basket sale.
type LineIn struct {
	ProductID string `json:"productId"`
	Quantity  *int64 `json:"quantity"`
}

// MaxLines bounds a basket's lines.
const MaxLines = 100

// maxBasketID leaves room for the line suffix "#100" in a 64-character id.
const maxBasketID = check.MaxIDLen - 4

// UsePromotions prices sales with p (before the writer opens). Without it
// a sale is priced at list prices, and a code is unknown.
func (r *Rules) UsePromotions(p *promotion.Rules) { r.promos = p }

func (r *Rules) prepareBaskets() {
	r.insertLine = r.w.Prepare(`INSERT INTO sales_events (transaction_id, machine_id, product_id, quantity, amount_cents, payment_method, event_time, received_at, body_hash, seq,
			list_cents, discount_cents, basket_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (machine_id, transaction_id) DO NOTHING`)
	r.replayLines = r.w.Prepare(`SELECT COUNT(*), COALESCE(SUM(COALESCE(list_cents, amount_cents)), 0), COALESCE(SUM(discount_cents), 0), COALESCE(SUM(amount_cents), 0)
			FROM sales_events WHERE machine_id = ?1 AND basket_id = ?2 AND transaction_id >= ?2 AND transaction_id < ?2 || '$'`)
	r.replayPromos = r.w.Prepare(`SELECT promotion_id, SUM(discount_cents) FROM sale_promotions WHERE machine_id = ? AND basket_id = ?
			GROUP BY promotion_id ORDER BY promotion_id`)
}

type line struct {
	productID string
	qty       int64
}

// priced is what promotions made of a sale.
type priced struct {
	res promo.Result
	// discounted: charged with the promotions of res; false: charged the
	// list price (nothing applied).
	discounted bool
}

// Pricing is how an accepted sale was priced (only for sales with
// promotion fields or a discount).
type Pricing struct {
	ListAmount wire.Money         `json:"listAmount"`
	Discount   wire.Money         `json:"discount"`
	Amount     wire.Money         `json:"amount"`
	Promotions []AppliedPromotion `json:"promotions"`
}

// AppliedPromotion is one promotion's share of a sale's discount.
type AppliedPromotion struct {
	PromotionID string     `json:"promotionId"`
	Discount    wire.Money `json:"discount"`
}

func (in In) hasPromoFields() bool {
	return in.Lines != nil || in.Code != "" || in.CustomerID != "" || in.ListAmount != nil || in.Discount != nil || in.Promotions != nil
}

func (in In) claims() bool { return in.ListAmount != nil || in.Discount != nil || in.Promotions != nil }

// checkLines checks the basket form.
func checkLines(in In) ([]line, error) {
	if in.ProductID != "" || in.Quantity != nil {
		return nil, errs.Invalidf("lines", "give productId and quantity for one product, or lines for a basket, not both")
	}
	if len(in.Lines) == 0 {
		return nil, errs.Invalidf("lines", "lines must hold at least one line")
	}
	if len(in.Lines) > MaxLines {
		return nil, errs.Invalidf("lines", "lines holds %d lines; at most %d", len(in.Lines), MaxLines)
	}
	if len(in.TransactionID) > maxBasketID {
		return nil, errs.Invalidf("transactionId", "a basket's transactionId is at most %d characters (its lines are recorded as <id>#1, #2, …)", maxBasketID)
	}
	out := make([]line, len(in.Lines))
	seen := map[string]int{}
	for i, l := range in.Lines {
		f := fmt.Sprintf("lines[%d]", i)
		if err := check.ID(f+".productId", l.ProductID); err != nil {
			return nil, err
		}
		if j, ok := seen[l.ProductID]; ok {
			return nil, errs.Invalidf(f+".productId", "product %q is already on line %d; give one line per product", l.ProductID, j)
		}
		seen[l.ProductID] = i
		if l.Quantity == nil {
			return nil, errs.Invalidf(f+".quantity", "%s.quantity is required", f)
		}
		if *l.Quantity <= 0 || *l.Quantity > MaxQuantity {
			return nil, errs.Invalidf(f+".quantity", "%s.quantity %d: must be between 1 and %d", f, *l.Quantity, MaxQuantity)
		}
		out[i] = line{l.ProductID, *l.Quantity}
	}
	return out, nil
}

// checkPromoFields checks the promotion fields any sale may carry.
func checkPromoFields(in In) error {
	if in.Code != "" && (len(in.Code) > promo.MaxCodeLen || strings.ContainsAny(in.Code, " \t\r\n")) {
		return errs.Invalidf("code", "code: at most %d characters without spaces", promo.MaxCodeLen)
	}
	if in.CustomerID != "" {
		if err := check.ID("customerId", in.CustomerID); err != nil {
			return err
		}
	}
	if in.ListAmount != nil && *in.ListAmount < 0 {
		return errs.Invalidf("listAmount", "listAmount %s must not be negative", *in.ListAmount)
	}
	if in.Discount != nil && *in.Discount < 0 {
		return errs.Invalidf("discount", "discount %s must not be negative", *in.Discount)
	}
	if len(in.Promotions) > 50 {
		return errs.Invalidf("promotions", "at most 50 promotions")
	}
	for i, id := range in.Promotions {
		if err := check.ID(fmt.Sprintf("promotions[%d]", i), id); err != nil {
			return err
		}
	}
	return nil
}

// promoHash extends a sale's body hash with its promotion fields and lines.
func promoHash(base []byte, in In) []byte {
	h := sha256.New()
	h.Write(base)
	var b [8]byte
	for _, l := range in.Lines {
		h.Write([]byte(l.ProductID))
		h.Write([]byte{0})
		if l.Quantity != nil {
			binary.BigEndian.PutUint64(b[:], uint64(*l.Quantity))
		}
		h.Write(b[:])
	}
	h.Write([]byte{1})
	for _, s := range []string{in.Code, in.CustomerID, strings.Join(in.Promotions, ",")} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	for _, m := range []*wire.Money{in.ListAmount, in.Discount} {
		if m == nil {
			h.Write([]byte{0})
			continue
		}
		binary.BigEndian.PutUint64(b[:], uint64(*m))
		h.Write([]byte{1})
		h.Write(b[:])
	}
	return h.Sum(nil)
}

// priceSale prices a one-product sale: exactly the old amount check when
// the sale has no promotion fields and no promotion gives a discount.
func (r *Rules) priceSale(t *ingest.Tx, s *sale, price int64) error {
	if r.promos == nil && !s.in.hasPromoFields() {
		return r.checkAmount(s, price)
	}
	res, err := r.price(t, s, []promo.Line{{ProductID: s.in.ProductID, Quantity: s.qty, UnitPrice: wire.Money(price)}})
	if err != nil {
		return err
	}
	if res.Discount == 0 && !s.in.hasPromoFields() {
		return r.checkAmount(s, price) // no promotion concerns it: as before
	}
	return r.settle(s, res, func() error { return r.checkAmount(s, price) })
}

func (r *Rules) price(t *ingest.Tx, s *sale, lines []promo.Line) (promo.Result, error) {
	if r.promos == nil {
		return promo.Evaluate(promo.Input{Lines: lines, Code: s.in.Code, CustomerID: s.in.CustomerID, Now: s.at}, nil), nil
	}
	return r.promos.Price(t, promotion.Basket{Lines: lines, Code: s.in.Code, CustomerID: s.in.CustomerID, At: s.at})
}

// settle checks a sale's code, claimed figures and amount against the
// edge's pricing res and sets s.priced. listOnly is the amount check
// against the list price of a one-product sale (nil for a basket, which
// must match to the cent).
func (r *Rules) settle(s *sale, res promo.Result, listOnly func() error) error {
	applied := make([]string, len(res.Applied))
	for i, a := range res.Applied {
		applied[i] = a.PromotionID
	}
	figures := fmt.Sprintf("list %s − discount %s = %s", res.Gross, res.Discount, res.Net)
	if len(applied) > 0 {
		figures += " by promotions " + strings.Join(applied, ", ")
	}
	switch res.Code {
	case promo.CodeUnknown:
		return errs.Errorf(errs.Unprocessable, "UNKNOWN_CODE", "code", "code %q is not a promotion code at this site", s.in.Code)
	case promo.CodeExpired:
		return errs.Errorf(errs.Unprocessable, "CODE_EXPIRED", "code", "code %q is not valid now (inactive or outside its dates and hours)", s.in.Code)
	case promo.CodeNotApplicable:
		return errs.Errorf(errs.Unprocessable, "CODE_NOT_APPLICABLE", "code", "code %q gives nothing on this sale (%s)", s.in.Code, figures)
	}
	if s.in.ListAmount != nil && *s.in.ListAmount != res.Gross {
		return errs.Errorf(errs.Unprocessable, "AMOUNT_MISMATCH", "listAmount", "listAmount %s does not match the edge's list amount %s (%s)", *s.in.ListAmount, res.Gross, figures)
	}
	if s.in.Discount != nil && *s.in.Discount != res.Discount {
		return errs.Errorf(errs.Unprocessable, "DISCOUNT_MISMATCH", "discount", "discount %s does not match the edge's discount %s (%s)", *s.in.Discount, res.Discount, figures)
	}
	if s.in.Promotions != nil {
		got := slices.Clone(s.in.Promotions)
		slices.Sort(got)
		want := slices.Clone(applied)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			return errs.Errorf(errs.Unprocessable, "DISCOUNT_MISMATCH", "promotions", "promotions [%s] do not match the edge's [%s] (%s)",
				strings.Join(s.in.Promotions, ", "), strings.Join(applied, ", "), figures)
		}
	}
	tol := int64(0)
	if listOnly != nil {
		tol = r.tolerance(int64(res.Net))
	}
	if d := s.amount - int64(res.Net); d <= tol && d >= -tol {
		s.priced = &priced{res: res, discounted: res.Discount > 0}
		return nil
	}
	if !s.in.claims() && res.Discount > 0 {
		// charged the list price, as a machine that does not know the
		// promotion does: a sale without discount
		if listOnly != nil && listOnly() == nil || listOnly == nil && s.amount == int64(res.Gross) {
			s.priced = &priced{res: res}
			return nil
		}
	}
	return errs.Errorf(errs.Unprocessable, "AMOUNT_MISMATCH", "amount", "amount %s does not match the expected %s (%s; tolerance %s)",
		wire.Money(s.amount), res.Net, figures, wire.Money(tol))
}

func (r *Rules) tolerance(expect int64) int64 {
	return int64(float64(expect)*r.cfg.AmountTolerance+0.5) + 1
}

// insertSale inserts a one-product sale, with its list amount and
// discount when promotions discounted it.
func (r *Rules) insertSale(t *ingest.Tx, s *sale, seq uint64) (sql.Result, error) {
	if p := s.priced; p != nil {
		var disc int64
		if p.discounted {
			disc = int64(p.res.Discount)
		}
		return t.Exec(r.insertLine, s.in.TransactionID, s.in.MachineID, s.in.ProductID, s.qty, s.amount, s.in.PaymentMethod,
			s.at.UnixMilli(), t.Now().UnixMilli(), s.hash, seq, int64(p.res.Gross), disc, s.in.TransactionID)
	}
	return t.Exec(r.insert, s.in.TransactionID, s.in.MachineID, s.in.ProductID, s.qty, s.amount, s.in.PaymentMethod,
		s.at.UnixMilli(), t.Now().UnixMilli(), s.hash, seq)
}

// withDiscount adds line i of a priced sale's figures to its event.
func withDiscount(ev envelope.Sale, p *priced, i int) envelope.Sale {
	if p == nil || !p.discounted || p.res.Lines[i].Discount == 0 {
		return ev
	}
	l := p.res.Lines[i]
	ev.ListCents, ev.DiscountCents = int64(l.List), int64(l.Discount)
	for _, a := range p.res.Applied {
		for k, j := range a.Lines {
			if j == i {
				ev.Promotions = append(ev.Promotions, envelope.SalePromotion{PromotionID: a.PromotionID, DiscountCents: int64(a.LineDiscounts[k])})
			}
		}
	}
	return ev
}

// redeem books a recorded sale's promotions and customer purchase.
func (r *Rules) redeem(t *ingest.Tx, s *sale, txIDs []string, locKey string) error {
	if r.promos == nil || s.priced == nil {
		return nil
	}
	return r.promos.Redeem(t, promotion.Sale{MachineID: s.in.MachineID, BasketID: s.in.TransactionID, TransactionIDs: txIDs, Location: locKey,
		CustomerID: s.in.CustomerID, At: s.at, Result: s.priced.res, Discounted: s.priced.discounted})
}

func (s *sale) pricing() *Pricing {
	if s.priced == nil {
		return nil
	}
	res := s.priced.res
	p := &Pricing{ListAmount: res.Gross, Amount: wire.Money(s.amount), Promotions: []AppliedPromotion{}}
	if s.priced.discounted {
		p.Discount = res.Discount
		for _, a := range res.Applied {
			p.Promotions = append(p.Promotions, AppliedPromotion{PromotionID: a.PromotionID, Discount: a.Discount})
		}
		slices.SortFunc(p.Promotions, func(a, b AppliedPromotion) int { return strings.Compare(a.PromotionID, b.PromotionID) })
	}
	return p
}

// recordBasket records a basket: one sale per line, all or none.
func (r *Rules) recordBasket(t *ingest.Tx, s *sale) (Result, error) {
	first := s.in.TransactionID + "#1"
	m, reject := r.machines.Reporting(s.in.MachineID)
	slots := make([]*stock.Slot, len(s.lines))
	if reject == nil {
		lines := make([]promo.Line, len(s.lines))
		for i, l := range s.lines {
			if slots[i] = r.stock.Slot(s.in.MachineID, l.productID); slots[i] == nil {
				reject = errs.Errorf(errs.Unprocessable, "UNKNOWN_PRODUCT", fmt.Sprintf("lines[%d].productId", i), "product %q is not stocked in machine %q", l.productID, s.in.MachineID)
				break
			}
			lines[i] = promo.Line{ProductID: l.productID, Quantity: l.qty, UnitPrice: wire.Money(slots[i].Price)}
		}
		if reject == nil {
			res, err := r.price(t, s, lines)
			if err != nil {
				return Result{}, err
			}
			reject = r.settle(s, res, nil)
		}
		if reject == nil {
			reject = payment.Accepts(m.ID, m.PaymentMethods, s.in.PaymentMethod, s.method)
		}
		for i, l := range s.lines { // units held for pre-orders are not for walk-up baskets either
			if reject == nil {
				ls := *s
				ls.qty = l.qty
				reject = r.checkReserved(&ls, slots[i])
			}
		}
	}
	if reject != nil {
		if prev, ok, err := r.findBasket(t, s, first); err != nil || ok {
			return prev, err
		}
		return Result{}, reject
	}
	loc := m.Location()
	locKey := loc.Key()
	res := s.priced.res
	ids := make([]string, len(s.lines))
	var firstSeq uint64
	var flags []string
	for i, l := range s.lines {
		ids[i] = fmt.Sprintf("%s#%d", s.in.TransactionID, i+1)
		pl := res.Lines[i]
		amount, list, disc := int64(pl.List), int64(pl.List), int64(0)
		if s.priced.discounted {
			amount, disc = int64(pl.Net), int64(pl.Discount)
		}
		seq := t.NextSeq()
		ins, err := t.Exec(r.insertLine, ids[i], s.in.MachineID, l.productID, l.qty, amount, s.in.PaymentMethod,
			s.at.UnixMilli(), t.Now().UnixMilli(), s.hash, seq, list, disc, s.in.TransactionID)
		if err != nil {
			return Result{}, fmt.Errorf("insert sale: %w", err)
		}
		if n, _ := ins.RowsAffected(); n == 0 {
			prev, _, err := r.findBasket(t, s, first)
			return prev, err
		}
		if i == 0 {
			firstSeq = seq
		}
		// Each line is a sale of its own in the payments ledger too, so a
		// line can be refunded (and its units put back) on its own.
		ls := *s
		ls.in.TransactionID, ls.in.ProductID, ls.qty, ls.amount = ids[i], l.productID, l.qty, amount
		if err := r.paid(t, &ls); err != nil {
			return Result{}, err
		}
		after := max(0, slots[i].Qty-l.qty)
		taken, err := r.stock.SellLots(t, slots[i], l.qty, ids[i])
		if err != nil {
			return Result{}, err
		}
		flags = append(flags, taken.Flags()...)
		ev := withDiscount(envelope.Sale{
			TransactionID: ids[i], MachineID: s.in.MachineID, ProductID: l.productID, Quantity: l.qty,
			AmountCents: amount, PaymentMethod: s.in.PaymentMethod, City: loc.City, Location: locKey, StockAfter: &after,
			Lots: taken.Uses, CogsCents: taken.CogsCents(), Flags: taken.Flags(),
		}, s.priced, i)
		ev.BasketID = s.in.TransactionID
		if _, err := t.Emit(envelope.KindSale, s.at, ev); err != nil {
			return Result{}, err
		}
		t.CountSale("machine", s.in.MachineID, s.at, l.qty, amount)
		t.CountSale("product", l.productID, s.at, l.qty, amount)
		t.CountSale("location", locKey, s.at, l.qty, amount)
		if err := r.stock.Sell(t, slots[i], l.qty, ids[i]); err != nil {
			return Result{}, err
		}
		if err := r.stock.SoldUnfit(t, slots[i], taken, ids[i]); err != nil {
			return Result{}, err
		}
	}
	if err := r.redeem(t, s, ids, locKey); err != nil {
		return Result{}, err
	}
	slices.Sort(flags)
	return Result{Status: "ACCEPTED", TransactionID: s.in.TransactionID, Sequence: firstSeq, Pricing: s.pricing(), Flags: slices.Compact(flags)}, nil
}

// findBasket looks up an earlier basket by its first line, and answers a
// replay with the first answer's figures.
func (r *Rules) findBasket(t *ingest.Tx, s *sale, first string) (Result, bool, error) {
	probe := *s
	probe.in.TransactionID = first
	prev, ok, err := r.findSale(t, &probe)
	if !ok || err != nil {
		if e, isDomain := errs.As(err); isDomain {
			e.Message = fmt.Sprintf("transaction %q was already recorded with a different body", s.in.TransactionID)
		}
		return prev, ok, err
	}
	prev.TransactionID = s.in.TransactionID
	if err := r.replayPricing(t, s.in.MachineID, s.in.TransactionID, &prev); err != nil {
		return Result{}, true, err
	}
	return prev, true, nil
}

// replayPricing gives a replayed sale the pricing of its first answer, from
// the rows recorded under basket (none for a sale without promotion fields
// or discount). Those rows' transaction ids are basket itself (a one-product
// sale) or basket#n (a basket's lines): replayLines reads that key range of
// the machine (sales_events_key) rather than every sale of the machine.
func (r *Rules) replayPricing(t *ingest.Tx, machineID, basket string, res *Result) error {
	var n int64
	p := &Pricing{Promotions: []AppliedPromotion{}}
	if err := t.QueryRow(r.replayLines, machineID, basket).Scan(&n, &p.ListAmount, &p.Discount, &p.Amount); err != nil {
		return fmt.Errorf("find pricing: %w", err)
	}
	if n == 0 {
		return nil
	}
	rows, err := t.Query(r.replayPromos, machineID, basket)
	if err != nil {
		return fmt.Errorf("find pricing: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a AppliedPromotion
		if err := rows.Scan(&a.PromotionID, &a.Discount); err != nil {
			return fmt.Errorf("find pricing: %w", err)
		}
		p.Promotions = append(p.Promotions, a)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("find pricing: %w", err)
	}
	res.Pricing = p
	return nil
}
