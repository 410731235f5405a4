// Package api is central's HTTP API for HQ: fleet-wide sales aggregates with
// the freshness of every site they cover, faults, alerts, sync state per
// site, machines, authoring of the configuration pushed down to the sites,
// and HQ client credentials.
//
// Reads come from this node's read model; writes to a site's configuration
// go into the hub's CONFIG bucket (sync/downlink), from which each site's
// mirror takes them whenever its link is up. The site applies a change and
// its effect comes back up like any local fact, so the read model shows it
// once the site has synced: authoring answers 202 with what was published.
package api

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/central/hqauth"
	"github.com/vendsync/vendsync/central/hqlog"
	"github.com/vendsync/vendsync/central/promotion"
	"github.com/vendsync/vendsync/central/purchasing"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/central/sitereg"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/tlsca"
	"github.com/vendsync/vendsync/internal/web"
	"github.com/vendsync/vendsync/sync/downlink"
)

// MaxBody bounds every request body.
const MaxBody = 64 << 10

// DefaultStaleAfter is how long without contact a site is reported stale.
const DefaultStaleAfter = 15 * time.Minute

// Config wires the API to this central node.
type Config struct {
	Store     *readmodel.Store
	Auth      *hqauth.Store
	Signer    *auth.Signer
	Publisher *downlink.Publisher
	Metrics   *web.Metrics
	Logger    zerolog.Logger
	Now       func() time.Time

	// ConfigKV is the hub's CONFIG bucket (envelope.BucketConfig). When set,
	// a partial change is merged with the value already published under the
	// same key, so a site that was offline through two changes of one key
	// (its mirror keeps only the last) still gets both. nil: no merge. The
	// merge reads and writes through Publisher, revision-checked.
	ConfigKV jetstream.KeyValue
	// Catalog finds the machines stocking a product for PUT
	// /catalog/products/{pid}. nil: that route answers 501.
	Catalog Catalog
	// Sites is the shared site registry behind POST /sites, GET
	// /sites/registry and DELETE /sites/{siteId}; GET /sites also lists
	// registered sites that never synced. nil: those routes answer 501.
	Sites *sitereg.Registry
	// StaleAfter is how long without contact a site is reported stale;
	// 0 means DefaultStaleAfter.
	StaleAfter time.Duration
	// Ready reports whether the node is ready to serve (nil: always).
	Ready func(context.Context) error
	// Behind reports, while the node's read model is catching up after a
	// start, how many stream messages it still has to apply. Every answer
	// then carries them in the HeaderBehind header. nil: never behind.
	Behind func() (pending uint64, behind bool)
	// Limiter rate-limits POST /auth/token and writes and locks out a
	// client id after repeated wrong secrets (nil: no limits).
	Limiter *web.Limiter
	// CA is the fleet CA that signs site certificates for POST
	// /sites/{siteId}/certificate (nil: that route answers 501).
	CA *tlsca.CA
	// NATSUsers issues and revokes operators' NATS users behind
	// /nats/users (nil: those routes answer 501).
	NATSUsers NATSUsers
	// WebhookAllowPrivate lets alert subscriptions name loopback and
	// private addresses (tests; a receiver on the operator's network).
	WebhookAllowPrivate bool
	// Demand estimates depot demand for GET /reports/replenishment (nil:
	// the read model's 28-day average daily sales).
	Demand purchasing.DemandSource
	// HQLog replicates central-owned writes to every node: a handler that
	// changes central-owned state (depots, purchase orders, …) submits an
	// entry with HQLog.Do, and its kind's handler (registered in New) applies
	// it on every node. Nil in tests that need none.
	HQLog *hqlog.Log
	// Promotions is the shared promotions store behind /promotions (nil:
	// those routes answer 501; menus then show list prices).
	Promotions *promotion.Store
	// PokePromotions asks the promotion distributor for a pass now (nil:
	// it runs on its own schedule).
	PokePromotions func()
	// Orders takes pre-orders (payments, pickup-token key, timings).
	Orders OrderSettings
}

// HeaderBehind is set on every answer of a node whose read model is still
// catching up after a start: its value is how many stream messages it has
// yet to apply, so its figures may be older than its peers'.
const HeaderBehind = "Vendsync-Behind"

// Route is one endpoint and the roles allowed to call it (none: public).
type Route = web.Route

var (
	admin   = []auth.Role{auth.RoleAdmin}
	manage  = []auth.Role{auth.RoleAdmin, auth.RoleOps}
	field   = []auth.Role{auth.RoleAdmin, auth.RoleOps, auth.RoleDriver}
	money   = []auth.Role{auth.RoleAdmin, auth.RoleOps, auth.RoleFinance}
	viewers = []auth.Role{auth.RoleAdmin, auth.RoleOps, auth.RoleFinance, auth.RoleDriver}
)

// Routes lists every endpoint with its roles. MACHINE tokens are never
// issued by central, so no route admits them.
var Routes = append([]Route{
	{Method: "POST", Pattern: "/auth/token", Roles: nil},
	{Method: "GET", Pattern: "/healthz", Roles: nil},
	{Method: "GET", Pattern: "/readyz", Roles: nil},
	{Method: "GET", Pattern: "/metrics", Roles: nil},
	{Method: "GET", Pattern: "/aggregations/sales", Roles: money},
	{Method: "GET", Pattern: "/aggregations/products/top", Roles: money},
	{Method: "GET", Pattern: "/reports/daily", Roles: money},
	{Method: "GET", Pattern: "/reports/monthly", Roles: money},
	{Method: "POST", Pattern: "/reports/export", Roles: money},
	{Method: "GET", Pattern: "/faults", Roles: field},
	{Method: "PATCH", Pattern: "/faults/{siteId}/{faultId}", Roles: manage},
	{Method: "GET", Pattern: "/alerts", Roles: field},
	{Method: "GET", Pattern: "/routes/candidates", Roles: field},
	{Method: "GET", Pattern: "/sites", Roles: viewers},
	{Method: "GET", Pattern: "/sites/{siteId}", Roles: viewers},
	{Method: "POST", Pattern: "/sites", Roles: admin},
	{Method: "GET", Pattern: "/sites/registry", Roles: manage},
	{Method: "DELETE", Pattern: "/sites/{siteId}", Roles: admin},
	{Method: "GET", Pattern: "/machines/{id}", Roles: viewers},
	{Method: "PATCH", Pattern: "/machines/{id}", Roles: manage},
	{Method: "PATCH", Pattern: "/machines/{id}/products/{pid}", Roles: manage},
	{Method: "PUT", Pattern: "/catalog/products/{pid}", Roles: manage},
	{Method: "POST", Pattern: "/clients", Roles: admin},
	{Method: "POST", Pattern: "/drivers", Roles: admin},
	{Method: "GET", Pattern: "/clients", Roles: admin},
	{Method: "DELETE", Pattern: "/clients/{id}", Roles: admin},
	{Method: "POST", Pattern: "/auth/rotate-key", Roles: admin},
	{Method: "POST", Pattern: "/sites/{siteId}/certificate", Roles: admin},
	{Method: "GET", Pattern: "/sites/{siteId}/snapshot", Roles: admin},
	{Method: "POST", Pattern: "/nats/users", Roles: admin},
	{Method: "GET", Pattern: "/nats/users", Roles: admin},
	{Method: "DELETE", Pattern: "/nats/users/{key}", Roles: admin},
	{Method: "GET", Pattern: "/reports/demand-forecast", Roles: forecastRoles},
}, append(append(append(append(dexRoutes, inventoryRoutes...), promoRoutes...), orderRoutes...), paymentRoutes...)...)

type server struct {
	cfg  Config
	log  zerolog.Logger
	auth *web.Authenticator
	// orderKeySent holds the sites this server has sent the order key.
	orderKeySent sync.Map
	// hq holds the central-owned writes that go through the HQ log.
	hq *hqOps
}

// New returns the API's handler, instrumented with cfg.Metrics. Store,
// Auth, Signer, Publisher and Metrics are required; New panics without them
// (a wiring mistake, not a runtime condition).
func New(cfg Config) http.Handler {
	if cfg.Store == nil || cfg.Auth == nil || cfg.Signer == nil || cfg.Publisher == nil || cfg.Metrics == nil {
		panic("central api: Store, Auth, Signer, Publisher and Metrics are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = DefaultStaleAfter
	}
	log := cfg.Logger.With().Str("component", "central-api").Logger()
	s := &server{cfg: cfg, log: log, auth: &web.Authenticator{Signer: cfg.Signer, Now: cfg.Now}}
	s.hq = s.newHQOps() // registers their HQ log handlers: before HQLog.Open
	handlers := map[string]web.Handler{
		"POST /auth/token":                    s.token,
		"GET /healthz":                        s.healthz,
		"GET /readyz":                         s.readyz,
		"GET /aggregations/sales":             s.salesAgg,
		"GET /aggregations/products/top":      s.topProducts,
		"GET /reports/daily":                  s.dailyReport,
		"GET /reports/monthly":                s.monthlyReport,
		"POST /reports/export":                s.export,
		"GET /faults":                         s.listFaults,
		"PATCH /faults/{siteId}/{faultId}":    s.patchFault,
		"GET /alerts":                         s.listAlerts,
		"GET /sites":                          s.listSites,
		"GET /routes/candidates":              s.routeCandidates,
		"GET /sites/{siteId}":                 s.getSite,
		"POST /sites":                         s.registerSite,
		"GET /sites/registry":                 s.listRegistry,
		"DELETE /sites/{siteId}":              s.revokeSite,
		"GET /machines/{id}":                  s.getMachine,
		"PATCH /machines/{id}":                s.patchMachine,
		"PATCH /machines/{id}/products/{pid}": s.patchProduct,
		"PUT /catalog/products/{pid}":         s.putCatalogProduct,
		"POST /clients":                       s.createClient,
		"POST /drivers":                       s.createDriver,
		"GET /clients":                        s.listClients,
		"DELETE /clients/{id}":                s.revokeClient,
		"POST /auth/rotate-key":               s.rotateKey,
		"POST /sites/{siteId}/certificate":    s.siteCertificate,
		"GET /sites/{siteId}/snapshot":        s.siteSnapshot,
		"POST /nats/users":                    s.createNATSUser,
		"GET /nats/users":                     s.listNATSUsers,
		"DELETE /nats/users/{key}":            s.revokeNATSUser,
		"GET /reports/demand-forecast":        s.demandForecast,
	}
	if cfg.HQLog != nil {
		handleOrderLog(cfg.HQLog, cfg.Store)
	}
	// The feature files' routes: lots, DEX, promotions and their report,
	// purchasing (suppliers, orders, webhooks, stock value reports),
	// pre-orders, inventory and payments.
	for _, more := range []map[string]web.Handler{s.lotHandlers(), s.dexHandlers(), s.promoReportHandlers(), s.purchasingHandlers(),
		s.orderHandlers(), s.inventoryHandlers(), s.promoHandlers(), s.paymentHandlers()} {
		maps.Copy(handlers, more)
	}
	guard := s.live
	if cfg.Limiter != nil {
		guard = func(h http.Handler) http.Handler { return s.live(cfg.Limiter.Writes(h)) }
	}
	return s.behind(web.Mount(Routes, handlers, cfg.Metrics, s.auth, guard, log))
}

// behind marks every answer of a node still catching up (see HeaderBehind).
func (s *server) behind(h http.Handler) http.Handler {
	if s.cfg.Behind == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n, ok := s.cfg.Behind(); ok {
			w.Header().Set(HeaderBehind, strconv.FormatUint(n, 10))
		}
		h.ServeHTTP(w, r)
	})
}

// live refuses a valid token whose client has since been revoked or
// removed, so revoking an HQ client takes effect at once rather than when
// its token expires.
func (s *server) live(h http.Handler) http.Handler {
	return web.Handler(func(w http.ResponseWriter, r *http.Request) error {
		c, err := s.cfg.Auth.Client(r.Context(), who(r))
		switch {
		case errors.Is(err, hqauth.ErrNotFound), err == nil && c.Revoked():
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			return web.Errorf(http.StatusUnauthorized, "UNAUTHENTICATED", "Authorization", "the credentials of this token were revoked")
		case err != nil && r.Context().Err() != nil:
			return err
		case err != nil:
			// The bucket is unreachable (hub down): the token's signature
			// and expiry were verified and tokens are short-lived, so reads
			// from this node's own read model keep working.
			s.log.Warn().Err(err).Msg("revocation check skipped")
		}
		h.ServeHTTP(w, r)
		return nil
	})
}

func who(r *http.Request) string {
	c, _ := web.ClaimsFrom(r.Context())
	return c.ClientID
}

// token is POST /auth/token.
func (s *server) token(w http.ResponseWriter, r *http.Request) error {
	return web.TokenHandler(s.cfg.Signer, s.cfg.Now, MaxBody, func(ctx context.Context, id, secret string) (auth.Claims, error) {
		c, err := s.cfg.Auth.Authenticate(ctx, id, secret)
		if errors.Is(err, hqauth.ErrBadCredentials) {
			return auth.Claims{}, web.ErrBadCredentials
		}
		if err != nil {
			return auth.Claims{}, err
		}
		return auth.Claims{ClientID: c.ID, Role: c.Role}, nil
	}, web.TokenGuard{Limiter: s.cfg.Limiter, Log: s.log, Failed: s.authFailed})(w, r)
}

// authFailed records a refused token request in central's log, marked as
// an audit entry (central keeps no audit table; its log is the audit log).
func (s *server) authFailed(_ context.Context, f web.AuthFailure) {
	s.log.Warn().Bool("audit", true).Str("action", "AUTH_"+f.Reason).Str("client", f.ClientID).Str("remote", f.RemoteIP).Msg("refused HQ token request")
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request) error {
	web.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readyz answers 200 when the read model can be read and cfg.Ready agrees.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) error {
	pos, err := s.cfg.Store.Position(r.Context())
	if err != nil {
		return web.Errorf(http.StatusServiceUnavailable, "NOT_READY", "", "read model: %v", err)
	}
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(r.Context()); err != nil {
			return web.Errorf(http.StatusServiceUnavailable, "NOT_READY", "", "%v", err)
		}
	}
	// The Behind header was set before this check; a node that caught up
	// in between is ready, and its answer must not say it is behind.
	w.Header().Del(HeaderBehind)
	web.WriteJSON(w, http.StatusOK, map[string]any{"status": "ready", "streamPosition": pos})
	return nil
}
