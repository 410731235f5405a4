//go:build !site

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/vendsync/vendsync/internal/tlsca"
	"github.com/vendsync/vendsync/tui"
)

func newDriverCmd(logs *logOptions) *cobra.Command {
	cfg := tui.DefaultConfig()
	var depot string
	cmd := &cobra.Command{
		Use:   "driver",
		Short: "The restock driver's terminal app: route, pick list, restock at the site",
		Long: `Run the restock driver's terminal app.

At the depot (connected to --central) it lists the driver's sites by priority
(out-of-stock slots, low stock, expired or expiring items, temperature alerts,
machines offline, days since the last visit) with the reasons, and builds a
pick list for the chosen sites: units per product to fill every slot to its
par level, rounded up to case packs, exportable as CSV and text.

At the site (connected to the site's --edge) it lists the machines with their
stock, par, expiry and open alerts, and records restocks, expired and damaged
removals and shelf counts. A restock the edge cannot take yet is kept in a
queue in --cache and delivered exactly once when the edge answers again.

The route and the pick list are cached in --cache, so the app works with no
connection. --credentials is a DRIVER client's JSON file
{"client_id": …, "client_secret": …}; it may also hold "central" and "edge"
objects of the same shape when the two issue different credentials.
Logs go to CACHE/driver.log (the terminal belongs to the app).

A whole day over many sites: --route-file is the one file
` + "`vendsync hq driver add`" + ` writes (central, its CA, the driver's HQ
credential and, per site of the route, the edge's URL and a credential only
that site accepts). S lists the stops in driving order (urgency and
distance from --depot lat,lng or the first site; drive time at 40 km/h on
roads 1.3× the straight line); enter goes to a site; the current site is
always in the title. Each site's data is cached apart, so every site seen
once works offline.

Keys: ? help, / filter, tab route ↔ site, S stops, Q queued and refused
work, q quit.`,
		Example: `  vendsync driver --central http://central.example:9080 --edge http://192.168.1.20:8080 \
      --credentials ~/.config/vendsync/driver.json
  vendsync driver --edge http://127.0.0.1:8080 --credentials drv.json --cache /tmp/route
  vendsync driver --route-file ~/.config/vendsync/route.json --depot 12.97,77.59`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cfg.CacheDir == "" {
				dir, err := os.UserCacheDir()
				if err != nil {
					return fmt.Errorf("--cache: no default cache directory (%v); give one", err)
				}
				cfg.CacheDir = filepath.Join(dir, "vendsync-driver")
			}
			if depot != "" {
				p, err := parseDepot(depot)
				if err != nil {
					return err
				}
				cfg.Depot = p
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			lvl, err := zerolog.ParseLevel(logs.level)
			if err != nil {
				return fmt.Errorf("--log-level %q: use debug, info, warn or error", logs.level)
			}
			if err := os.MkdirAll(cfg.CacheDir, 0o700); err != nil {
				return fmt.Errorf("--cache: %w", err)
			}
			f, err := os.OpenFile(filepath.Join(cfg.CacheDir, "driver.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
			if err != nil {
				return fmt.Errorf("open log: %w", err)
			}
			defer f.Close()
			cfg.Logger = zerolog.New(f).Level(lvl).With().Timestamp().Logger()
			if ca := caFlag(cmd); ca != "" {
				if cfg.TLS, err = tlsca.ClientConfig(ca); err != nil {
					return fmt.Errorf("--ca: %w", err)
				}
			}
			return tui.Run(cmd.Context(), cfg)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.CentralURL, "central", "", "central's HTTP API, e.g. http://central.example:9080 or central.example:9080 (the route)")
	fl.StringVar(&cfg.EdgeURL, "edge", "", "the site's edge HTTP API, e.g. http://192.168.1.20:8080 or 192.168.1.20:8080 (machines, restocks)")
	fl.StringVar(&cfg.CredentialsFile, "credentials", "", "a DRIVER client's credentials file (JSON)")
	fl.StringVar(&cfg.RouteFile, "route-file", "", "the day's route file that vendsync hq driver add writes (instead of --central, --edge and --credentials)")
	fl.StringVar(&depot, "depot", "", "where the day starts, lat,lng (default: the route's first site)")
	fl.StringVar(&cfg.CacheDir, "cache", "", "directory for the cached route, pick list, restock queue and log (default: the user cache dir)")
	fl.StringVar(&cfg.ExportDir, "export", "", "directory the pick list is exported to (default: --cache)")
	fl.DurationVar(&cfg.RetryEvery, "retry", 5*time.Second, "how often queued restocks are retried")
	return cmd
}

// parseDepot reads --depot lat,lng.
func parseDepot(s string) (*tui.Point, error) {
	a, b, ok := strings.Cut(s, ",")
	lat, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
	lng, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
	if !ok || err1 != nil || err2 != nil || lat < -90 || lat > 90 || lng < -180 || lng > 180 {
		return nil, fmt.Errorf("--depot %q: want lat,lng in degrees, e.g. 12.9716,77.5946", s)
	}
	return &tui.Point{Lat: lat, Lng: lng}, nil
}
