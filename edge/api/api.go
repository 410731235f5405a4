// Package api is the edge's HTTP API: seed 000 sections 1–6 for one site.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/edge/dex/audit"
	"github.com/vendsync/vendsync/edge/fault"
	"github.com/vendsync/vendsync/edge/machine"
	"github.com/vendsync/vendsync/edge/order"
	"github.com/vendsync/vendsync/edge/payment"
	"github.com/vendsync/vendsync/edge/promotion"
	"github.com/vendsync/vendsync/edge/sale"
	"github.com/vendsync/vendsync/edge/stock"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/edge/telemetry"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// localLayout formats naive-local times (the site's wall clock).
const localLayout = "2006-01-02T15:04:05"

// Body size limits.
const (
	MaxBody      = 64 << 10
	MaxBatchBody = 8 << 20
	MaxBatch     = 10000
)

// Config wires the API to the site.
type Config struct {
	Store *store.Store

	// The rules every write goes through.
	Machines  *machine.Rules
	Stock     *stock.Rules
	Sales     *sale.Rules
	Telemetry *telemetry.Rules
	Faults    *fault.Rules
	// Audit takes DEX files, visits and cash collections (nil: those
	// endpoints answer 503).
	Audit *audit.Rules

	Signer  *auth.Signer
	Metrics *web.Metrics
	Logger  zerolog.Logger
	Now     func() time.Time
	// Ready reports whether the edge is ready to serve (nil: always).
	Ready func(context.Context) error
	// Uplink reports the link to central for GET /sync (nil: standalone).
	Uplink func() Uplink
	// Revoked reports whether a client's credentials were revoked: its
	// tokens are refused at once, not when they expire (nil: never).
	Revoked func(clientID string) bool
	// Limiter rate-limits POST /auth/token and writes and locks out a
	// client id after repeated wrong secrets (nil: no limits).
	Limiter *web.Limiter
	// Promotions serves /promotions and /reports/promotions (nil: those
	// endpoints answer 503).
	Promotions *promotion.Rules
	// Orders runs pre-orders (nil: those endpoints answer 503).
	Orders *order.Rules
	// Payments is the payments ledger (nil: its endpoints answer 503).
	Payments *payment.Rules
}

// Uplink is the state of the site's link to central.
type Uplink struct {
	Configured bool
	Connected  bool
	Watermark  *envelope.Watermark
	// Envelope and Binary are this site's versions; WaitingForCentral says
	// the uplink holds back because central reads only up to CentralReads
	// (0: not heard from central yet).
	Envelope          int
	Binary            string
	WaitingForCentral bool
	CentralReads      int
}

// Route is one endpoint and the roles allowed to call it (none: public).
type Route = web.Route

var (
	admin      = []auth.Role{auth.RoleAdmin}
	manage     = []auth.Role{auth.RoleAdmin, auth.RoleOps}
	field      = []auth.Role{auth.RoleAdmin, auth.RoleOps, auth.RoleDriver}
	machineIn  = []auth.Role{auth.RoleMachine, auth.RoleAdmin}
	reporters  = []auth.Role{auth.RoleMachine, auth.RoleAdmin, auth.RoleOps, auth.RoleDriver}
	money      = []auth.Role{auth.RoleAdmin, auth.RoleOps, auth.RoleFinance}
	viewers    = []auth.Role{auth.RoleAdmin, auth.RoleOps, auth.RoleFinance, auth.RoleDriver}
	selfOrView = []auth.Role{auth.RoleAdmin, auth.RoleOps, auth.RoleFinance, auth.RoleDriver, auth.RoleMachine}
)

// Routes lists every endpoint with its roles. MACHINE tokens are further
// limited to their own machine.
var Routes = append([]Route{
	{Method: "POST", Pattern: "/auth/token", Roles: nil},
	{Method: "GET", Pattern: "/healthz", Roles: nil},
	{Method: "GET", Pattern: "/readyz", Roles: nil},
	{Method: "GET", Pattern: "/metrics", Roles: nil},
	{Method: "POST", Pattern: "/machines", Roles: manage},
	{Method: "GET", Pattern: "/machines", Roles: viewers},
	{Method: "GET", Pattern: "/machines/{id}", Roles: selfOrView},
	{Method: "PATCH", Pattern: "/machines/{id}", Roles: manage},
	{Method: "DELETE", Pattern: "/machines/{id}", Roles: admin},
	{Method: "POST", Pattern: "/machines/{id}/products", Roles: manage},
	{Method: "PATCH", Pattern: "/machines/{id}/products/{pid}", Roles: manage},
	{Method: "GET", Pattern: "/machines/{id}/inventory", Roles: selfOrView},
	{Method: "POST", Pattern: "/machines/{id}/restock", Roles: field},
	{Method: "POST", Pattern: "/events/sales", Roles: machineIn},
	{Method: "POST", Pattern: "/events/batch", Roles: machineIn},
	{Method: "POST", Pattern: "/events/telemetry", Roles: machineIn},
	{Method: "POST", Pattern: "/events/faults", Roles: reporters},
	{Method: "GET", Pattern: "/faults", Roles: field},
	{Method: "GET", Pattern: "/faults/{id}", Roles: field},
	{Method: "PATCH", Pattern: "/faults/{id}", Roles: field},
	{Method: "GET", Pattern: "/alerts", Roles: field},
	{Method: "GET", Pattern: "/aggregations/sales", Roles: money},
	{Method: "GET", Pattern: "/aggregations/products/top", Roles: money},
	{Method: "GET", Pattern: "/audit", Roles: admin},
	{Method: "GET", Pattern: "/sync", Roles: manage},
}, append(append(append(dexRoutes, movementRoutes...), orderRoutes...), paymentRoutes...)...)

type server struct {
	cfg  Config
	auth *web.Authenticator
}

// New returns the API's handler, instrumented with cfg.Metrics.
func New(cfg Config) http.Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &server{cfg: cfg, auth: &web.Authenticator{Signer: cfg.Signer, Now: cfg.Now}}
	handlers := map[string]web.Handler{
		"POST /auth/token":                    s.token,
		"GET /healthz":                        s.healthz,
		"GET /readyz":                         s.readyz,
		"POST /machines":                      s.createMachine,
		"GET /machines":                       s.listMachines,
		"GET /machines/{id}":                  s.getMachine,
		"PATCH /machines/{id}":                s.patchMachine,
		"DELETE /machines/{id}":               s.deleteMachine,
		"POST /machines/{id}/products":        s.addProduct,
		"PATCH /machines/{id}/products/{pid}": s.patchProduct,
		"GET /machines/{id}/inventory":        s.inventory,
		"POST /machines/{id}/restock":         s.restock,
		"POST /events/sales":                  s.sale,
		"POST /events/batch":                  s.batch,
		"POST /events/telemetry":              s.telemetry,
		"POST /events/faults":                 s.fault,
		"GET /faults":                         s.listFaults,
		"GET /faults/{id}":                    s.getFault,
		"PATCH /faults/{id}":                  s.patchFault,
		"GET /alerts":                         s.listAlerts,
		"GET /aggregations/sales":             s.salesAgg,
		"GET /aggregations/products/top":      s.topProducts,
		"GET /audit":                          s.audit,
		"GET /sync":                           s.syncState,
	}
	for k, h := range s.dexHandlers() {
		handlers[k] = h
	}
	for k, h := range s.lotHandlers() {
		handlers[k] = h
	}
	handlers["GET /stock-movements"] = s.stockMovements
	for k, h := range s.orderHandlers() {
		handlers[k] = h
	}
	for k, h := range s.promotionHandlers() {
		handlers[k] = h
	}
	for k, h := range s.paymentHandlers() {
		handlers[k] = h
	}
	guard := func(h http.Handler) http.Handler {
		if cfg.Limiter != nil {
			h = cfg.Limiter.Writes(h)
		}
		if cfg.Revoked != nil {
			h = s.live(h)
		}
		return h
	}
	return web.Mount(Routes, handlers, cfg.Metrics, s.auth, guard, cfg.Logger)
}

// live refuses a valid token whose client has since been revoked. The
// check is an in-memory lookup: the edge keeps the revoked set current.
func (s *server) live(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Revoked(who(r)) {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			web.WriteError(w, r, web.Errorf(http.StatusUnauthorized, "UNAUTHENTICATED", "Authorization", "the credentials of this token were revoked"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// machineScope is the machine a MACHINE token is bound to ("" for others).
func machineScope(r *http.Request) string {
	c, _ := web.ClaimsFrom(r.Context())
	if c.Role == auth.RoleMachine {
		return c.MachineID
	}
	return ""
}

func who(r *http.Request) string {
	c, _ := web.ClaimsFrom(r.Context())
	return c.ClientID
}

// ownMachine refuses a MACHINE token asking about another machine.
func ownMachine(r *http.Request, id string) error {
	if sc := machineScope(r); sc != "" && sc != id {
		return web.Errorf(http.StatusForbidden, "FORBIDDEN", "machineId", "this token belongs to machine %q and cannot read %q", sc, id)
	}
	return nil
}

func storeErr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return web.NotFound("", "%v", err)
	}
	return err
}

// token is POST /auth/token.
func (s *server) token(w http.ResponseWriter, r *http.Request) error {
	return web.TokenHandler(s.cfg.Signer, s.cfg.Now, MaxBody, func(ctx context.Context, id, secret string) (auth.Claims, error) {
		c, err := s.cfg.Store.Authenticate(ctx, id, secret)
		if errors.Is(err, store.ErrBadCredentials) {
			return auth.Claims{}, web.ErrBadCredentials
		}
		if err != nil {
			return auth.Claims{}, err
		}
		return auth.Claims{ClientID: c.ClientID, Role: c.Role, MachineID: c.MachineID}, nil
	}, web.TokenGuard{Limiter: s.cfg.Limiter, Failed: s.authFailed, Log: s.cfg.Logger})(w, r)
}

// authFailed writes a refused token request for a known client to the
// site's audit log (unknown client ids only reach the log line).
func (s *server) authFailed(ctx context.Context, f web.AuthFailure) {
	if err := s.cfg.Store.RecordAuthFailure(ctx, f.ClientID, f.RemoteIP, f.Reason, s.cfg.Now()); err != nil {
		s.cfg.Logger.Error().Err(err).Str("client", f.ClientID).Msg("audit a refused token request")
	}
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request) error {
	web.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *server) readyz(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.Store.DB.R.PingContext(r.Context()); err != nil {
		return web.Errorf(http.StatusServiceUnavailable, "NOT_READY", "", "store: %v", err)
	}
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(r.Context()); err != nil {
			if errs.KindOf(err) == errs.Unavailable {
				return err // its own code, e.g. STORAGE_FULL
			}
			return web.Errorf(http.StatusServiceUnavailable, "NOT_READY", "", "%v", err)
		}
	}
	web.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready", "site": s.cfg.Store.Site.ID})
	return nil
}

func (s *server) createMachine(w http.ResponseWriter, r *http.Request) error {
	var in machine.In
	if err := web.Decode(w, r, &in, MaxBody); err != nil {
		return err
	}
	if err := s.cfg.Machines.Register(r.Context(), in, who(r)); err != nil {
		return err
	}
	w.Header().Set("Location", "/machines/"+in.MachineID)
	return s.writeMachine(w, r, in.MachineID, http.StatusCreated)
}

func (s *server) listMachines(w http.ResponseWriter, r *http.Request) error {
	status := strings.ToUpper(r.URL.Query().Get("status"))
	if err := oneOf("status", status, "ACTIVE", "INACTIVE", "UNDER_MAINTENANCE", "DECOMMISSIONED"); err != nil {
		return err
	}
	ms, err := s.cfg.Store.Machines(r.Context(), status)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, edgeapi.MachineList{Machines: machinesOut(ms), Site: s.cfg.Store.Site.ID})
	return nil
}

func (s *server) getMachine(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := ownMachine(r, id); err != nil {
		return err
	}
	return s.writeMachine(w, r, id, http.StatusOK)
}

func (s *server) patchMachine(w http.ResponseWriter, r *http.Request) error {
	var p machine.Patch
	if err := web.Decode(w, r, &p, MaxBody); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := s.cfg.Machines.Update(r.Context(), id, p, who(r)); err != nil {
		return err
	}
	return s.writeMachine(w, r, id, http.StatusOK)
}

func (s *server) deleteMachine(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.cfg.Machines.Decommission(r.Context(), id, who(r)); err != nil {
		return err
	}
	return s.writeMachine(w, r, id, http.StatusOK)
}

// writeMachine answers with a machine's current state.
func (s *server) writeMachine(w http.ResponseWriter, r *http.Request, id string, status int) error {
	m, err := s.cfg.Store.Machine(r.Context(), id)
	if err != nil {
		return storeErr(err)
	}
	web.WriteJSON(w, status, machineOut(m))
	return nil
}

func (s *server) addProduct(w http.ResponseWriter, r *http.Request) error {
	var in stock.ProductIn
	if err := web.Decode(w, r, &in, MaxBody); err != nil {
		return err
	}
	it, err := s.cfg.Stock.AddProduct(r.Context(), r.PathValue("id"), in, who(r))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusCreated, itemOut(it))
	return nil
}

func (s *server) patchProduct(w http.ResponseWriter, r *http.Request) error {
	var p stock.ProductPatch
	if err := web.Decode(w, r, &p, MaxBody); err != nil {
		return err
	}
	it, err := s.cfg.Stock.UpdateProduct(r.Context(), r.PathValue("id"), r.PathValue("pid"), p, who(r))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, itemOut(it))
	return nil
}

func (s *server) inventory(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := ownMachine(r, id); err != nil {
		return err
	}
	items, err := s.cfg.Store.Inventory(r.Context(), id)
	if err != nil {
		return storeErr(err)
	}
	web.WriteJSON(w, http.StatusOK, edgeapi.Inventory{Items: itemsOut(items), MachineID: id})
	return nil
}

func (s *server) sale(w http.ResponseWriter, r *http.Request) error {
	var in sale.In
	if err := decodeSale(w, r, &in); err != nil {
		return err
	}
	res, err := s.cfg.Sales.Record(r.Context(), in, r.Header.Get("Idempotency-Key"), machineScope(r))
	if err != nil {
		return err
	}
	writeRecorded(w, res.Replayed, saleOut(res))
	return nil
}

func (s *server) batch(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := web.Decode(w, r, &body, MaxBatchBody); err != nil {
		return err
	}
	if len(body.Events) == 0 {
		return web.Invalid("events", "events must hold at least one sale")
	}
	if len(body.Events) > MaxBatch {
		return web.Invalid("events", "events holds %d sales; at most %d per batch", len(body.Events), MaxBatch)
	}
	ins := make([]sale.In, len(body.Events))
	bad := map[int]*errs.Error{}
	for i, raw := range body.Events {
		if err := web.DecodeBytes(raw, &ins[i]); err != nil {
			var e *web.Error
			errors.As(err, &e)
			bad[i] = &errs.Error{Kind: errs.Invalid, Code: e.Code, Message: e.Message, Field: e.Field}
			ins[i] = sale.In{} // rejected below by validation; the real reason is kept
		}
	}
	results, err := s.cfg.Sales.RecordBatch(r.Context(), ins, machineScope(r))
	if err != nil {
		return err
	}
	var acc, dup, rej int
	for i := range results {
		if e, ok := bad[i]; ok {
			results[i].Status, results[i].Error = "REJECTED", e
		}
		switch results[i].Status {
		case "ACCEPTED":
			acc++
		case "DUPLICATE":
			dup++
		default:
			rej++
			s.cfg.Metrics.CountRejected("POST /events/batch (event)", results[i].Error.Code)
		}
	}
	web.WriteJSON(w, http.StatusOK, edgeapi.BatchAnswer{Accepted: acc, Duplicates: dup, Rejected: rej, Results: batchOut(results)})
	return nil
}

func (s *server) telemetry(w http.ResponseWriter, r *http.Request) error {
	var in telemetry.In
	if err := web.Decode(w, r, &in, MaxBody); err != nil {
		return err
	}
	if err := s.cfg.Telemetry.Record(r.Context(), in, machineScope(r)); err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusAccepted, edgeapi.Accepted{Status: "ACCEPTED"})
	return nil
}

func (s *server) fault(w http.ResponseWriter, r *http.Request) error {
	var in fault.In
	if err := web.Decode(w, r, &in, MaxBody); err != nil {
		return err
	}
	f, replayed, err := s.cfg.Faults.Report(r.Context(), in, r.Header.Get("Idempotency-Key"), machineScope(r))
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/faults/"+strconv.FormatInt(f.FaultID, 10))
	writeRecorded(w, replayed, faultOut(f))
	return nil
}

func limit(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, web.Invalid("limit", "limit %q: must be a whole number from 1 to 1000", v)
	}
	return n, nil
}

func oneOf(field, v string, allowed ...string) error {
	if v == "" {
		return nil
	}
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return web.Invalid(field, "%s %q: must be one of %s", field, v, strings.Join(allowed, ", "))
}

func (s *server) listFaults(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	status := strings.ToUpper(q.Get("status"))
	if err := oneOf("status", status, fault.Statuses...); err != nil {
		return err
	}
	n, err := limit(r)
	if err != nil {
		return err
	}
	fs, err := s.cfg.Store.AppendFaults(r.Context(), faultBufs.Get(), store.FaultFilter{Status: status, MachineID: q.Get("machineId"), City: q.Get("city"), Limit: n})
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, edgeapi.FaultsOf{Len: len(fs), At: func(i int) edgeapi.Fault { return faultOut(fs[i]) }})
	faultBufs.Put(fs)
	return nil
}

func faultID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, web.Invalid("faultId", "fault id %q: must be a positive whole number", r.PathValue("id"))
	}
	return id, nil
}

func (s *server) getFault(w http.ResponseWriter, r *http.Request) error {
	id, err := faultID(r)
	if err != nil {
		return err
	}
	f, err := s.cfg.Store.Fault(r.Context(), id)
	if err != nil {
		return storeErr(err)
	}
	web.WriteJSON(w, http.StatusOK, faultOut(f))
	return nil
}

func (s *server) patchFault(w http.ResponseWriter, r *http.Request) error {
	id, err := faultID(r)
	if err != nil {
		return err
	}
	var body struct {
		Status *string `json:"status"`
	}
	if err := web.Decode(w, r, &body, MaxBody); err != nil {
		return err
	}
	if body.Status == nil {
		return web.Invalid("status", "status is required (OPEN, IN_PROGRESS or RESOLVED)")
	}
	f, err := s.cfg.Faults.Update(r.Context(), id, *body.Status, who(r))
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, faultOut(f))
	return nil
}

func (s *server) listAlerts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	status := strings.ToUpper(q.Get("status"))
	if err := oneOf("status", status, "OPEN", "CLOSED"); err != nil {
		return err
	}
	typ := strings.ToUpper(q.Get("type"))
	if typ != "" {
		if _, err := wire.ParseAlertType(typ); err != nil {
			return web.Invalid("type", "%v", err)
		}
	}
	n, err := limit(r)
	if err != nil {
		return err
	}
	as, err := s.cfg.Store.Alerts(r.Context(), status, typ, q.Get("machineId"), n)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, edgeapi.AlertList{Alerts: alertsOut(as)})
	return nil
}

func (s *server) salesAgg(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	dim := q.Get("groupBy")
	if dim == "" {
		dim = "machine"
	}
	if err := oneOf("groupBy", dim, store.Dims...); err != nil {
		return err
	}
	win := bucket.Day
	if v := q.Get("window"); v != "" {
		var err error
		if win, err = bucket.ParseWindow(v); err != nil {
			return web.Invalid("window", "%v", err)
		}
	}
	from, to, err := web.Range(r, web.EndOfHour(s.cfg.Now(), s.cfg.Store.Site.Loc), s.cfg.Store.Site.Loc)
	if err != nil {
		return err
	}
	if win == bucket.Hour && to.Sub(from) > 93*24*time.Hour {
		return web.Invalid("window", "hourly buckets are limited to 93 days; use window=day for longer ranges")
	}
	rows, tot, err := s.cfg.Store.AppendSalesAgg(r.Context(), aggBufs.Get(), dim, win, from, to)
	if err != nil {
		return err
	}
	defer aggBufs.Put(rows)
	out := salesRowsOut(salesRowBufs.Get(), rows)
	defer salesRowBufs.Put(out)
	ans := edgeapi.SalesAnswer{
		Site: s.cfg.Store.Site.ID, Timezone: s.cfg.Store.Site.Timezone, GroupBy: dim, Window: string(win),
		From: from.Format(localLayout), To: to.Format(localLayout), Rows: out,
		Totals: edgeapi.Totals{Transactions: tot.Transactions, Quantity: tot.Quantity, Revenue: tot.Revenue},
	}
	if err := s.addDiscounts(r, &ans, dim, win, from, to); err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, ans)
	return nil
}

func (s *server) topProducts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	n := 10
	if v := q.Get("n"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 1000 {
			return web.Invalid("n", "n %q: must be a whole number from 1 to 1000", v)
		}
	}
	by := q.Get("by")
	if err := oneOf("by", by, "revenue", "quantity"); err != nil {
		return err
	}
	from, to, err := web.Range(r, web.EndOfHour(s.cfg.Now(), s.cfg.Store.Site.Loc), s.cfg.Store.Site.Loc)
	if err != nil {
		return err
	}
	ps, err := s.cfg.Store.TopProducts(r.Context(), n, from, to, by == "quantity")
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, edgeapi.TopAnswer{
		Site: s.cfg.Store.Site.ID, Timezone: s.cfg.Store.Site.Timezone,
		From: from.Format(localLayout), To: to.Format(localLayout), Products: productTotalsOut(ps),
	})
	return nil
}

func (s *server) audit(w http.ResponseWriter, r *http.Request) error {
	n, err := limit(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	es, details, err := s.cfg.Store.AppendAudit(r.Context(), auditBufs.Get(), detailBufs.Get(), q.Get("entityType"), q.Get("entityId"), n)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, edgeapi.AuditOf{Len: len(es), At: func(i int) edgeapi.AuditEntry { return auditEntryOut(es[i]) }})
	auditBufs.Put(es)
	detailBufs.Put(details)
	return nil
}

func (s *server) syncState(w http.ResponseWriter, r *http.Request) error {
	st, err := s.cfg.Store.OutboxStats(r.Context(), s.cfg.Now())
	if err != nil {
		return err
	}
	var up Uplink
	if s.cfg.Uplink != nil {
		up = s.cfg.Uplink()
	}
	web.WriteJSON(w, http.StatusOK, edgeapi.SyncState{
		Outbox: edgeapi.OutboxStats{LastSeq: st.LastSeq, AckedSeq: st.AckedSeq, Depth: st.Depth, Oldest: st.Oldest},
		Site:   s.cfg.Store.Site.ID, Uplink: uplinkOut(up),
	})
	return nil
}

// writeRecorded answers a write that is idempotent by a client's key: 201
// with out, marked Idempotent-Replayed when it is the first answer again.
func writeRecorded(w http.ResponseWriter, replayed bool, out any) {
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	web.WriteJSON(w, http.StatusCreated, out)
}
