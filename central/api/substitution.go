package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/vendsync/vendsync/central/hqlog"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/payment"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// Substitutes (edge/order substitute.go): a site that can't reserve an
// order's units but holds a configured substitute offers it; its order
// event carries the offer (SUBSTITUTION_OFFERED). The customer answers
// with POST /orders/{id}/substitution {"accept": true|false}: recorded
// through the HQ log (order.substitution: the first answer wins on every
// node), then sent to the site as substitution.<orderId> on the downlink,
// where it waits if the site is offline. The site is the authority: it
// applies the answer (or refuses the offer itself when no answer came by
// its answerBy) and reports the result; central refunds what the site
// reports refused (the refund loop, on the HQ_LOG leader).

// HQ log kinds of substitute offers.
const (
	KindOrderSubstitution         = "order.substitution"
	KindOrderSubstitutionRefunded = "order.substitution_refunded"
)

// substitutionRoles may answer an offer: its customer, and HQ for it.
var substitutionRoles = []auth.Role{auth.RoleCustomer, auth.RoleAdmin, auth.RoleOps}

type substitutionEntry struct {
	OrderID string    `json:"orderId"`
	Answer  string    `json:"answer"`
	At      time.Time `json:"at"`
}

type substitutionResult struct {
	// Answer is the answer in force after the entry (the first one).
	Answer string `json:"answer"`
}

type substitutionRefundEntry struct {
	OrderID  string    `json:"orderId"`
	RefundID string    `json:"refundId"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
}

// handleSubstitutionLog registers the substitution kinds' handlers on l.
func handleSubstitutionLog(l *hqlog.Log, st *readmodel.Store) {
	l.Handle(KindOrderSubstitution, func(ctx context.Context, e hqlog.Entry) (any, error) {
		var in substitutionEntry
		if err := json.Unmarshal(e.Data, &in); err != nil {
			return nil, fmt.Errorf("order.substitution: %w", err)
		}
		cur, err := st.SetSubstitutionAnswer(ctx, in.OrderID, in.Answer, in.At)
		return substitutionResult{Answer: cur}, err
	})
	l.Handle(KindOrderSubstitutionRefunded, func(ctx context.Context, e hqlog.Entry) (any, error) {
		var in substitutionRefundEntry
		if err := json.Unmarshal(e.Data, &in); err != nil {
			return nil, fmt.Errorf("order.substitution_refunded: %w", err)
		}
		return nil, st.SetSubstitutionRefund(ctx, in.OrderID, in.RefundID, in.Reason, in.At)
	})
}

func substitutionOut(o readmodel.Order) *hqapi.OrderSubstitution {
	s := o.Substitution
	if s == nil {
		return nil
	}
	out := &hqapi.OrderSubstitution{State: s.State, AnswerBy: s.ExpiresAt, Answer: o.SubstitutionAnswer, RefundID: o.SubstitutionRefundID,
		Reason: s.Reason, Lines: make([]hqapi.SubstituteLine, len(s.Lines))}
	if s.State == envelope.SubstitutionRefused {
		out.Refund = wire.Money(s.RefundCents)
	}
	for i, l := range s.Lines {
		out.Lines[i] = hqapi.SubstituteLine{Line: l.Line, ProductID: l.ProductID, SubstituteID: l.SubstituteID, Quantity: l.Quantity,
			KeptQuantity: l.KeptQuantity, Amount: wire.Money(l.AmountCents), ListPrice: wire.Money(l.ListPriceCents)}
	}
	return out
}

// answerSubstitution is POST /orders/{id}/substitution {"accept": bool}:
// 202 with the order once the answer is recorded and on its way to the
// site. 404 for an unknown order or another customer's; 409
// NO_SUBSTITUTION_OFFER, SUBSTITUTION_ANSWERED (answered already: the
// same answer again is taken as a retry while the site has not applied
// it), OFFER_EXPIRED (past answerBy: the site refuses it) or ORDER_CLOSED.
func (s *server) answerSubstitution(w http.ResponseWriter, r *http.Request) error {
	o, _, err := s.ownOrder(r)
	if err != nil {
		return err
	}
	var in hqapi.SubstitutionAnswer
	if err := web.Decode(w, r, &in, MaxBody); err != nil {
		return err
	}
	if in.Accept == nil {
		return web.Invalid("accept", "accept is required: true takes the substitute, false drops the missing units and refunds them")
	}
	answer := readmodel.SubstitutionRefuse
	if *in.Accept {
		answer = readmodel.SubstitutionAccept
	}
	sub := o.Substitution
	now := s.cfg.Now().UTC()
	switch {
	case sub == nil:
		return web.Errorf(http.StatusConflict, "NO_SUBSTITUTION_OFFER", "id", "order %q has no substitute offer", o.OrderID)
	case sub.State != envelope.SubstitutionOffered:
		return web.Errorf(http.StatusConflict, "SUBSTITUTION_ANSWERED", "accept", "order %q's substitute offer is already %s", o.OrderID, sub.State)
	case o.SubstitutionAnswer != "" && o.SubstitutionAnswer != answer:
		return web.Errorf(http.StatusConflict, "SUBSTITUTION_ANSWERED", "accept", "order %q's substitute offer was already answered %s", o.OrderID, o.SubstitutionAnswer)
	case o.Status != envelope.OrderSubstitutionOffered:
		return web.Errorf(http.StatusConflict, "ORDER_CLOSED", "id", "order %q is %s", o.OrderID, o.Status)
	case now.After(sub.ExpiresAt):
		return web.Errorf(http.StatusConflict, "OFFER_EXPIRED", "accept", "order %q's substitute offer had to be answered by %s; the site refuses it", o.OrderID, sub.ExpiresAt.Format(time.RFC3339))
	}
	by := who(r)
	cur := answer
	if s.cfg.HQLog == nil {
		if cur, err = s.cfg.Store.SetSubstitutionAnswer(r.Context(), o.OrderID, answer, now); err != nil {
			return err
		}
	} else {
		var res substitutionResult
		e := substitutionEntry{OrderID: o.OrderID, Answer: answer, At: now.Truncate(time.Millisecond)}
		if err := s.cfg.HQLog.Do(r.Context(), KindOrderSubstitution, by, "", e, &res); err != nil {
			return err
		}
		cur = res.Answer
	}
	if cur != answer {
		return web.Errorf(http.StatusConflict, "SUBSTITUTION_ANSWERED", "accept", "order %q's substitute offer was already answered %s", o.OrderID, cur)
	}
	b, err := json.Marshal(envelope.SubstitutionDecision{Accept: *in.Accept, By: by, DecidedAt: now})
	if err != nil {
		return err
	}
	if _, err := s.cfg.Publisher.Put(r.Context(), o.Site, envelope.SubstitutionKeyOf(o.OrderID), b); err != nil {
		return web.Errorf(http.StatusServiceUnavailable, "UNAVAILABLE", "", "the answer is recorded but could not be sent to site %q (%v); send the same answer again", o.Site, err)
	}
	s.log.Info().Bool("audit", true).Str("action", "ORDER_SUBSTITUTION_"+answer).Str("order", o.OrderID).Str("by", by).Msg("substitute offer answered")
	o.SubstitutionAnswer = answer
	c, _ := web.ClaimsFrom(r.Context())
	web.WriteJSON(w, http.StatusAccepted, s.orderOut(o, c.Role == auth.RoleCustomer))
	return nil
}

// RefundSubstitution refunds, through p, what the units of o's refused
// substitute offer were paid (RefundCents) and records it through l (an
// order.substitution_refunded entry; nil: straight into st). The gateway's
// idempotency key is the order's, so a retried refund pays once.
func RefundSubstitution(ctx context.Context, p payment.Provider, st *readmodel.Store, l *hqlog.Log, o readmodel.Order, now time.Time) error {
	if o.PaymentID == "" || o.PaymentStatus != string(payment.Captured) || o.Substitution == nil || o.Substitution.RefundCents <= 0 {
		return nil
	}
	ref, err := p.Refund(ctx, o.PaymentID, o.Substitution.RefundCents, o.OrderID+":substitution-refund")
	if err != nil {
		return fmt.Errorf("refund substitution of order %s: %w", o.OrderID, err)
	}
	why := fmt.Sprintf("refunded %s for the units of the refused substitute offer", wire.Money(o.Substitution.RefundCents))
	if l == nil {
		return st.SetSubstitutionRefund(ctx, o.OrderID, ref.ID, why, now.UTC())
	}
	e := substitutionRefundEntry{OrderID: o.OrderID, RefundID: ref.ID, Reason: why, At: now.UTC().Truncate(time.Millisecond)}
	if err := l.Do(ctx, KindOrderSubstitutionRefunded, "refunds", o.OrderID, e, nil); err != nil {
		return fmt.Errorf("record substitution refund of order %s: %w", o.OrderID, err)
	}
	return nil
}
