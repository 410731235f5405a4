// Package tui is `vendsync driver`: the restock driver's terminal app. At the
// depot it shows the route central ranks (sites by priority, with reasons)
// and builds a pick list; at the site it lists the edge's machines and
// records restocks, expired and damaged removals and counts. The route and
// the pick list are cached on disk so the app works with no connection, and
// a restock the edge cannot take yet waits in an fsync'd queue until it can.
package tui

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/internal/client"
)

// Config configures Run. DefaultConfig gives the defaults.
type Config struct {
	// CentralURL is central's HTTP API (the route); EdgeURL the site's edge
	// (machines and restocks). Either may be unreachable.
	CentralURL, EdgeURL string
	// CredentialsFile holds a DRIVER client's {"client_id","client_secret"}.
	CredentialsFile string
	// RouteFile, instead of the URLs and CredentialsFile, is the one file
	// of a whole day over many sites (`vendsync hq driver add` writes it).
	RouteFile string
	// Depot is where the day's route starts (nil: its first site).
	Depot *Point
	// CacheDir keeps the cached route, the pick list and the restock queue.
	CacheDir string
	// ExportDir is where the pick list is exported ("" = CacheDir).
	ExportDir string
	// RetryEvery is how often queued restocks are retried.
	RetryEvery time.Duration
	// RequestTimeout bounds each HTTP request.
	RequestTimeout time.Duration
	// TLS, when set, is the client TLS configuration for https:// URLs
	// (its RootCAs pin the fleet CA); nil trusts the system's roots.
	TLS *tls.Config
	// AltScreen runs full screen (the default for a terminal).
	AltScreen bool
	// Input and Output default to the process's terminal.
	Input  io.Reader
	Output io.Writer
	Logger zerolog.Logger
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{RetryEvery: 5 * time.Second, RequestTimeout: 10 * time.Second, AltScreen: true, Logger: zerolog.Nop()}
}

// Validate names the first bad field.
func (c Config) Validate() error {
	if c.RouteFile != "" {
		if c.CentralURL != "" || c.EdgeURL != "" || c.CredentialsFile != "" {
			return errors.New("route-file: holds central, the edges and the credentials: give it alone, without central, edge or credentials")
		}
	} else if c.CentralURL == "" && c.EdgeURL == "" {
		return errors.New("central, edge: give at least one URL (or a route file)")
	}
	for name, v := range map[string]string{"central": c.CentralURL, "edge": c.EdgeURL} {
		if v == "" {
			continue
		}
		if _, err := client.BaseURL(v); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if c.CredentialsFile == "" && c.RouteFile == "" {
		return errors.New("credentials: required (a DRIVER client's JSON file), or a route file")
	}
	if c.CacheDir == "" {
		return errors.New("cache: required (a directory for the route, pick list and queue)")
	}
	if c.RetryEvery <= 0 {
		return errors.New("retry interval must be positive")
	}
	if c.RequestTimeout <= 0 {
		return errors.New("request timeout must be positive")
	}
	return nil
}

// ReadCredentials reads a credentials file: {"client_id","client_secret"}
// used with both central and the edge, optionally overridden for one of them
// by a "central" or "edge" object of the same shape.
func ReadCredentials(path string) (central, edge client.Credentials, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return central, edge, fmt.Errorf("read credentials: %w", err)
	}
	var f struct {
		client.Credentials
		Central *client.Credentials `json:"central"`
		Edge    *client.Credentials `json:"edge"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return central, edge, fmt.Errorf("read credentials %s: %w", path, err)
	}
	central, edge = f.Credentials, f.Credentials
	if f.Central != nil {
		central = *f.Central
	}
	if f.Edge != nil {
		edge = *f.Edge
	}
	for name, c := range map[string]client.Credentials{"central": central, "edge": edge} {
		if c.ClientID == "" || c.ClientSecret == "" {
			return central, edge, fmt.Errorf("read credentials %s: client_id and client_secret are required (for %s)", path, name)
		}
	}
	return central, edge, nil
}

// Run runs the driver app until the driver quits or ctx ends. It returns an
// error for a bad config, unreadable credentials or cache directory, or a
// terminal failure; API errors are shown in the app, not returned.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("driver config: %w", err)
	}
	if err := os.MkdirAll(cfg.CacheDir, 0o700); err != nil {
		return fmt.Errorf("cache dir: %w", err)
	}
	q, err := OpenQueue(cfg.CacheDir)
	if err != nil {
		return err
	}
	export := cfg.ExportDir
	if export == "" {
		export = cfg.CacheDir
	}
	log := cfg.Logger.With().Str("component", "driver").Logger()
	d := deps{queue: q, cacheDir: cfg.CacheDir, exportDir: export, retryEvery: cfg.RetryEvery, timeout: cfg.RequestTimeout, depot: cfg.Depot, log: log}
	if cfg.RouteFile != "" {
		rf, err := ReadRouteFile(cfg.RouteFile)
		if err != nil {
			return err
		}
		tlsConf := cfg.TLS
		if rf.CAPEM != "" {
			tlsConf = rf.TLS()
		}
		base := NewHTTPClient(rf.Central, "", rf.HQ, client.Credentials{}, cfg.RequestTimeout, tlsConf)
		d.client, d.route = base, &rf
		d.dial = func(s RouteSite) Client { return base.ForEdge(s.EdgeURL, s.Creds) }
		cfg.CentralURL = rf.Central
	} else {
		centralCreds, edgeCreds, err := ReadCredentials(cfg.CredentialsFile)
		if err != nil {
			return err
		}
		d.client, d.edgeURL = NewHTTPClient(cfg.CentralURL, cfg.EdgeURL, centralCreds, edgeCreds, cfg.RequestTimeout, cfg.TLS), cfg.EdgeURL
		d.noCentral = cfg.CentralURL == ""
	}
	m := newModel(d)
	opts := []tea.ProgramOption{tea.WithContext(ctx)}
	if cfg.AltScreen {
		opts = append(opts, tea.WithAltScreen())
	}
	if cfg.Input != nil {
		opts = append(opts, tea.WithInput(cfg.Input))
	}
	if cfg.Output != nil {
		opts = append(opts, tea.WithOutput(cfg.Output))
	}
	log.Info().Str("central", cfg.CentralURL).Str("edge", cfg.EdgeURL).Str("route", cfg.RouteFile).Int("pending", q.Pending()).Msg("driver app started")
	_, err = tea.NewProgram(m, opts...).Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		err = nil
	}
	log.Info().Int("pending", q.Pending()).Msg("driver app stopped")
	return err
}
