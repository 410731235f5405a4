package sale

import (
	"context"
	"fmt"

	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/machine"
	"github.com/vendsync/vendsync/edge/payment"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/sync/wire"
)

// SetPayments makes every sale record its payment in p (before the
// writer opens). Without it no payment is kept and GATEWAY sales are
// refused.
func (r *Rules) SetPayments(p *payment.Rules) { r.payments = p }

// checkPayment checks the sale's payment method (one of the closed set,
// 400 otherwise) and payment details (no card number, a token for GATEWAY).
func (r *Rules) checkPayment(s *sale) error {
	m, err := wire.ParsePaymentMethod(s.in.PaymentMethod)
	if err != nil {
		return errs.Invalidf("paymentMethod", "%v", err)
	}
	s.method = m
	return payment.CheckPayment(m, s.in.Card, s.in.PaymentToken)
}

// oneByOne refuses a GATEWAY sale in a batch: the gateway charges each
// sale while the machine waits, one request each.
func oneByOne(s *sale) error {
	if s.method == wire.Gateway {
		return errs.Invalidf("paymentMethod", "GATEWAY sales are charged one at a time: POST /events/sales")
	}
	return nil
}

// payment is what the ledger needs of the sale.
func (s *sale) payment() payment.Sale {
	return payment.Sale{MachineID: s.in.MachineID, TransactionID: s.in.TransactionID, ProductID: s.in.ProductID,
		Quantity: s.qty, AmountCents: s.amount, MethodName: s.in.PaymentMethod, Method: s.method, Card: s.in.Card, SoldAt: s.at}
}

// paid records the sale's payment in its transaction.
func (r *Rules) paid(t *ingest.Tx, s *sale) error {
	if r.payments == nil || s.prepaid {
		return nil
	}
	return r.payments.Paid(t, s.payment(), "machine:"+s.in.MachineID)
}

// insertPaidSale inserts a validated sale's row (inserted false: it was
// there already). A plain cash, card or mobile sale of a site with a
// payments ledger keeps its payment on that row (folded, payment.Fold);
// any other sale's payment is the caller's to record (paid).
func (r *Rules) insertPaidSale(t *ingest.Tx, s *sale, seq uint64) (inserted, folded bool, err error) {
	if r.payments == nil || s.prepaid || s.priced != nil || !payment.Foldable(s.payment(), "machine:"+s.in.MachineID) {
		res, err := r.insertSale(t, s, seq)
		if err != nil {
			return false, false, fmt.Errorf("insert sale: %w", err)
		}
		n, _ := res.RowsAffected()
		return n > 0, false, nil
	}
	err = r.payments.Fold(t, s.payment(), func(f payment.Folded) (bool, error) {
		res, err := t.Exec(r.insertFolded, s.in.TransactionID, s.in.MachineID, s.in.ProductID, s.qty, s.amount, s.in.PaymentMethod,
			s.at.UnixMilli(), t.Now().UnixMilli(), s.hash, seq, f.ID, f.Method, f.Day, f.CardRef, f.CardLast)
		if err != nil {
			return false, fmt.Errorf("insert sale: %w", err)
		}
		n, _ := res.RowsAffected()
		inserted = n > 0
		return inserted, nil
	})
	return inserted, inserted, err
}

// charge takes a GATEWAY sale's payment before the sale is recorded (the
// machine dispenses on the answer). The sale is checked against the
// machine and its stock first, so nothing is charged for a sale that
// would be refused; a sale already recorded is a replay and charges
// nothing.
func (r *Rules) charge(ctx context.Context, s *sale) error {
	if s.method != wire.Gateway {
		return nil
	}
	if s.lines != nil {
		return errs.Invalidf("paymentMethod", "a GATEWAY sale is charged for one product: post each product as its own sale (productId, quantity), not as lines")
	}
	if r.payments == nil {
		return errs.Errorf(errs.Unavailable, "GATEWAY_NOT_CONFIGURED", "paymentMethod", "this site keeps no payments ledger")
	}
	_, err := r.payments.Charge(ctx, s.payment(), s.in.PaymentToken, func(t *ingest.Tx) (bool, error) {
		if _, ok, err := r.findSale(t, s); err != nil || ok {
			return ok, err
		}
		m, err := r.machines.Reporting(s.in.MachineID)
		if err != nil {
			return false, err
		}
		return false, r.checkCharge(m, s)
	})
	return err
}

// checkCharge is record's refusals, before any money moves.
func (r *Rules) checkCharge(m *machine.Machine, s *sale) error {
	slot := r.stock.Slot(s.in.MachineID, s.in.ProductID)
	if slot == nil {
		return errs.Errorf(errs.Unprocessable, "UNKNOWN_PRODUCT", "productId", "product %q is not stocked in machine %q", s.in.ProductID, s.in.MachineID)
	}
	if err := r.checkAmount(s, slot.Price); err != nil {
		return err
	}
	return payment.Accepts(m.ID, m.PaymentMethods, s.in.PaymentMethod, s.method)
}
