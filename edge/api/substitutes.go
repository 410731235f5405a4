package api

import (
	"net/http"

	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// Substitutes of pre-orders (edge/order substitute.go): the operator sets
// a product's substitutes, offered in that order when an order's units of
// it are missing. Routes are in orderRoutes.

func substitutionOut(s *envelope.Substitution) *edgeapi.Substitution {
	if s == nil {
		return nil
	}
	out := &edgeapi.Substitution{State: s.State, OfferedAt: s.OfferedAt, ExpiresAt: s.ExpiresAt, Then: s.Then, Reason: s.Reason, By: s.By,
		Lines: make([]edgeapi.SubstituteLine, len(s.Lines))}
	if s.State == envelope.SubstitutionRefused {
		out.Refund = wire.Money(s.RefundCents)
	}
	for i, l := range s.Lines {
		out.Lines[i] = edgeapi.SubstituteLine{Line: l.Line, ProductID: l.ProductID, SubstituteID: l.SubstituteID, Quantity: l.Quantity,
			KeptQuantity: l.KeptQuantity, Amount: wire.Money(l.AmountCents), ListPrice: wire.Money(l.ListPriceCents)}
	}
	return out
}

// listSubstitutes is GET /substitutes: every product's substitutes.
func (s *server) listSubstitutes(w http.ResponseWriter, r *http.Request) error {
	rules, err := s.orders()
	if err != nil {
		return err
	}
	subs, err := rules.ListSubstitutes(r.Context(), "")
	if err != nil {
		return err
	}
	out := edgeapi.SubstitutesList{Products: make([]edgeapi.Substitutes, len(subs))}
	for i, p := range subs {
		out.Products[i] = edgeapi.Substitutes{ProductID: p.ProductID, Substitutes: p.Substitutes}
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// getSubstitutes is GET /products/{id}/substitutes.
func (s *server) getSubstitutes(w http.ResponseWriter, r *http.Request) error {
	rules, err := s.orders()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	subs, err := rules.ListSubstitutes(r.Context(), id)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, edgeapi.Substitutes{ProductID: id, Substitutes: subs[0].Substitutes})
	return nil
}

// putSubstitutes is PUT /products/{id}/substitutes {"substitutes": [...]}:
// 200 with the product's substitutes.
func (s *server) putSubstitutes(w http.ResponseWriter, r *http.Request) error {
	rules, err := s.orders()
	if err != nil {
		return err
	}
	var body edgeapi.SubstitutesIn
	if err := web.Decode(w, r, &body, MaxBody); err != nil {
		return err
	}
	if body.Substitutes == nil {
		return web.Invalid("substitutes", "substitutes is required: the product ids offered instead, in order ([] for none)")
	}
	out, err := rules.SetSubstitutes(r.Context(), r.PathValue("id"), body.Substitutes, who(r))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, edgeapi.Substitutes{ProductID: out.ProductID, Substitutes: out.Substitutes})
	return nil
}
