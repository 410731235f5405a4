package api

import (
	"encoding/csv"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/vendsync/vendsync/central/purchasing"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/wire"
)

var (
	// buyers author suppliers and purchase orders.
	buyers = []auth.Role{auth.RoleAdmin, auth.RoleProcurement}
	// receivers book deliveries in at a depot.
	receivers = []auth.Role{auth.RoleAdmin, auth.RoleProcurement, auth.RoleWarehouse}
	// purchaseViewers read suppliers and orders.
	purchaseViewers = []auth.Role{auth.RoleAdmin, auth.RoleOps, auth.RoleFinance, auth.RoleProcurement, auth.RoleWarehouse}
)

// purchasingRoutes are suppliers, purchase orders and replenishment.
var purchasingRoutes = []Route{
	{Method: "GET", Pattern: "/suppliers", Roles: purchaseViewers},
	{Method: "POST", Pattern: "/suppliers", Roles: buyers},
	{Method: "GET", Pattern: "/purchase-orders", Roles: purchaseViewers},
	{Method: "POST", Pattern: "/purchase-orders", Roles: buyers},
	{Method: "GET", Pattern: "/purchase-orders/{id}", Roles: purchaseViewers},
	{Method: "POST", Pattern: "/purchase-orders/{id}/send", Roles: buyers},
	{Method: "POST", Pattern: "/purchase-orders/{id}/cancel", Roles: buyers},
	{Method: "POST", Pattern: "/purchase-orders/{id}/receive", Roles: receivers},
	{Method: "GET", Pattern: "/reports/replenishment", Roles: []auth.Role{auth.RoleAdmin, auth.RoleOps, auth.RoleProcurement}},
}

// The routes of this file and its siblings (alert subscriptions, stock
// value reports) join the route table here, so api.go keeps one line.
func init() {
	Routes = slices.Concat(Routes, alertSubRoutes, purchasingRoutes, stockReportRoutes)
}

func (s *server) purchasingHandlers() map[string]web.Handler {
	h := map[string]web.Handler{
		"GET /suppliers":                     s.listSuppliers,
		"POST /suppliers":                    s.createSupplier,
		"GET /purchase-orders":               s.listPOs,
		"POST /purchase-orders":              s.createPO,
		"GET /purchase-orders/{id}":          s.getPO,
		"POST /purchase-orders/{id}/send":    s.sendPO,
		"POST /purchase-orders/{id}/cancel":  s.cancelPO,
		"POST /purchase-orders/{id}/receive": s.receivePO,
		"GET /reports/replenishment":         s.replenishment,
	}
	for k, v := range s.alertSubHandlers() {
		h[k] = v
	}
	for k, v := range s.stockReportHandlers() {
		h[k] = v
	}
	return h
}

func checkID(field, v string) error {
	if v == "" || len(v) > 64 || strings.ContainsAny(v, "/ \t\r\n") {
		return web.Invalid(field, "%s %q: 1 to 64 characters, no spaces or slashes", field, v)
	}
	return nil
}

func supplierOut(r readmodel.SupplierRow) hqapi.Supplier {
	out := hqapi.Supplier{ID: r.ID, Name: r.Name, LeadTimeDays: r.LeadTimeDays, MinOrder: wire.Money(r.MinOrderCents),
		Products: []hqapi.SupplierProduct{}, CreatedAt: timePtr(r.CreatedAt)}
	for _, p := range r.Products {
		out.Products = append(out.Products, hqapi.SupplierProduct{ProductID: p.ProductID, CasePack: p.CasePack, UnitCost: wire.Money(p.UnitCostCents)})
	}
	return out
}

// listSuppliers is GET /suppliers.
func (s *server) listSuppliers(w http.ResponseWriter, r *http.Request) error {
	list, err := s.cfg.Store.Suppliers(r.Context(), "")
	if err != nil {
		return err
	}
	out := hqapi.SupplierList{Suppliers: []hqapi.Supplier{}}
	for _, x := range list {
		out.Suppliers = append(out.Suppliers, supplierOut(x))
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// createSupplier is POST /suppliers.
func (s *server) createSupplier(w http.ResponseWriter, r *http.Request) error {
	var in hqapi.Supplier
	if err := web.Decode(w, r, &in, MaxBody); err != nil {
		return err
	}
	if err := checkID("id", in.ID); err != nil {
		return err
	}
	if in.Name == "" || len(in.Name) > 128 {
		return web.Invalid("name", "name: 1 to 128 characters")
	}
	if in.LeadTimeDays < 0 || in.LeadTimeDays > 365 {
		return web.Invalid("leadTimeDays", "leadTimeDays %d: must be 0 to 365", in.LeadTimeDays)
	}
	if in.MinOrder < 0 {
		return web.Invalid("minOrder", "minOrder must not be negative")
	}
	row := readmodel.SupplierRow{ID: in.ID, Name: in.Name, LeadTimeDays: in.LeadTimeDays, MinOrderCents: int64(in.MinOrder),
		CreatedBy: who(r), CreatedAt: s.cfg.Now().UTC()}
	for i, p := range in.Products {
		f := fmt.Sprintf("products[%d]", i)
		if err := checkID(f+".productId", p.ProductID); err != nil {
			return err
		}
		if p.CasePack < 1 || p.CasePack > 10000 {
			return web.Invalid(f+".casePack", "casePack %d: must be 1 to 10000", p.CasePack)
		}
		if p.UnitCost <= 0 {
			return web.Invalid(f+".unitCost", "unitCost must be positive")
		}
		row.Products = append(row.Products, readmodel.SupplierProductRow{ProductID: p.ProductID, CasePack: p.CasePack, UnitCostCents: int64(p.UnitCost)})
	}
	if _, err := s.hq.supplierAdd.do(r, "", row); err != nil {
		return err
	}
	s.log.Info().Bool("audit", true).Str("action", "SUPPLIER_CREATE").Str("client", who(r)).Str("supplier", row.ID).Msg("supplier created")
	web.WriteJSON(w, http.StatusCreated, supplierOut(row))
	return nil
}

func poOut(p readmodel.PORow) hqapi.PurchaseOrder {
	out := hqapi.PurchaseOrder{ID: p.ID, SupplierID: p.SupplierID, DepotID: p.DepotID, Status: string(p.Status), Note: p.Note,
		Total: wire.Money(p.Total()), CreatedBy: p.CreatedBy, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, Lines: []hqapi.POLine{}}
	for _, l := range p.Lines {
		out.Lines = append(out.Lines, hqapi.POLine{Line: l.Line, ProductID: l.ProductID, Quantity: l.Quantity,
			UnitCost: wire.Money(l.UnitCostCents), Received: l.Received, Total: wire.Money(l.Quantity * l.UnitCostCents)})
	}
	return out
}

// listPOs is GET /purchase-orders?status=&depotId=&supplierId=&limit=.
func (s *server) listPOs(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	q := readmodel.POQuery{Status: v.Get("status"), DepotID: v.Get("depotId"), SupplierID: v.Get("supplierId")}
	if err := oneOf("status", q.Status, "DRAFT", "SENT", "PARTIALLY_RECEIVED", "RECEIVED", "CANCELLED"); err != nil {
		return err
	}
	n, err := limit(r)
	if err != nil {
		return err
	}
	q.Limit = n
	list, err := s.cfg.Store.PurchaseOrders(r.Context(), q)
	if err != nil {
		return err
	}
	out := hqapi.PurchaseOrderList{PurchaseOrders: []hqapi.PurchaseOrder{}}
	for _, p := range list {
		out.PurchaseOrders = append(out.PurchaseOrders, poOut(p))
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// createPO is POST /purchase-orders: a DRAFT for one supplier and depot.
// A line's unit cost defaults to the supplier's; its quantity must be
// whole case packs.
func (s *server) createPO(w http.ResponseWriter, r *http.Request) error {
	var in hqapi.PurchaseOrderIn
	if err := web.Decode(w, r, &in, MaxBody); err != nil {
		return err
	}
	if err := checkID("supplierId", in.SupplierID); err != nil {
		return err
	}
	if err := checkID("depotId", in.DepotID); err != nil {
		return err
	}
	if len(in.Note) > 500 {
		return web.Invalid("note", "note: at most 500 characters")
	}
	if len(in.Lines) == 0 || len(in.Lines) > 500 {
		return web.Invalid("lines", "lines: 1 to 500 lines")
	}
	if err := s.hqSync(r); err != nil {
		return err
	}
	sups, err := s.cfg.Store.Suppliers(r.Context(), in.SupplierID)
	if err != nil {
		return err
	}
	if len(sups) == 0 {
		return errs.Errorf(errs.Unprocessable, "UNKNOWN_SUPPLIER", "supplierId", "no supplier %q", in.SupplierID)
	}
	sells := map[string]readmodel.SupplierProductRow{}
	for _, p := range sups[0].Products {
		sells[p.ProductID] = p
	}
	po := readmodel.PORow{SupplierID: in.SupplierID, DepotID: in.DepotID, Note: in.Note, CreatedBy: who(r), CreatedAt: s.cfg.Now().UTC()}
	for i, l := range in.Lines {
		f := fmt.Sprintf("lines[%d]", i)
		if err := checkID(f+".productId", l.ProductID); err != nil {
			return err
		}
		sp, ok := sells[l.ProductID]
		if !ok {
			return errs.Errorf(errs.Unprocessable, "NOT_SUPPLIED", f+".productId", "supplier %s does not sell %s", in.SupplierID, l.ProductID)
		}
		if err := purchasing.CheckLine(f, l.Quantity, sp.CasePack); err != nil {
			return err
		}
		cost := sp.UnitCostCents
		if l.UnitCost != nil {
			if *l.UnitCost <= 0 {
				return web.Invalid(f+".unitCost", "unitCost must be positive")
			}
			cost = int64(*l.UnitCost)
		}
		po.Lines = append(po.Lines, readmodel.POLineRow{ProductID: l.ProductID, Quantity: l.Quantity, UnitCostCents: cost})
	}
	po, err = s.hq.poCreate.do(r, "", po)
	if err != nil {
		return err
	}
	s.log.Info().Bool("audit", true).Str("action", "PO_CREATE").Str("client", who(r)).Str("po", po.ID).Msg("purchase order created")
	web.WriteJSON(w, http.StatusCreated, poOut(po))
	return nil
}

// getPO is GET /purchase-orders/{id}, as JSON, or as CSV for
// /purchase-orders/{id}.csv and ?format=csv.
func (s *server) getPO(w http.ResponseWriter, r *http.Request) error {
	id, asCSV := strings.CutSuffix(r.PathValue("id"), ".csv")
	f := r.URL.Query().Get("format")
	if err := oneOf("format", f, "json", "csv"); err != nil {
		return err
	}
	asCSV = asCSV || f == "csv"
	po, err := s.cfg.Store.PurchaseOrder(r.Context(), id)
	if err != nil {
		return err
	}
	if !asCSV {
		web.WriteJSON(w, http.StatusOK, poOut(po))
		return nil
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", po.ID+".csv"))
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"po_id", "supplier_id", "depot_id", "status", "line", "product_id", "quantity", "unit_cost", "line_total", "received"})
	for _, l := range po.Lines {
		_ = cw.Write([]string{po.ID, po.SupplierID, po.DepotID, string(po.Status), strconv.Itoa(l.Line), csvSafe(l.ProductID),
			strconv.FormatInt(l.Quantity, 10), wire.Money(l.UnitCostCents).String(), wire.Money(l.Quantity * l.UnitCostCents).String(),
			strconv.FormatInt(l.Received, 10)})
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// sendPO is POST /purchase-orders/{id}/send: DRAFT → SENT, refused below
// the supplier's minimum order.
func (s *server) sendPO(w http.ResponseWriter, r *http.Request) error {
	po, err := s.hq.poSend.do(r, "", poEntry{ID: r.PathValue("id")})
	if err != nil {
		return err
	}
	s.log.Info().Bool("audit", true).Str("action", "PO_SEND").Str("client", who(r)).Str("po", po.ID).Msg("purchase order sent")
	web.WriteJSON(w, http.StatusOK, poOut(po))
	return nil
}

// cancelPO is POST /purchase-orders/{id}/cancel.
func (s *server) cancelPO(w http.ResponseWriter, r *http.Request) error {
	po, err := s.hq.poCancel.do(r, "", poEntry{ID: r.PathValue("id")})
	if err != nil {
		return err
	}
	s.log.Info().Bool("audit", true).Str("action", "PO_CANCEL").Str("client", who(r)).Str("po", po.ID).Msg("purchase order cancelled")
	web.WriteJSON(w, http.StatusOK, poOut(po))
	return nil
}

// receivePO is POST /purchase-orders/{id}/receive: per-line quantities,
// each a lot at the depot at cost with a receipt movement in the ledger.
func (s *server) receivePO(w http.ResponseWriter, r *http.Request) error {
	var in hqapi.ReceiptIn
	if err := web.Decode(w, r, &in, MaxBody); err != nil {
		return err
	}
	if in.ReceiptKey == "" {
		in.ReceiptKey = r.Header.Get("Idempotency-Key")
	}
	if err := checkID("receiptKey", in.ReceiptKey); err != nil {
		return err
	}
	if len(in.Lines) == 0 || len(in.Lines) > 500 {
		return web.Invalid("lines", "lines: 1 to 500 lines")
	}
	var lines []readmodel.ReceiptLine
	for i, l := range in.Lines {
		f := fmt.Sprintf("lines[%d]", i)
		if err := purchasing.CheckExpiry(f+".expiryDate", l.ExpiryDate); err != nil {
			return err
		}
		if l.LotID != "" {
			if err := checkID(f+".lotId", l.LotID); err != nil {
				return err
			}
		}
		rl := readmodel.ReceiptLine{Line: l.Line, Quantity: l.Quantity, ExpiryDate: l.ExpiryDate, LotID: l.LotID}
		if l.UnitCost != nil {
			if *l.UnitCost <= 0 {
				return web.Invalid(f+".unitCost", "unitCost must be positive")
			}
			c := int64(*l.UnitCost)
			rl.UnitCostCents = &c
		}
		lines = append(lines, rl)
	}
	rr, err := s.hq.poReceive.do(r, "", receiptEntry{ID: r.PathValue("id"), Key: in.ReceiptKey, By: who(r), Lines: lines})
	if err != nil {
		return err
	}
	po, lots, replayed := rr.PO, rr.Lots, rr.Replayed
	out := hqapi.Receipt{PurchaseOrder: poOut(po), Lots: []hqapi.DepotLot{}, Replayed: replayed}
	for _, l := range lots {
		out.Lots = append(out.Lots, hqapi.DepotLot{LotID: l.LotID, DepotID: l.DepotID, ProductID: l.ProductID, Quantity: l.Quantity,
			UnitCost: wire.Money(l.UnitCostCents), ExpiryDate: l.ExpiryDate, ReceivedAt: l.ReceivedAt})
	}
	status := http.StatusCreated
	if replayed {
		status = http.StatusOK
	} else {
		s.log.Info().Bool("audit", true).Str("action", "PO_RECEIVE").Str("client", who(r)).Str("po", po.ID).Str("receipt", in.ReceiptKey).Msg("purchase order received")
	}
	web.WriteJSON(w, status, out)
	return nil
}

// replenishment is GET /reports/replenishment?depotId=&safetyDays=: per
// product the depot supplies, demand over the cheapest supplier's lead time
// plus safetyDays (default 3) of demand, less on hand and on order, rounded
// up to case packs.
func (s *server) replenishment(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	depot := v.Get("depotId")
	if err := checkID("depotId", depot); err != nil {
		return err
	}
	safety := 3.0
	if sv := v.Get("safetyDays"); sv != "" {
		f, err := strconv.ParseFloat(sv, 64)
		if err != nil || f < 0 || f > 365 || math.IsNaN(f) {
			return web.Invalid("safetyDays", "safetyDays %q: a number of days, 0 to 365", sv)
		}
		safety = f
	}
	src := s.cfg.Demand
	if src == nil {
		src = readmodel.AverageDemand{Store: s.cfg.Store}
	}
	ctx := r.Context()
	demand, err := src.DailyDemand(ctx, depot, s.cfg.Now())
	if err != nil {
		return err
	}
	stock, err := s.cfg.Store.Stock(ctx, readmodel.LocationDepot, depot)
	if err != nil {
		return err
	}
	onHand := map[string]int64{}
	for _, st := range stock {
		onHand[st.ProductID] = st.Quantity
	}
	onOrder, err := s.cfg.Store.OnOrder(ctx, depot)
	if err != nil {
		return err
	}
	sups, err := s.cfg.Store.Suppliers(ctx, "")
	if err != nil {
		return err
	}
	type pick struct {
		sup  readmodel.SupplierRow
		prod readmodel.SupplierProductRow
	}
	best := map[string]pick{} // cheapest supplier per product
	for _, sp := range sups {
		for _, p := range sp.Products {
			if b, ok := best[p.ProductID]; !ok || p.UnitCostCents < b.prod.UnitCostCents {
				best[p.ProductID] = pick{sp, p}
			}
		}
	}
	out := hqapi.Replenishment{DepotID: depot, DemandSource: src.Name(), SafetyDays: safety, Lines: []hqapi.ReplenishmentLine{}}
	products := map[string]bool{}
	for p := range demand {
		products[p] = true
	}
	for p := range onHand {
		products[p] = true
	}
	for _, p := range slices.Sorted(maps.Keys(products)) {
		b, ok := best[p]
		n := purchasing.Need{DailyDemand: demand[p], SafetyDays: safety, OnHand: onHand[p], OnOrder: onOrder[p]}
		line := hqapi.ReplenishmentLine{ProductID: p, DailyDemand: demand[p], OnHand: n.OnHand, OnOrder: n.OnOrder}
		if ok {
			n.LeadTimeDays, n.CasePack = b.sup.LeadTimeDays, b.prod.CasePack
			line.SupplierID, line.LeadTimeDays, line.CasePack, line.UnitCost = b.sup.ID, b.sup.LeadTimeDays, b.prod.CasePack, wire.Money(b.prod.UnitCostCents)
			line.SuggestedQty = purchasing.Suggest(n)
			line.SuggestedAmount = wire.Money(line.SuggestedQty * b.prod.UnitCostCents)
		}
		line.LeadTimeDemand = round2(demand[p] * float64(n.LeadTimeDays))
		line.SafetyStock = round2(demand[p] * safety)
		line.DailyDemand = round2(demand[p])
		out.Lines = append(out.Lines, line)
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}
