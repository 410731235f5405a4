package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/promo"
)

// promoSite is newSite with P2 (cola, 1.00) and P3 (hot dog, 3.00) on M1,
// and M2 stocking P1.
func promoSite(t *testing.T) *edgetest.Site {
	t.Helper()
	s := newSite(t)
	s.Product("M1", "P2", 100, 100)
	s.Product("M1", "P3", 300, 100)
	s.Machine("M2")
	s.Product("M2", "P1", 250, 100)
	return s
}

func postPromo(t *testing.T, s *edgetest.Site, body map[string]any) edgeapi.Promotion {
	t.Helper()
	r := s.Do("POST", "/promotions", s.AdminToken(), body)
	if r.Status != http.StatusCreated {
		t.Fatalf("POST /promotions: %d %s", r.Status, r.Body)
	}
	var p edgeapi.Promotion
	r.Decode(t, &p)
	return p
}

func percentOff(id string, pct int, products ...string) map[string]any {
	return map[string]any{"id": id, "name": id, "kind": "PERCENT", "percent": pct, "productIds": products, "priority": 0, "stacking": "STACKABLE", "active": true}
}

func basketSale(s *edgetest.Site, tx, amount string, lines ...any) map[string]any {
	ls := []map[string]any{}
	for i := 0; i+1 < len(lines); i += 2 {
		ls = append(ls, map[string]any{"productId": lines[i], "quantity": lines[i+1]})
	}
	return map[string]any{"transactionId": tx, "machineId": "M1", "lines": ls, "amount": json.Number(amount), "paymentMethod": "CASH",
		"timestamp": s.Now().UTC().Format(time.RFC3339Nano)}
}

func TestSale_TwentyPercentOffNeedsAnActivePromotion(t *testing.T) {
	s := promoSite(t)
	tok := s.Token(auth.RoleMachine, "M1")
	// 2 × 2.50 at 20 % off = 4.00: refused without a promotion, as before.
	r := s.Do("POST", "/events/sales", tok, s.Sale("tx-1", "M1", "P1", 2, 400))
	if got, want := r.Status, http.StatusUnprocessableEntity; got != want {
		t.Fatalf("status %d, want %d: %s", got, want, r.Body)
	}
	if e := r.Error(t); e.Code != "AMOUNT_MISMATCH" || e.Field != "amount" {
		t.Fatalf("error %+v, want AMOUNT_MISMATCH on amount", e)
	}
	p := postPromo(t, s, percentOff("p20", 20, "P1"))
	if p.Version != 1 || p.Scope != promo.ScopeSite || p.SiteID != "test-site" || p.Origin != "SITE" {
		t.Fatalf("saved promotion %+v: want version 1, SITE scope for test-site, origin SITE", p)
	}
	r = s.Do("POST", "/events/sales", tok, s.Sale("tx-1", "M1", "P1", 2, 400))
	if got, want := r.Status, http.StatusCreated; got != want {
		t.Fatalf("status %d, want %d: %s", got, want, r.Body)
	}
	var res edgeapi.SaleResult
	r.Decode(t, &res)
	if res.Pricing == nil || res.Pricing.ListAmount != 500 || res.Pricing.Discount != 100 || res.Pricing.Amount != 400 ||
		len(res.Pricing.Promotions) != 1 || res.Pricing.Promotions[0].PromotionID != "p20" {
		t.Fatalf("pricing %+v, want list 5.00, discount 1.00 by p20, amount 4.00", res.Pricing)
	}
	// A replay answers with the same pricing.
	r = s.Do("POST", "/events/sales", tok, s.Sale("tx-1", "M1", "P1", 2, 400))
	var again edgeapi.SaleResult
	r.Decode(t, &again)
	if r.Header.Get("Idempotent-Replayed") != "true" || again.Pricing == nil || len(again.Pricing.Promotions) != 1 || again.Pricing.Promotions[0] != res.Pricing.Promotions[0] ||
		again.Pricing.ListAmount != 500 || again.Pricing.Discount != 100 || again.Pricing.Amount != 400 {
		t.Fatalf("replay %s, want the first answer %+v", r.Body, res.Pricing)
	}
	if got := edgetest.Count(t, s.DB(), `SELECT list_cents * 1000000 + discount_cents FROM sales_events WHERE transaction_id = 'tx-1'`); got != 500*1000000+100 {
		t.Fatalf("stored list/discount %d", got)
	}
	// Without a promotion claim, a machine that charged the list price is a
	// sale without discount.
	if r := s.Do("POST", "/events/sales", tok, s.Sale("tx-2", "M1", "P1", 1, 250)); r.Status != http.StatusCreated {
		t.Fatalf("list-price sale: %d %s", r.Status, r.Body)
	}
	// Still refused: an amount neither list nor net.
	if r := s.Do("POST", "/events/sales", tok, s.Sale("tx-3", "M1", "P1", 2, 300)); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("bad amount: %d %s", r.Status, r.Body)
	} else if e := r.Error(t); e.Code != "AMOUNT_MISMATCH" || !strings.Contains(e.Message, "4.00") || !strings.Contains(e.Message, "p20") {
		t.Fatalf("error %+v: want the expected 4.00 and the promotion named", e)
	}
	// The report and the aggregates carry gross, discount and net.
	var rep edgeapi.PromotionReport
	r = s.Do("GET", "/reports/promotions", s.AdminToken(), nil)
	r.Decode(t, &rep)
	if r.Status != http.StatusOK || rep.Gross != 750 || rep.Discount != 100 || rep.Net != 650 || len(rep.Promotions) != 1 ||
		rep.Promotions[0].Redemptions != 1 || rep.Promotions[0].Discount != 100 || rep.Promotions[0].Name != "p20" {
		t.Fatalf("report %d %+v, want gross 7.50, discount 1.00, net 6.50, p20 once", r.Status, rep)
	}
	var agg edgeapi.SalesAnswer
	s.Do("GET", "/aggregations/sales?groupBy=product", s.AdminToken(), nil).Decode(t, &agg)
	if agg.Totals.Revenue != 650 || agg.Totals.Discount != 100 || agg.Totals.GrossRevenue != 750 {
		t.Fatalf("aggregation totals %+v, want revenue 6.50, discount 1.00, gross 7.50", agg.Totals)
	}
	edgetest.CheckStore(t, s.DB(), time.UTC)
}

func TestSale_ClaimedFiguresMustMatch(t *testing.T) {
	s := promoSite(t)
	postPromo(t, s, percentOff("p20", 20, "P1"))
	tok := s.Token(auth.RoleMachine, "M1")
	tests := []struct {
		name        string
		edit        []any
		code, field string
		mentions    string
	}{
		{"wrong listAmount", []any{"listAmount", 4}, "AMOUNT_MISMATCH", "listAmount", "5.00"},
		{"wrong discount", []any{"discount", 0.5}, "DISCOUNT_MISMATCH", "discount", "1.00"},
		{"wrong promotions", []any{"promotions", []string{"other"}}, "DISCOUNT_MISMATCH", "promotions", "p20"},
		{"list price with a claim", []any{"amount", 5, "discount", 1}, "AMOUNT_MISMATCH", "amount", "4.00"},
		{"unknown code", []any{"code", "NOPE"}, "UNKNOWN_CODE", "code", "NOPE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Do("POST", "/events/sales", tok, with(s.Sale("tx-"+strings.ReplaceAll(tt.name, " ", "-"), "M1", "P1", 2, 400), tt.edit...))
			if got, want := r.Status, http.StatusUnprocessableEntity; got != want {
				t.Fatalf("status %d, want %d: %s", got, want, r.Body)
			}
			e := r.Error(t)
			if e.Code != tt.code || e.Field != tt.field || !strings.Contains(e.Message, tt.mentions) {
				t.Fatalf("error %+v, want %s on %s mentioning %s", e, tt.code, tt.field, tt.mentions)
			}
		})
	}
	good := with(s.Sale("tx-ok", "M1", "P1", 2, 400), "listAmount", 5, "discount", 1, "promotions", []string{"p20"})
	if r := s.Do("POST", "/events/sales", tok, good); r.Status != http.StatusCreated {
		t.Fatalf("matching claims: %d %s", r.Status, r.Body)
	}
	if n := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM sales_events`); n != 1 {
		t.Fatalf("%d sales recorded, want 1", n)
	}
}

func TestSale_Basket(t *testing.T) {
	s := promoSite(t)
	// hot dog + cola − 20 %, twice in the basket.
	postPromo(t, s, map[string]any{"id": "combo", "name": "Hot dog and cola", "kind": "COMBO", "productIds": []string{"P2", "P3"},
		"comboSize": 2, "comboDistinct": true, "percent": 20, "stacking": "STACKABLE", "active": true})
	tok := s.AdminToken()
	// 3 colas (3.00) + 2 hot dogs (6.00) = 9.00; two combos (8.00) − 20 % = 1.60 off → 7.40.
	body := basketSale(s, "basket-1", "7.40", "P2", 3, "P3", 2)
	r := s.Do("POST", "/events/sales", tok, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("basket sale: %d %s", r.Status, r.Body)
	}
	var first edgeapi.SaleResult
	r.Decode(t, &first)
	if first.TransactionID != "basket-1" || first.Pricing == nil || first.Pricing.ListAmount != 900 || first.Pricing.Discount != 160 || first.Pricing.Amount != 740 {
		t.Fatalf("answer %+v pricing %+v", first, first.Pricing)
	}
	if got := edgetest.Count(t, s.DB(), `SELECT SUM(amount_cents) FROM sales_events WHERE basket_id = 'basket-1' AND transaction_id IN ('basket-1#1', 'basket-1#2')`); got != 740 {
		t.Fatalf("lines sum to %d, want 740", got)
	}
	if got, want := s.Stock("M1", "P2")*1000+s.Stock("M1", "P3"), int64(97*1000+98); got != want {
		t.Fatalf("stock %d, want %d", got, want)
	}
	if got := edgetest.Count(t, s.DB(), `SELECT COUNT(*) * 10000 + SUM(amount_cents) FROM payments
		WHERE transaction_id IN ('basket-1#1', 'basket-1#2') AND method = 'CASH' AND status = 'CAPTURED'`); got != 2*10000+740 {
		t.Fatalf("payments of the basket's lines: %d, want 2 captured lines worth 740", got)
	}
	// A replay answers the first answer again; another body under the id is a conflict.
	r = s.Do("POST", "/events/sales", tok, body)
	var again edgeapi.SaleResult
	r.Decode(t, &again)
	if r.Status != http.StatusCreated || r.Header.Get("Idempotent-Replayed") != "true" || again.Sequence != first.Sequence ||
		again.Pricing == nil || again.Pricing.Discount != 160 || again.Pricing.Amount != 740 || len(again.Pricing.Promotions) != 1 {
		t.Fatalf("replay %d %s", r.Status, r.Body)
	}
	r = s.Do("POST", "/events/sales", tok, basketSale(s, "basket-1", "2.00", "P2", 2))
	if r.Status != http.StatusConflict || r.Error(t).Code != "IDEMPOTENCY_CONFLICT" {
		t.Fatalf("changed replay: %d %s", r.Status, r.Body)
	}
	// A basket must match the edge's net to the cent.
	r = s.Do("POST", "/events/sales", tok, basketSale(s, "basket-2", "7.39", "P2", 3, "P3", 2))
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("off by a cent: %d %s", r.Status, r.Body)
	}
	if e := r.Error(t); e.Code != "AMOUNT_MISMATCH" || !strings.Contains(e.Message, "7.40") || !strings.Contains(e.Message, "9.00") {
		t.Fatalf("error %+v: want the expected 7.40 and list 9.00", e)
	}
	edgetest.CheckStore(t, s.DB(), time.UTC)
	var rep edgeapi.PromotionReport
	s.Do("GET", "/reports/promotions", tok, nil).Decode(t, &rep)
	if len(rep.Promotions) != 1 || rep.Promotions[0].Redemptions != 1 || rep.Promotions[0].Lines != 2 || rep.Promotions[0].Discount != 160 {
		t.Fatalf("report %+v: want combo redeemed once on 2 lines for 1.60", rep)
	}
}

func TestSale_NthPurchaseCountsTheCustomer(t *testing.T) {
	s := promoSite(t)
	postPromo(t, s, map[string]any{"id": "third", "name": "every 3rd free cola", "kind": "NTH_PURCHASE", "nthPurchase": 3, "percent": 100,
		"productIds": []string{"P2"}, "stacking": "EXCLUSIVE", "active": true})
	tok := s.AdminToken()
	for i, amount := range []string{"1.00", "1.00", "0.00", "1.00"} {
		b := with(basketSale(s, "c-"+amount+"-"+string(rune('a'+i)), amount, "P2", 1), "customerId", "loyal-42")
		if r := s.Do("POST", "/events/sales", tok, b); r.Status != http.StatusCreated {
			t.Fatalf("purchase %d at %s: %d %s", i+1, amount, r.Status, r.Body)
		}
	}
	if got := edgetest.Count(t, s.DB(), `SELECT purchases FROM customer_purchases WHERE customer_id = 'loyal-42'`); got != 4 {
		t.Fatalf("%d purchases counted, want 4", got)
	}
}

func TestEvaluate_PricesWithoutRecording(t *testing.T) {
	s := promoSite(t)
	postPromo(t, s, percentOff("p20", 20, "P1"))
	coded := percentOff("code10", 10)
	coded["code"], coded["stacking"] = "SAVE10", "STACKABLE"
	postPromo(t, s, coded)
	before := edgetest.Counts(t, s.DB())
	tok := s.Token(auth.RoleMachine, "M1")
	body := map[string]any{"machineId": "M1", "lines": []map[string]any{{"productId": "P1", "quantity": 2}, {"productId": "P2", "quantity": 1}}, "code": "save10"}
	r := s.Do("POST", "/promotions/evaluate", tok, body)
	if r.Status != http.StatusOK {
		t.Fatalf("evaluate: %d %s", r.Status, r.Body)
	}
	var ev edgeapi.Evaluation
	r.Decode(t, &ev)
	// P1: 5.00 − 20 % − 10 % = 3.50; P2: 1.00 − 10 % = 0.90.
	if ev.Gross != 600 || ev.Discount != 160 || ev.Net != 440 || ev.Code != promo.CodeApplied || len(ev.Applied) != 2 || len(ev.Considered) != 2 {
		t.Fatalf("evaluation %s", r.Body)
	}
	if ev.Lines[0].Net != 350 || ev.Lines[1].Net != 90 {
		t.Fatalf("lines %+v", ev.Lines)
	}
	if after := edgetest.Counts(t, s.DB()); !equalCounts(before, after) {
		t.Fatalf("evaluate changed the store: %v → %v", before, after)
	}
	// What it answered is what a sale is accepted at.
	sale := with(basketSale(s, "quoted", "4.40", "P1", 2, "P2", 1), "code", "save10")
	if r := s.Do("POST", "/events/sales", tok, sale); r.Status != http.StatusCreated {
		t.Fatalf("sale at the quoted price: %d %s", r.Status, r.Body)
	}
	body["code"] = "NOPE"
	s.Do("POST", "/promotions/evaluate", tok, body).Decode(t, &ev)
	if ev.Code != promo.CodeUnknown {
		t.Fatalf("unknown code answered %q", ev.Code)
	}
	// A machine prices only for itself.
	body["machineId"] = "M2"
	if r := s.Do("POST", "/promotions/evaluate", tok, body); r.Status != http.StatusForbidden {
		t.Fatalf("another machine's basket: %d %s", r.Status, r.Body)
	}
}

func equalCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestPromotions_BadInputNamesTheField(t *testing.T) {
	s := promoSite(t)
	tok := s.AdminToken()
	good := percentOff("p1", 10, "P1")
	tests := []struct {
		name, method, path string
		body               any
		status             int
		code, field        string
	}{
		{"promotion without id", "POST", "/promotions", with(good, "id", del{}), 400, "VALIDATION_FAILED", "id"},
		{"promotion bad kind", "POST", "/promotions", with(good, "kind", "BOGO"), 400, "VALIDATION_FAILED", "kind"},
		{"promotion percent 150", "POST", "/promotions", with(good, "percent", 150), 400, "VALIDATION_FAILED", "percent"},
		{"promotion bad window", "POST", "/promotions", with(good, "window", map[string]any{"from": "25:00", "to": "26:00"}), 400, "VALIDATION_FAILED", "window.from"},
		{"promotion bad amount", "POST", "/promotions", with(good, "percent", del{}, "amountOff", "abc"), 400, "INVALID_FIELD", "amountOff"},
		{"promotion unknown field", "POST", "/promotions", with(good, "colour", "red"), 400, "UNKNOWN_FIELD", "colour"},
		{"fleet promotion at a site", "POST", "/promotions", with(good, "scope", "FLEET"), 403, "FORBIDDEN", "scope"},
		{"another site's promotion", "POST", "/promotions", with(good, "siteId", "other"), 403, "FORBIDDEN", "scope"},
		{"evaluate without machine", "POST", "/promotions/evaluate", map[string]any{"lines": []any{}}, 400, "VALIDATION_FAILED", "machineId"},
		{"evaluate without lines", "POST", "/promotions/evaluate", map[string]any{"machineId": "M1"}, 400, "VALIDATION_FAILED", "lines"},
		{"evaluate zero quantity", "POST", "/promotions/evaluate", map[string]any{"machineId": "M1", "lines": []any{map[string]any{"productId": "P1", "quantity": 0}}}, 400, "VALIDATION_FAILED", "lines[0].quantity"},
		{"evaluate unknown product", "POST", "/promotions/evaluate", map[string]any{"machineId": "M1", "lines": []any{map[string]any{"productId": "NOPE", "quantity": 1}}}, 422, "UNKNOWN_PRODUCT", "lines[0].productId"},
		{"evaluate unknown machine", "POST", "/promotions/evaluate", map[string]any{"machineId": "MX", "lines": []any{map[string]any{"productId": "P1", "quantity": 1}}}, 404, "NOT_FOUND", ""},
		{"evaluate bad at", "POST", "/promotions/evaluate", map[string]any{"machineId": "M1", "at": "noon", "lines": []any{map[string]any{"productId": "P1", "quantity": 1}}}, 400, "VALIDATION_FAILED", "at"},
		{"basket and product", "POST", "/events/sales", with(basketSale(s, "b1", "1", "P2", 1), "productId", "P2"), 400, "VALIDATION_FAILED", "lines"},
		{"empty basket", "POST", "/events/sales", basketSale(s, "b1", "1"), 400, "VALIDATION_FAILED", "lines"},
		{"basket line without quantity", "POST", "/events/sales", with(basketSale(s, "b1", "1"), "lines", []any{map[string]any{"productId": "P2"}}), 400, "VALIDATION_FAILED", "lines[0].quantity"},
		{"basket product twice", "POST", "/events/sales", basketSale(s, "b1", "2", "P2", 1, "P2", 1), 400, "VALIDATION_FAILED", "lines[1].productId"},
		{"basket unknown product", "POST", "/events/sales", basketSale(s, "b1", "2", "P2", 1, "NOPE", 1), 422, "UNKNOWN_PRODUCT", "lines[1].productId"},
		{"basket id too long", "POST", "/events/sales", basketSale(s, strings.Repeat("b", 61), "1", "P2", 1), 400, "VALIDATION_FAILED", "transactionId"},
		{"bad customer id", "POST", "/events/sales", with(basketSale(s, "b1", "1", "P2", 1), "customerId", "has space"), 400, "VALIDATION_FAILED", "customerId"},
		{"negative discount", "POST", "/events/sales", with(basketSale(s, "b1", "1", "P2", 1), "discount", -1), 400, "VALIDATION_FAILED", "discount"},
		{"report bad range", "GET", "/reports/promotions?from=yesterday", nil, 400, "VALIDATION_FAILED", "from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Do(tt.method, tt.path, tok, tt.body)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			e := r.Error(t)
			if e.Code != tt.code || e.Field != tt.field {
				t.Fatalf("error %+v, want %s on %q", e, tt.code, tt.field)
			}
		})
	}
	if n := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM promotions`) + edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM sales_events`); n != 0 {
		t.Fatalf("bad requests stored %d rows", n)
	}
}

func TestPromotions_RolesAndOrigins(t *testing.T) {
	s := promoSite(t)
	body := percentOff("p1", 10, "P1")
	for role, want := range map[auth.Role]int{auth.RoleOps: 201, auth.RoleAdmin: 201, auth.RoleFinance: 403, auth.RoleDriver: 403} {
		if r := s.Do("POST", "/promotions", s.Token(role, ""), body); r.Status != want {
			t.Fatalf("%s POST /promotions: %d, want %d: %s", role, r.Status, want, r.Body)
		}
	}
	if r := s.Do("POST", "/promotions", s.Token(auth.RoleMachine, "M1"), body); r.Status != http.StatusForbidden {
		t.Fatalf("MACHINE POST /promotions: %d", r.Status)
	}
	var list edgeapi.PromotionList
	r := s.Do("GET", "/promotions", s.Token(auth.RoleFinance, ""), nil)
	r.Decode(t, &list)
	if r.Status != http.StatusOK || len(list.Promotions) != 1 || list.Promotions[0].Version != 2 {
		t.Fatalf("list %d %s: want p1 at version 2 (saved twice)", r.Status, r.Body)
	}
	// Central's promotions arrive through the Go API the downlink calls.
	w := s.Node.Writer
	central := promo.Promotion{ID: "hq-1", Name: "Fleet 5 %", Scope: promo.ScopeFleet, Kind: promo.KindPercent, Percent: 5,
		Stacking: promo.Stackable, Active: true, Version: 3}
	apply := func(p promo.Promotion) (bool, error) {
		return ingest.Submit(context.Background(), w, func(t *ingest.Tx) (bool, error) { return s.Node.Promotions.Apply(t, p, "central") })
	}
	if ok, err := apply(central); !ok || err != nil {
		t.Fatalf("apply: %v %v", ok, err)
	}
	stale := central
	stale.Version, stale.Percent = 2, 50
	if ok, err := apply(stale); ok || err != nil {
		t.Fatalf("stale version applied: %v %v", ok, err)
	}
	if r := s.Do("POST", "/promotions", s.AdminToken(), with(percentOff("hq-1", 10), "scope", "SITE")); r.Status != http.StatusConflict || r.Error(t).Code != "PROMOTION_OWNED_BY_CENTRAL" {
		t.Fatalf("site overwriting central's promotion: %d %s", r.Status, r.Body)
	}
	var ev edgeapi.Evaluation
	s.Do("POST", "/promotions/evaluate", s.AdminToken(), map[string]any{"machineId": "M1", "lines": []any{map[string]any{"productId": "P2", "quantity": 1}}}).Decode(t, &ev)
	if ev.Net != 95 {
		t.Fatalf("central's 5 %% gave net %s, want 0.95", ev.Net)
	}
	if ok, err := ingest.Submit(context.Background(), w, func(t *ingest.Tx) (bool, error) { return s.Node.Promotions.Delete(t, "hq-1", "central") }); !ok || err != nil {
		t.Fatalf("delete: %v %v", ok, err)
	}
	s.Do("GET", "/promotions", s.AdminToken(), nil).Decode(t, &list)
	if len(list.Promotions) != 1 {
		t.Fatalf("after delete %+v", list)
	}
}

// TestSale_BasketPaymentMethods: a basket is paid by a method the machine
// takes (M1 takes CARD and CASH), like a one-product sale; an unknown
// method is a 400, GATEWAY (charged per product) is refused for a basket.
func TestSale_BasketPaymentMethods(t *testing.T) {
	s := promoSite(t)
	tok := s.AdminToken()
	for _, tc := range []struct {
		method string
		status int
		code   string
	}{
		{"BITCOIN", http.StatusBadRequest, "VALIDATION_FAILED"},
		{"MOBILE", http.StatusUnprocessableEntity, "PAYMENT_METHOD_NOT_ACCEPTED"},
		{"GATEWAY", http.StatusBadRequest, "VALIDATION_FAILED"},
	} {
		body := basketSale(s, "b-"+tc.method, "4.00", "P2", 1, "P3", 1)
		body["paymentMethod"] = tc.method
		if tc.method == "GATEWAY" {
			body["paymentToken"] = "pm_card_visa"
		}
		r := s.Do("POST", "/events/sales", tok, body)
		if r.Status != tc.status {
			t.Fatalf("%s basket: %d %s, want %d", tc.method, r.Status, r.Body, tc.status)
		}
		if e := r.Error(t); e.Code != tc.code || e.Field != "paymentMethod" {
			t.Fatalf("%s basket: error %+v, want %s on paymentMethod", tc.method, e, tc.code)
		}
	}
	if n := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM sales_events`); n != 0 {
		t.Fatalf("%d sales recorded by refused baskets", n)
	}
}
