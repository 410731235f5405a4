package api

import (
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/web"
)

// Inventory at central (issue 11): depots, vans, SKUs, the stock ledger,
// transfers, bulk updates and external channels. Every write is logged as
// an audit entry (central's log is its audit log).

// The roles of the inventory routes. PROCUREMENT (suppliers, purchase
// orders) reads stock and movements; its own routes use procurementRoles.
var (
	warehouse        = []auth.Role{auth.RoleAdmin, auth.RoleWarehouse}
	procurementRoles = []auth.Role{auth.RoleAdmin, auth.RoleProcurement}
	loaders          = []auth.Role{auth.RoleAdmin, auth.RoleWarehouse, auth.RoleDriver}
	stockViewers     = []auth.Role{auth.RoleAdmin, auth.RoleOps, auth.RoleFinance, auth.RoleWarehouse, auth.RoleProcurement, auth.RoleDriver}
	ledgerViewers    = []auth.Role{auth.RoleAdmin, auth.RoleOps, auth.RoleFinance, auth.RoleWarehouse, auth.RoleProcurement}
)

// MaxBulkBody bounds the body of a bulk update or channel sync.
const MaxBulkBody = 1 << 20

// inventoryRoutes are the inventory endpoints.
var inventoryRoutes = []Route{
	{Method: "GET", Pattern: "/depots", Roles: stockViewers},
	{Method: "POST", Pattern: "/depots", Roles: warehouse},
	{Method: "GET", Pattern: "/vans", Roles: stockViewers},
	{Method: "POST", Pattern: "/vans", Roles: warehouse},
	{Method: "GET", Pattern: "/skus", Roles: stockViewers},
	{Method: "POST", Pattern: "/skus", Roles: warehouse},
	{Method: "GET", Pattern: "/inventory/stock", Roles: stockViewers},
	{Method: "GET", Pattern: "/stock-movements", Roles: ledgerViewers},
	{Method: "GET", Pattern: "/reports/stock-movement", Roles: ledgerViewers},
	{Method: "GET", Pattern: "/transfers", Roles: stockViewers},
	{Method: "POST", Pattern: "/transfers", Roles: loaders},
	{Method: "POST", Pattern: "/inventory/bulk-update", Roles: warehouse},
	{Method: "POST", Pattern: "/integration/sync", Roles: warehouse},
	{Method: "GET", Pattern: "/integration/reconciliation", Roles: []auth.Role{auth.RoleAdmin, auth.RoleOps, auth.RoleWarehouse}},
}

func (s *server) inventoryHandlers() map[string]web.Handler {
	return map[string]web.Handler{
		"GET /depots":                     s.listDepots,
		"POST /depots":                    s.createDepot,
		"GET /vans":                       s.listVans,
		"POST /vans":                      s.createVan,
		"GET /skus":                       s.listSKUs,
		"POST /skus":                      s.createSKU,
		"GET /inventory/stock":            s.stockLevels,
		"GET /stock-movements":            s.stockMovements,
		"GET /reports/stock-movement":     s.stockMovementReport,
		"GET /transfers":                  s.listTransfers,
		"POST /transfers":                 s.createTransfer,
		"POST /inventory/bulk-update":     s.bulkUpdate,
		"POST /integration/sync":          s.channelSync,
		"GET /integration/reconciliation": s.channelReconciliation,
	}
}

// audit logs a write as an audit entry.
func (s *server) audit(r *http.Request, action, entity string, detail any) {
	s.log.Info().Bool("audit", true).Str("action", action).Str("entity", entity).Str("client", who(r)).
		Interface("detail", detail).Msg("inventory")
}

func bodyHash(v any) []byte {
	b, _ := json.Marshal(v)
	h := sha256.Sum256(b)
	return h[:]
}

func (s *server) listDepots(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.cfg.Store.Depots(r.Context())
	if err != nil {
		return err
	}
	out := hqapi.DepotList{Depots: make([]hqapi.Depot, 0, len(ds))}
	for _, d := range ds {
		out.Depots = append(out.Depots, depotOut(d))
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

func depotOut(d readmodel.Depot) hqapi.Depot {
	return hqapi.Depot{DepotID: d.ID, Name: d.Name, City: d.City, Address: d.Address, CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt}
}

func (s *server) createDepot(w http.ResponseWriter, r *http.Request) error {
	var in hqapi.NewDepot
	if err := web.Decode(w, r, &in, MaxBody); err != nil {
		return err
	}
	d, err := s.hq.depotAdd.do(r, "", readmodel.Depot{ID: in.DepotID, Name: in.Name, City: in.City, Address: in.Address, CreatedBy: who(r)})
	if err != nil {
		return err
	}
	s.audit(r, "CREATE_DEPOT", "depot/"+d.ID, in)
	web.WriteJSON(w, http.StatusCreated, depotOut(d))
	return nil
}

func (s *server) listVans(w http.ResponseWriter, r *http.Request) error {
	vs, err := s.cfg.Store.Vans(r.Context())
	if err != nil {
		return err
	}
	out := hqapi.VanList{Vans: make([]hqapi.Van, 0, len(vs))}
	for _, v := range vs {
		out.Vans = append(out.Vans, vanOut(v))
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

func vanOut(v readmodel.Van) hqapi.Van {
	return hqapi.Van{VanID: v.ID, Name: v.Name, DepotID: v.DepotID, Driver: v.Driver, CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt}
}

func (s *server) createVan(w http.ResponseWriter, r *http.Request) error {
	var in hqapi.NewVan
	if err := web.Decode(w, r, &in, MaxBody); err != nil {
		return err
	}
	v, err := s.hq.vanAdd.do(r, "", readmodel.Van{ID: in.VanID, Name: in.Name, DepotID: in.DepotID, Driver: in.Driver, CreatedBy: who(r)})
	if err != nil {
		return err
	}
	s.audit(r, "CREATE_VAN", "van/"+v.ID, in)
	web.WriteJSON(w, http.StatusCreated, vanOut(v))
	return nil
}

func (s *server) listSKUs(w http.ResponseWriter, r *http.Request) error {
	ks, err := s.cfg.Store.SKUs(r.Context())
	if err != nil {
		return err
	}
	out := hqapi.SKUList{SKUs: make([]hqapi.SKU, 0, len(ks))}
	for _, k := range ks {
		at := k.CreatedAt
		out.SKUs = append(out.SKUs, hqapi.SKU{SKU: k.SKU, ProductID: k.ProductID, Variant: k.Variant, Barcode: k.Barcode, Name: k.Name, CreatedAt: &at})
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) createSKU(w http.ResponseWriter, r *http.Request) error {
	var in hqapi.SKU
	if err := web.Decode(w, r, &in, MaxBody); err != nil {
		return err
	}
	k, err := s.hq.skuAdd.do(r, "", readmodel.SKU{SKU: in.SKU, ProductID: in.ProductID, Variant: in.Variant,
		Barcode: in.Barcode, Name: in.Name, CreatedBy: who(r)})
	if err != nil {
		return err
	}
	s.audit(r, "CREATE_SKU", "sku/"+k.SKU, in)
	in.CreatedAt = &k.CreatedAt
	web.WriteJSON(w, http.StatusCreated, in)
	return nil
}

func (s *server) stockLevels(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	kind := v.Get("locationKind")
	if err := oneOf("locationKind", kind, "depot", "van"); err != nil {
		return err
	}
	rows, err := s.cfg.Store.Stock(r.Context(), readmodel.LocationKind(kind), v.Get("locationId"))
	if err != nil {
		return err
	}
	out := hqapi.StockList{Stock: make([]hqapi.StockLevel, 0, len(rows))}
	for _, x := range rows {
		out.Stock = append(out.Stock, hqapi.StockLevel{LocationKind: string(x.Kind), LocationID: x.LocationID, ProductID: x.ProductID,
			Quantity: x.Quantity, UpdatedAt: x.UpdatedAt})
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// movementQuery reads the ledger filters: locationKind, locationId,
// siteId, city, productId, type, from, to, limit, offset.
func movementQuery(r *http.Request) (readmodel.MovementQuery, error) {
	v := r.URL.Query()
	q := readmodel.MovementQuery{Kind: readmodel.LocationKind(v.Get("locationKind")), LocationID: v.Get("locationId"),
		Site: v.Get("siteId"), City: v.Get("city"), ProductID: v.Get("productId"), Type: readmodel.MovementType(v.Get("type"))}
	if err := oneOf("locationKind", string(q.Kind), "depot", "van", "machine"); err != nil {
		return q, err
	}
	if q.Type != "" && !q.Type.Valid() {
		return q, web.Invalid("type", "type %q: want one of %v", q.Type, readmodel.MovementTypes)
	}
	var err error
	if q.From, q.To, err = reportRange(r); err != nil {
		return q, err
	}
	for _, p := range []struct {
		name string
		dst  *int
		max  int
	}{{"limit", &q.Limit, readmodel.MaxMovementPage}, {"offset", &q.Offset, 1 << 30}} {
		s := v.Get(p.name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > p.max {
			return q, web.Invalid(p.name, "%s %q: want a whole number from 0 to %d", p.name, s, p.max)
		}
		*p.dst = n
	}
	return q, nil
}

func movementOut(m readmodel.Movement, city string) hqapi.Movement {
	return hqapi.Movement{MovementID: m.ID, Key: m.Key, LocationKind: string(m.Kind), LocationID: m.LocationID, SiteID: m.Site, City: city,
		ProductID: m.ProductID, SKU: m.SKU, Type: string(m.Type), Quantity: m.Quantity, UnitCostCents: m.UnitCostCents, LotID: m.LotID,
		Ref: m.Ref, Reason: m.Reason, PerformedBy: m.By, PerformedAt: m.At}
}

// stockMovements is GET /stock-movements: the ledger, oldest first, paged.
func (s *server) stockMovements(w http.ResponseWriter, r *http.Request) error {
	q, err := movementQuery(r)
	if err != nil {
		return err
	}
	p, err := s.cfg.Store.Movements(r.Context(), q)
	if err != nil {
		return queryErr(err)
	}
	out := hqapi.MovementList{Movements: make([]hqapi.Movement, 0, len(p.Movements))}
	for i, m := range p.Movements {
		out.Movements = append(out.Movements, movementOut(m, p.City[i]))
	}
	if p.More {
		next := q.Offset + len(p.Movements)
		out.NextOffset = &next
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// stockMovementReport is GET /reports/stock-movement: per location and
// product, opening, sums per type, in, out and closing over from..to.
func (s *server) stockMovementReport(w http.ResponseWriter, r *http.Request) error {
	q, err := movementQuery(r)
	if err != nil {
		return err
	}
	rows, err := s.cfg.Store.StockMovementReport(r.Context(), q)
	if err != nil {
		return queryErr(err)
	}
	out := hqapi.MovementReport{Rows: make([]hqapi.MovementReportRow, 0, len(rows))}
	out.From, out.To = rangeStrings(readmodel.DEXQuery{From: q.From, To: q.To})
	for _, x := range rows {
		by := make(map[string]int64, len(x.ByType))
		for t, n := range x.ByType {
			by[string(t)] = n
		}
		out.Rows = append(out.Rows, hqapi.MovementReportRow{LocationKind: string(x.Kind), LocationID: x.LocationID, SiteID: x.Site,
			ProductID: x.ProductID, Opening: x.Opening, ByType: by, In: x.In, Out: x.Out, Closing: x.Closing})
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

func transferOut(t readmodel.Transfer) hqapi.Transfer {
	out := hqapi.Transfer{TransferID: t.ID, Kind: t.Kind, From: hqapi.StockLocation{Kind: string(t.FromKind), ID: t.FromID},
		To: hqapi.StockLocation{Kind: string(t.ToKind), ID: t.ToID}, Lines: make([]hqapi.TransferLine, 0, len(t.Lines)),
		CreatedBy: t.By, CreatedAt: t.At, Replayed: t.Replayed}
	for _, l := range t.Lines {
		short := max(0, l.Planned-l.Picked)
		out.Lines = append(out.Lines, hqapi.TransferLine{Line: l.Line, ProductID: l.ProductID, Planned: l.Planned, Picked: l.Picked, Shortfall: short})
		out.Shortfall += short
	}
	return out
}

// createTransfer is POST /transfers: a van's load from its depot, a
// return, or a move between depots; idempotent by transferId.
func (s *server) createTransfer(w http.ResponseWriter, r *http.Request) error {
	var in hqapi.TransferIn
	if err := web.Decode(w, r, &in, MaxBulkBody); err != nil {
		return err
	}
	tin := readmodel.TransferIn{ID: in.TransferID, FromKind: readmodel.LocationKind(in.From.Kind), FromID: in.From.ID,
		ToKind: readmodel.LocationKind(in.To.Kind), ToID: in.To.ID, Reason: in.Reason, By: who(r), Hash: bodyHash(in)}
	for _, l := range in.Lines {
		tin.Lines = append(tin.Lines, readmodel.TransferLineIn{ProductID: l.ProductID, Planned: l.Planned, Picked: l.Picked})
	}
	t, err := s.hq.transferCreate.do(r, "", tin)
	if err != nil {
		return err
	}
	if !t.Replayed {
		s.audit(r, "TRANSFER", "transfer/"+t.ID, in)
	}
	writeReplayable(w, t.Replayed, transferOut(t))
	return nil
}

func (s *server) listTransfers(w http.ResponseWriter, r *http.Request) error {
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > readmodel.MaxMovementPage {
			return web.Invalid("limit", "limit %q: want 1 to %d", v, readmodel.MaxMovementPage)
		}
		limit = n
	}
	ts, err := s.cfg.Store.Transfers(r.Context(), r.URL.Query().Get("locationId"), limit)
	if err != nil {
		return err
	}
	out := hqapi.TransferList{Transfers: make([]hqapi.Transfer, 0, len(ts))}
	for _, t := range ts {
		out.Transfers = append(out.Transfers, transferOut(t))
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// writeReplayable answers a new write 201 and a replay 200 with the
// Idempotent-Replayed header.
func writeReplayable(w http.ResponseWriter, replayed bool, out any) {
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
		web.WriteJSON(w, http.StatusOK, out)
		return
	}
	web.WriteJSON(w, http.StatusCreated, out)
}

func bulkOut(res readmodel.BulkResult) hqapi.BulkResult {
	out := hqapi.BulkResult{RequestKey: res.RequestKey, OK: res.OK, Failed: res.Failed, Lines: make([]hqapi.LineOutcome, 0, len(res.Lines)),
		Replayed: res.Replayed}
	for _, o := range res.Lines {
		l := hqapi.LineOutcome{Line: o.Line, Status: "ok", Balance: o.Balance, Replayed: o.Replayed}
		if o.Movement != nil {
			m := movementOut(*o.Movement, "")
			l.Movement = &m
		}
		if o.Err != nil {
			l.Status, l.Error = "error", &hqapi.LineError{Code: o.Err.Code, Message: o.Err.Message, Field: o.Err.Field}
		}
		out.Lines = append(out.Lines, l)
	}
	return out
}

// bulkUpdate is POST /inventory/bulk-update: many lines at many depots
// and vans, each with its own outcome, idempotent by requestKey. It
// answers 200 (207-like: see each line's status) once the request is
// recorded, whatever its lines' outcomes.
func (s *server) bulkUpdate(w http.ResponseWriter, r *http.Request) error {
	var in hqapi.BulkUpdateIn
	if err := web.Decode(w, r, &in, MaxBulkBody); err != nil {
		return err
	}
	lines := make([]readmodel.BulkLine, 0, len(in.Lines))
	for _, l := range in.Lines {
		lines = append(lines, readmodel.BulkLine{Kind: readmodel.LocationKind(l.LocationKind), LocationID: l.LocationID, ProductID: l.ProductID,
			SKU: l.SKU, Type: readmodel.MovementType(l.Type), Quantity: l.Quantity, Counted: l.Counted, UnitCostCents: l.UnitCostCents, Reason: l.Reason})
	}
	rr, err := s.hq.bulk.do(r, "", bulkEntry{Key: in.RequestKey, Hash: bodyHash(in), By: who(r), Lines: lines})
	if err != nil {
		return err
	}
	res := rr.Result
	res.Replayed = rr.Replayed
	if !res.Replayed {
		s.audit(r, "BULK_UPDATE", "bulk/"+in.RequestKey, map[string]int{"lines": len(in.Lines), "ok": res.OK, "failed": res.Failed})
	}
	out := bulkOut(res)
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}

// channelSync is POST /integration/sync: an external channel's sales and
// stock changes at a depot or van, each recorded once per (channel,
// channelId), and its stock levels for reconciliation.
func (s *server) channelSync(w http.ResponseWriter, r *http.Request) error {
	var in hqapi.ChannelSyncIn
	if err := web.Decode(w, r, &in, MaxBulkBody); err != nil {
		return err
	}
	cin := readmodel.ChannelSyncIn{Channel: in.Channel, Kind: readmodel.LocationKind(in.Location.Kind), LocationID: in.Location.ID, By: who(r)}
	for _, c := range in.Changes {
		var at time.Time
		if c.At != nil {
			at = *c.At
			if at.After(s.cfg.Now().Add(5 * time.Minute)) {
				return web.Invalid("changes.at", "change %q is in the future", c.ChannelID)
			}
		}
		cin.Changes = append(cin.Changes, readmodel.ChannelChange{ChannelID: c.ChannelID, ProductID: c.ProductID,
			Type: readmodel.MovementType(c.Type), Quantity: c.Quantity, At: at})
	}
	for _, st := range in.Stock {
		cin.Stock = append(cin.Stock, readmodel.ChannelStock{ProductID: st.ProductID, Quantity: st.Quantity})
	}
	res, err := s.hq.channelSync.do(r, "", cin)
	if err != nil {
		if de, ok := errs.As(err); ok && de.Field == "locationId" {
			de.Field = "location.id"
		}
		return err
	}
	s.audit(r, "CHANNEL_SYNC", "channel/"+in.Channel, map[string]int{"changes": len(in.Changes), "stock": len(in.Stock), "ok": res.OK, "failed": res.Failed})
	web.WriteJSON(w, http.StatusOK, bulkOut(res))
	return nil
}

// channelReconciliation is GET /integration/reconciliation?channel=: the
// channel's last reported stock against ours, differences first.
func (s *server) channelReconciliation(w http.ResponseWriter, r *http.Request) error {
	ch := r.URL.Query().Get("channel")
	lines, err := s.cfg.Store.ChannelReconciliation(r.Context(), ch)
	if err != nil {
		return err
	}
	out := hqapi.ChannelReconciliation{Channel: ch, Lines: make([]hqapi.ReconciliationLine, 0, len(lines))}
	for _, l := range lines {
		if l.Difference != 0 {
			out.Differences++
		}
		out.Lines = append(out.Lines, hqapi.ReconciliationLine{LocationKind: string(l.Kind), LocationID: l.LocationID, ProductID: l.ProductID,
			Channel: l.Channel, Ours: l.Ours, Difference: l.Difference, ReportedAt: l.ReportedAt})
	}
	web.WriteJSON(w, http.StatusOK, out)
	return nil
}
