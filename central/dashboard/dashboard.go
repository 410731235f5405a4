// Package dashboard is HQ's web dashboard, served by every central node at
// /ui/: the fleet at a glance (revenue, sites and their freshness, alerts and
// faults), sales over time with filters and CSV downloads, the sites on a
// map, machines and their slots, the live alert and fault list with fault
// resolution, and the drivers' routes.
//
// Pages are rendered on the server with html/template; charts are SVG drawn
// in Go. A few lines of JavaScript (static/app.js, no build step) keep a
// page live: the node's aggregator announces every committed batch on NATS,
// the dashboard forwards that as a server-sent event, and the page fetches
// its main section again. Without JavaScript every page still works.
//
// Sign-in takes an HQ client's credentials (central/hqauth) and opens a
// session kept in a replicated key-value bucket, so any node honours it and
// signing out ends it everywhere. The session cookie is HttpOnly and
// SameSite=Strict; every state-changing request carries the session's CSRF
// token. Roles are the API's: each page requires the roles of the API route
// it shows.
package dashboard

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/central/api"
	"github.com/vendsync/vendsync/central/hqauth"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/central/sitereg"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/web"
)

// Prefix is the path the dashboard is served under.
const Prefix = "/ui/"

// Defaults.
const (
	DefaultSessionTTL = 12 * time.Hour
	DefaultCoalesce   = time.Second
	DefaultTick       = time.Minute
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config wires the dashboard to a central node. Store, Auth, Signer and API
// are required; JS is required by Open.
type Config struct {
	// Store is this node's read model: every page reads it.
	Store *readmodel.Store
	// Auth checks sign-in credentials and revocations.
	Auth *hqauth.Store
	// Signer issues the short-lived bearer tokens with which the dashboard
	// calls API in-process for what the API already does (exports, fault
	// updates), so both answer alike.
	Signer *auth.Signer
	// API is the node's HQ API handler.
	API http.Handler
	// JS is the hub's JetStream: sessions live in its SessionBucket.
	JS jetstream.JetStream
	// Replicas of SessionBucket: 1, or 3 in a cluster.
	Replicas int
	// NC, when set, carries the aggregator's watermark pushes, which make
	// open pages refresh. nil: pages refresh only on Tick.
	NC *nats.Conn
	// Sites is the site registry (names, cities, coordinates); nil: sites
	// are shown from the read model alone.
	Sites *sitereg.Registry
	// Metrics, when set, records the dashboard's requests.
	Metrics *web.Metrics
	Logger  zerolog.Logger
	Now     func() time.Time
	// Location is the zone "today" is counted in (default UTC).
	Location *time.Location
	// StaleAfter is how long without contact a site is stale (default
	// api.DefaultStaleAfter, as the API).
	StaleAfter time.Duration
	// SessionTTL is how long a session lasts (default DefaultSessionTTL).
	SessionTTL time.Duration
	// Coalesce is the least time between two change notices to open pages
	// (default DefaultCoalesce): a busy fleet commits many batches a
	// second, and a page is not read faster than that.
	Coalesce time.Duration
	// Tick is how often open pages refresh when nothing changed, so ages
	// ("5 min ago") and staleness stay true (default DefaultTick).
	Tick time.Duration
}

// Dashboard serves /ui/. New → Open → Close.
type Dashboard struct {
	cfg      Config
	log      zerolog.Logger
	pages    map[string]*template.Template
	static   http.Handler
	handler  http.Handler
	sessions *sessions
	live     *notifier
	limiter  *limiter
	reg      registryCache
	heats    *memo // hour-of-week charts by filter
	plans    *memo // the drivers' route

	mu     sync.Mutex
	closed bool
}

// New checks cfg and returns an unopened dashboard. It returns an error
// naming a missing field.
func New(cfg Config) (*Dashboard, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("dashboard config: Store is required")
	case cfg.Auth == nil:
		return nil, errors.New("dashboard config: Auth is required")
	case cfg.Signer == nil:
		return nil, errors.New("dashboard config: Signer is required")
	case cfg.API == nil:
		return nil, errors.New("dashboard config: API is required")
	}
	return newDashboard(cfg)
}

// newDashboard fills cfg's defaults and parses the templates.
func newDashboard(cfg Config) (*Dashboard, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = api.DefaultStaleAfter
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.Coalesce <= 0 {
		cfg.Coalesce = DefaultCoalesce
	}
	if cfg.Tick <= 0 {
		cfg.Tick = DefaultTick
	}
	if cfg.Replicas < 1 {
		cfg.Replicas = 1
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("dashboard static: %w", err)
	}
	d := &Dashboard{
		cfg:     cfg,
		log:     cfg.Logger.With().Str("component", "dashboard").Logger(),
		pages:   pages,
		static:  http.StripPrefix(Prefix+"static/", http.FileServerFS(sub)),
		live:    newNotifier(cfg.Store, cfg.Coalesce),
		limiter: newLimiter(10, time.Minute, cfg.Now),
		reg:     registryCache{reg: cfg.Sites, ttl: 30 * time.Second, now: cfg.Now},
		heats:   newMemo(heatTTL, 64, cfg.Now),
		plans:   newMemo(routeTTL, 1, cfg.Now),
	}
	d.handler = d.routes()
	return d, nil
}

// Open creates (or binds to) the session bucket and starts listening for
// the aggregator's commits. It returns an error when JetStream cannot be
// reached.
func (d *Dashboard) Open(ctx context.Context) error {
	if d.cfg.JS == nil {
		return errors.New("open dashboard: JS is required")
	}
	if d.sessions == nil {
		s, err := openSessions(ctx, d.cfg.JS, d.cfg.Replicas, d.cfg.SessionTTL, d.cfg.Now)
		if err != nil {
			return fmt.Errorf("open dashboard: %w", err)
		}
		d.sessions = s
	}
	if d.cfg.NC != nil {
		if err := d.live.listen(d.cfg.NC); err != nil {
			return fmt.Errorf("open dashboard: %w", err)
		}
	}
	return nil
}

// Close ends every live page's event stream (so a server shutting down does
// not wait for them) and stops listening for commits.
func (d *Dashboard) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	d.live.close()
	return nil
}

// ServeHTTP serves /ui and everything under /ui/.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) { d.handler.ServeHTTP(w, r) }

// Wrap serves the dashboard under /ui/ and hands every other request to
// next (the API).
func (d *Dashboard) Wrap(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/ui", d)
	mux.Handle(Prefix, d)
	mux.Handle("/", next)
	return mux
}
