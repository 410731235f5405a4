package payment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/internal/errs"
	gw "github.com/vendsync/vendsync/internal/payment"
	"github.com/vendsync/vendsync/sync/wire"
)

// gateway returns the provider, or why GATEWAY payments can't be taken now.
func (r *Rules) gateway() (gw.Provider, error) {
	if r.cfg.Provider == nil {
		return nil, errs.Errorf(errs.Unavailable, "GATEWAY_NOT_CONFIGURED", "paymentMethod",
			"this site has no payment gateway configured; take CASH, CARD or MOBILE")
	}
	if r.cfg.Online != nil && !r.cfg.Online() {
		return nil, errs.Errorf(errs.Unavailable, "GATEWAY_OFFLINE", "paymentMethod",
			"the site is offline: GATEWAY payments need the link; CASH, CARD and MOBILE still work")
	}
	return r.cfg.Provider, nil
}

// key is the idempotency key of one gateway step of payment id: unique in
// the fleet (site ids are), the same on every retry of the step.
func (r *Rules) key(id int64, step string) string {
	return fmt.Sprintf("vendsync:%s:payment:%d:%s", r.w.Site().ID, id, step)
}

// Charge takes the GATEWAY payment of s before its sale is recorded:
// authorize, then capture, each step committed before the next gateway
// call, so a retry of the same sale resumes where the last attempt
// stopped. check runs in the first transaction, before anything is
// written: it checks the sale against the machine and its stock, and says
// recorded when the sale is already recorded (a replay: nothing is
// charged). Charge returns with the payment AUTHORIZED and captured at the
// gateway (Paid, in the sale's transaction, records the capture), or an
// error: Unavailable GATEWAY_OFFLINE, GATEWAY_NOT_CONFIGURED or
// GATEWAY_UNAVAILABLE (the payment stays where it was; retry the sale),
// Unprocessable PAYMENT_DECLINED (the payment is FAILED), Conflict
// IDEMPOTENCY_CONFLICT, or check's error.
func (r *Rules) Charge(ctx context.Context, s Sale, token string, check func(*ingest.Tx) (bool, error)) (recorded bool, err error) {
	p, err := r.gateway()
	if err != nil {
		return false, err
	}
	type start struct {
		cur      row
		recorded bool
	}
	st, err := ingest.Submit(ctx, r.w, func(t *ingest.Tx) (start, error) {
		if done, err := check(t); err != nil || done {
			return start{recorded: done}, err
		}
		cur, err := scan(t.QueryRow(r.find, s.MachineID, s.TransactionID))
		if errors.Is(err, sql.ErrNoRows) {
			cur, err = r.create(t, s, gw.Pending, "gateway", "sent to the gateway", false)
			return start{cur: cur}, err
		}
		if err != nil {
			return start{}, fmt.Errorf("find payment: %w", err)
		}
		if cur.product != s.ProductID || cur.qty != s.Quantity || cur.amount != s.AmountCents || cur.method != string(s.Method) {
			return start{}, errs.Errorf(errs.Conflict, "IDEMPOTENCY_CONFLICT", "transactionId",
				"transaction %q already has a payment with a different body", s.TransactionID)
		}
		return start{cur: cur}, nil
	})
	if err != nil || st.recorded {
		return st.recorded, err
	}
	cur := st.cur
	for {
		switch cur.status {
		case gw.Pending:
			cctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
			in, err := p.Authorize(cctx, gw.Request{
				Amount: cur.amount, Currency: r.cfg.Currency, Method: token,
				Description: fmt.Sprintf("%s × %d at %s", cur.product, cur.qty, cur.machine),
				Metadata: map[string]string{"site": r.w.Site().ID, "machineId": cur.machine, "transactionId": cur.tx,
					"paymentId": fmt.Sprint(cur.id)},
				IdempotencyKey: r.key(cur.id, "authorize"),
			})
			cancel()
			if err != nil {
				return false, r.failed(ctx, &cur, err)
			}
			next := in.Status
			if next != gw.Authorized && next != gw.Captured {
				return false, r.failed(ctx, &cur, fmt.Errorf("gateway answered %s (%s): %w", in.Status, in.GatewayStatus, gw.ErrDeclined))
			}
			cur.gatewayID = in.ID
			if err := r.w.Do(ctx, func(t *ingest.Tx) error {
				return r.move(t, &cur, gw.Authorized, cur.amount, "authorized at the gateway ("+in.GatewayStatus+")", in.ID, "gateway", 0)
			}); err != nil {
				return false, err
			}
			if next == gw.Captured {
				return false, nil
			}
		case gw.Authorized:
			cctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
			_, err := p.Capture(cctx, cur.gatewayID, r.key(cur.id, "capture"))
			cancel()
			if err != nil {
				return false, r.failed(ctx, &cur, err)
			}
			return false, nil
		case gw.Captured:
			return false, nil
		case gw.Failed:
			return false, errs.Errorf(errs.Unprocessable, "PAYMENT_DECLINED", "paymentToken",
				"payment %d of %q failed earlier (%s); a new attempt needs a new transactionId", cur.id, cur.tx, cur.failure)
		default:
			return false, errs.Errorf(errs.Conflict, "PAYMENT_CLOSED", "transactionId", "payment %d of %q is %s", cur.id, cur.tx, cur.status)
		}
	}
}

// failed turns a gateway error into the answer: a gateway that said no
// fails the payment (recorded) and answers PAYMENT_DECLINED; one that could
// not be reached leaves the payment as it is and answers
// GATEWAY_UNAVAILABLE, so the same sale can be retried.
func (r *Rules) failed(ctx context.Context, cur *row, err error) error {
	if !errors.Is(err, gw.ErrDeclined) && !errors.Is(err, gw.ErrActionRequired) {
		return errs.Errorf(errs.Unavailable, "GATEWAY_UNAVAILABLE", "paymentMethod",
			"the payment gateway did not answer (%v); retry the same sale, it will not be charged twice", err)
	}
	msg := err.Error()
	if err := r.w.Do(ctx, func(t *ingest.Tx) error {
		return r.move(t, cur, gw.Failed, cur.amount, msg, cur.gatewayID, "gateway", 0)
	}); err != nil {
		return err
	}
	return errs.Errorf(errs.Unprocessable, "PAYMENT_DECLINED", "paymentToken", "the gateway declined payment %d: %s", cur.id, msg)
}

// Refund refunds a captured payment in full, or voids an authorized
// GATEWAY one, by by: through the gateway for GATEWAY payments, in the
// ledger only for the others (the terminal or the cashier gave the money
// back; in.Reference says how). With in.NotDispensed the sale's units go
// back into the machine. A payment already refunded or voided answers
// again unchanged (Replayed). It returns NotFound, Conflict
// PAYMENT_NOT_REFUNDABLE (pending or failed), Invalid for a bad body, or a
// gateway error as Charge does.
func (r *Rules) Refund(ctx context.Context, id int64, in RefundIn, by string) (Payment, error) {
	if len(in.Reason) > 200 {
		return Payment{}, errs.Invalidf("reason", "reason is longer than 200 characters")
	}
	if len(in.Reference) > 64 {
		return Payment{}, errs.Invalidf("reference", "reference is longer than 64 characters")
	}
	if LooksLikePAN(in.Reference) || LooksLikePAN(in.Reason) {
		return Payment{}, errs.Errorf(errs.Invalid, "CARD_NUMBER_REFUSED", "reference",
			"the refund holds something that looks like a full card number; card numbers are never stored")
	}
	cur, err := r.read(ctx, id)
	if err != nil {
		return Payment{}, err
	}
	switch cur.status {
	case gw.Refunded, gw.Voided:
		out := cur.out()
		out.Replayed = true
		return out, nil
	case gw.Pending, gw.Failed:
		return Payment{}, errs.Errorf(errs.Conflict, "PAYMENT_NOT_REFUNDABLE", "", "payment %d is %s: there is nothing to refund", id, cur.status)
	}
	target, ref := gw.Refunded, in.Reference
	if cur.status == gw.Authorized {
		target = gw.Voided
	}
	if cur.method == string(wire.Gateway) {
		p, err := r.gateway()
		if err != nil {
			return Payment{}, err
		}
		cctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
		if target == gw.Voided {
			_, err = p.Void(cctx, cur.gatewayID, r.key(id, "void"))
		} else {
			var re gw.Refund
			re, err = p.Refund(cctx, cur.gatewayID, cur.amount-cur.refunded, r.key(id, "refund"))
			ref = re.ID
		}
		cancel()
		if err != nil {
			if errors.Is(err, gw.ErrDeclined) {
				return Payment{}, errs.Errorf(errs.Unprocessable, "REFUND_DECLINED", "", "the gateway refused to refund payment %d: %v", id, err)
			}
			return Payment{}, errs.Errorf(errs.Unavailable, "GATEWAY_UNAVAILABLE", "", "the payment gateway did not answer (%v); retry the refund", err)
		}
	}
	reason := in.Reason
	if reason == "" {
		reason = "refund"
	}
	return ingest.Submit(ctx, r.w, func(t *ingest.Tx) (Payment, error) {
		now, err := scan(t.QueryRow(r.findID, id))
		if errors.Is(err, sql.ErrNoRows) {
			now, err = scan(t.QueryRow(r.findFolded, id))
		}
		if err != nil {
			return Payment{}, fmt.Errorf("find payment: %w", err)
		}
		if now.status == gw.Refunded || now.status == gw.Voided {
			out := now.out()
			out.Replayed = true
			return out, nil
		}
		if !gw.CanMove(now.status, target) {
			return Payment{}, errs.Errorf(errs.Conflict, "PAYMENT_NOT_REFUNDABLE", "", "payment %d is %s", id, now.status)
		}
		var restocked int64
		if in.NotDispensed {
			before := int64(0)
			if s := r.stock.Slot(now.machine, now.product); s != nil {
				before = s.Qty
			}
			after, ok, err := r.stock.Return(t, now.machine, now.product, now.qty, fmt.Sprintf("refund:%s:%d", r.w.Site().ID, id), by)
			if err != nil {
				return Payment{}, err
			}
			if ok {
				restocked = after - before
			}
		}
		if err := r.move(t, &now, target, now.amount-now.refunded, reason, ref, by, restocked); err != nil {
			return Payment{}, err
		}
		return now.out(), nil
	})
}

// Webhook applies a gateway confirmation (a Stripe webhook: payload and
// its Stripe-Signature header) once per event id: a redelivered event is
// answered Duplicate and changes nothing; an event about a payment this
// site does not hold, or that does not move it forward, is kept and not
// applied. It returns Invalid INVALID_SIGNATURE for a payload that does
// not verify, Unavailable when no secret is configured.
func (r *Rules) Webhook(ctx context.Context, payload []byte, signature string) (WebhookResult, error) {
	if r.cfg.WebhookSecret == "" {
		return WebhookResult{}, errs.Errorf(errs.Unavailable, "WEBHOOK_NOT_CONFIGURED", "", "this site has no webhook secret configured")
	}
	ev, err := gw.ParseStripeEvent(payload, signature, r.cfg.WebhookSecret)
	switch {
	case errors.Is(err, gw.ErrIgnoredEvent):
		return WebhookResult{EventID: ev.ID}, nil
	case errors.Is(err, gw.ErrBadSignature):
		return WebhookResult{}, errs.Errorf(errs.Invalid, "INVALID_SIGNATURE", "Stripe-Signature", "the webhook signature does not verify")
	case err != nil:
		return WebhookResult{}, errs.Errorf(errs.Invalid, "INVALID_EVENT", "body", "%v", err)
	}
	return ingest.Submit(ctx, r.w, func(t *ingest.Tx) (WebhookResult, error) {
		out := WebhookResult{EventID: ev.ID}
		cur, err := scan(t.QueryRow(r.findGateway, ev.IntentID))
		found := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return out, fmt.Errorf("find payment: %w", err)
		}
		var pid any
		if found {
			pid, out.PaymentID = cur.id, cur.id
		}
		applied := found && gw.CanMove(cur.status, ev.Status)
		res, err := t.Exec(r.insertConf, ev.ID, pid, ev.Type, string(ev.Status), applied, t.Now().UnixMilli())
		if err != nil {
			return out, fmt.Errorf("record confirmation: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			out.Duplicate = true
			if found {
				out.Status = string(cur.status)
			}
			return out, nil
		}
		if applied {
			if err := r.move(t, &cur, ev.Status, cur.amount-cur.refunded, "confirmed by the gateway ("+ev.Type+")", ev.ID, "gateway", 0); err != nil {
				return out, err
			}
		}
		out.Applied = applied
		if found {
			out.Status = string(cur.status)
		}
		return out, nil
	})
}
