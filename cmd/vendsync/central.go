//go:build !site

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/central/api"
	"github.com/vendsync/vendsync/central/liveness"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/portcheck"
	"github.com/vendsync/vendsync/internal/service"
	"github.com/vendsync/vendsync/internal/web"
)

func newCentralCmd(logs *logOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "central",
		Short: "Run central (the hub and HQ API) and manage its sites",
	}
	cmd.AddCommand(newCentralRunCmd(logs), newCentralRebuildCmd(logs), newCentralSiteCmd(), newCentralRotateKeyCmd(),
		newCentralFleetCACmd(), newCentralNATSCredsCmd())
	cmd.AddCommand(newInstallCmd(service.RoleCentral))
	return cmd
}

func newCentralRotateKeyCmd() *cobra.Command {
	var base, creds string
	cmd := &cobra.Command{
		Use:   "rotate-key",
		Short: "Replace the key that signs HQ access tokens on every central node",
		Long: `Replace central's token signing key (shared by every node) with a new random
one, through POST /auth/rotate-key with HQ ADMIN credentials. Every HQ token
issued before, on any node, is refused from then on; clients keep their
credentials and get a new token from POST /auth/token. Sites are not
affected (each site signs its own tokens: 'vendsync edge rotate-key').`,
		Example: `  vendsync central rotate-key --central https://hq.example:9080 --credentials hq-admin.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := hqClient(base, creds, caFlag(cmd))
			if err != nil {
				return err
			}
			if err := c.Do(cmd.Context(), "POST", "/auth/rotate-key", map[string]bool{"confirm": true}, nil); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "central's token signing key rotated: every HQ token issued before is refused")
			return nil
		},
	}
	addCentralFlags(cmd, &base, &creds)
	return cmd
}

func newCentralRunCmd(logs *logOptions) *cobra.Command {
	cfg := central.DefaultConfig()
	var orders orderFlags
	rateLimits := true
	var insecureHTTP, insecureLeaf, insecureRoutes, insecureNATS bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run a central node: NATS hub for sites, aggregator, HQ API",
		Long: `Run one central node. It embeds the NATS hub (JetStream domain "hub") with a
leafnode listener that sites connect to, consumes every site's events into this
node's SQLite read model, and serves the HQ API. On its first start every
node writes an HQ ADMIN credential of its own to DIR/admin-credentials.json
(HQ credentials are shared: any node accepts any of them).

Before anything is started or written, every port it is to listen on is
checked: one in use is an error naming the flag.

For a 3-node cluster give each node its own --dir and --server-name, the same
--cluster-name, a --cluster-listen address and the other nodes' --routes, and
--replicas 3: ingest continues while any one node is down, and every node
answers queries from its own read model. Routes are TLS with mutual
authentication: every node presents its certificate from the fleet CA and
accepts only another central node's. Before a new cluster's first start, make
the fleet CA once ('vendsync central fleet-ca --out fleet-ca.pem') and give
every node that file with --fleet-ca; after that each node keeps its own
certificate in DIR/tls and the file is no longer needed.

The NATS client port (--nats-listen) serves TLS with the node's certificate
(clients pin DIR/ca.pem) and admits only NKEY users: sites, and credentials
from 'vendsync central nats-creds'.

Settings come from flags, then VENDSYNC_<FLAG> environment variables, then
the --config YAML file (keys are the flag names), then the defaults.`,
		Example: `  vendsync central run --dir /var/lib/vendsync-central --http 0.0.0.0:9080 --leaf 0.0.0.0:7422

  # node 1 of 3 (fleet-ca.pem made once by 'vendsync central fleet-ca', copied to every node)
  vendsync central run --dir c1 --server-name c1 --http :9081 --leaf :7421 \
      --cluster-name hq --cluster-listen 127.0.0.1:6221 --replicas 3 --fleet-ca fleet-ca.pem \
      --routes nats-route://127.0.0.1:6222,nats-route://127.0.0.1:6223`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := logs.logger()
			if err != nil {
				return err
			}
			cfg.Logger = log
			if !rateLimits {
				cfg.RateLimits = web.NoRateLimits()
			}
			cfg.HTTPTLS, cfg.LeafTLS = !insecureHTTP, !insecureLeaf
			cfg.RouteTLS, cfg.NATSTLS = !insecureRoutes, !insecureNATS
			if err := orders.apply(&cfg); err != nil {
				return err
			}
			n, err := central.New(cfg)
			if err != nil {
				return err
			}
			// A port in use is one line, before anything is started or
			// written (the node's directory, its admin credential).
			if err := portcheck.Free(
				portcheck.Listener{Setting: "--http", Addr: cfg.HTTPAddr}, portcheck.Listener{Setting: "--leaf", Addr: cfg.LeafListen},
				portcheck.Listener{Setting: "--nats-listen", Addr: cfg.ClientListen}, portcheck.Listener{Setting: "--cluster-listen", Addr: cfg.ClusterListen},
			); err != nil {
				return err
			}
			if err := n.Open(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "central %s: HQ API %s, sites connect to %s; fleet CA certificate %s\n", cfg.ServerName, n.URL(), n.Hub.LeafURL(), n.CAPath())
			<-cmd.Context().Done()
			return n.Close()
		},
	}
	f := cmd.Flags()
	addOrderFlags(f, &orders, &cfg)
	f.StringVar(&cfg.Dir, "dir", "", "the node's data directory")
	f.StringVar(&cfg.ServerName, "server-name", cfg.ServerName, "node name, unique in the cluster")
	f.StringVar(&cfg.HTTPAddr, "http", cfg.HTTPAddr, "host:port for the HQ API")
	f.StringVar(&cfg.LeafListen, "leaf", cfg.LeafListen, "host:port sites connect their leaf nodes to")
	f.StringVar(&cfg.ClientListen, "nats-listen", "", "host:port for NATS clients (default: none on a single node; a node of a cluster listens on a random 127.0.0.1 port, which routing needs)")
	f.StringVar(&cfg.ClusterName, "cluster-name", "", "JetStream cluster name (empty: single node)")
	f.StringVar(&cfg.ClusterListen, "cluster-listen", "", "host:port for routes from the other nodes")
	f.StringSliceVar(&cfg.Routes, "routes", nil, "the other nodes' nats-route://host:port (repeat or comma-separate)")
	f.StringVar(&cfg.ClusterAdvertise, "cluster-advertise", "", "host:port other nodes are told to reach this node's routes at when they learn of it through a third (default: --cluster-listen); for a NAT or proxy in between (make torture points it at a closed port so that every route goes through its cuttable links)")
	f.IntVar(&cfg.Replicas, "replicas", cfg.Replicas, "replicas of the fleet stream and shared buckets: 1, or 3 in a cluster")
	f.DurationVar(&cfg.TokenTTL, "token-ttl", cfg.TokenTTL, "lifetime of HQ access tokens")
	f.DurationVar(&cfg.StaleAfter, "stale-after", api.DefaultStaleAfter, "how long a site that is not connected may go unheard before its figures are reported stale")
	f.DurationVar(&cfg.HeartbeatTimeout, "heartbeat-timeout", liveness.DefaultTimeout, "how long without a heartbeat makes a site disconnected")
	f.IntVar(&cfg.HTTPLimits.MaxConns, "max-conns", cfg.HTTPLimits.MaxConns, "most HTTP connections open at once (more wait to be accepted)")
	f.StringVar(&cfg.TLSCertFile, "tls-cert", "", "certificate (PEM) for the HQ API instead of one from the fleet CA, e.g. from a public CA")
	f.StringVar(&cfg.TLSKeyFile, "tls-key", "", "the --tls-cert's private key (PEM, mode 0600)")
	f.StringSliceVar(&cfg.TLSHosts, "tls-host", nil, "host names or addresses sites and clients reach this node by, for its certificate (localhost and the listen addresses are always in it)")
	f.BoolVar(&insecureHTTP, "insecure-http", false, "serve the HQ API over plain HTTP (local development only)")
	f.BoolVar(&insecureLeaf, "insecure-leaf", false, "accept sites' leaf connections without TLS (local development only)")
	f.BoolVar(&insecureRoutes, "insecure-routes", false, "connect the cluster's nodes over plaintext, unauthenticated routes (local development only)")
	f.BoolVar(&insecureNATS, "insecure-nats", false, "serve the NATS client port (--nats-listen) without TLS (local development only; clients still need an NKEY)")
	f.StringVar(&cfg.FleetCAFile, "fleet-ca", "", "the fleet CA (certificate and key, 0600) from 'vendsync central fleet-ca', the same for every node: needed by a cluster node's first start")
	f.BoolVar(&rateLimits, "rate-limits", true, "rate-limit token requests and writes per client and address (false only for load tests)")
	f.IntVar(&cfg.RateLimits.LockoutAfter, "lockout-after", cfg.RateLimits.LockoutAfter, "wrong secrets in a row that lock an HQ client id out of POST /auth/token (0: never)")
	f.BoolVar(&cfg.WebhookAllowPrivate, "webhook-allow-private", false, "let alert webhooks reach loopback and private addresses (refused by default against SSRF)")
	f.DurationVar(&cfg.RateLimits.LockoutFor, "lockout-for", cfg.RateLimits.LockoutFor, "how long a locked-out client id is refused")
	f.IntVar(&cfg.HTTPLimits.MaxConnsPerIP, "max-conns-per-ip", cfg.HTTPLimits.MaxConnsPerIP, "most HTTP connections open from one address (more are closed; 0: no bound)")
	return withConfigFile(cmd)
}

func newCentralRebuildCmd(logs *logOptions) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "rebuild",
		Short: "Recompute every aggregate of a node's read model from its raw events",
		Long: `Recompute every aggregate of the node's read model from the raw events it
keeps, in one transaction (queries see the old or the new totals, never a
mix). Run it on a stopped node, or on a running one during a quiet moment.`,
		Example: `  vendsync central rebuild --dir /var/lib/vendsync-central`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return fmt.Errorf("--dir is required")
			}
			path := filepath.Join(dir, central.ReadModelFile)
			if _, err := os.Stat(path); err != nil {
				return fmt.Errorf("--dir %s: no read model (%w)", dir, err)
			}
			log, err := logs.logger()
			if err != nil {
				return err
			}
			st, err := readmodel.Open(cmd.Context(), path, readmodel.WithLogger(log))
			if err != nil {
				return err
			}
			defer st.Close()
			n, err := st.Rebuild(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rebuilt aggregates from %d sales\n", n)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the node's data directory")
	return cmd
}

func newCentralSiteCmd() *cobra.Command {
	var base, creds string
	cmd := &cobra.Command{
		Use:   "site",
		Short: "Register, list and revoke sites at central",
	}
	cmd.PersistentFlags().StringVar(&base, "central", "https://127.0.0.1:9080", "central's HQ API URL, https://host:port (or host:port; http:// only if central runs --insecure-http); pin its CA with --ca")
	cmd.PersistentFlags().StringVar(&creds, "credentials", "", "HQ ADMIN credentials file ({\"client_id\",\"client_secret\"})")

	var body hqapi.NewSite
	var out string
	var lat, lng float64
	add := &cobra.Command{
		Use:   "add SITE_ID",
		Short: "Register a site and issue its leaf credentials (an NKEY seed)",
		Long: `Register a site at central and issue the NKEY seed its leaf connection
authenticates with. The seed is written (0600) to --out and never printed; the
site may publish only its own subjects and read only its own downlink.
Re-running for a registered site fails unless --rotate, which issues a new key
and disconnects the old one.`,
		Example: `  vendsync central site add blr-techpark --credentials hq-admin.json --city Bangalore \
      --timezone Asia/Kolkata --out ./data/site/leaf.seed`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("--out is required: the file the site's seed is written to")
			}
			c, err := hqClient(base, creds, caFlag(cmd))
			if err != nil {
				return err
			}
			body.SiteID = args[0]
			if cmd.Flags().Changed("lat") {
				body.Lat = &lat
			}
			if cmd.Flags().Changed("lng") {
				body.Lng = &lng
			}
			s, err := c.RegisterSite(cmd.Context(), body)
			if err != nil {
				return err
			}
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
			if err != nil {
				return fmt.Errorf("--out: %w", err)
			}
			if _, err := f.WriteString(s.Seed + "\n"); err != nil {
				f.Close()
				return fmt.Errorf("--out: %w", err)
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("--out: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "site %s registered (key %s…); seed written to %s\n", s.ID, s.PublicKey[:min(12, len(s.PublicKey))], out)
			return nil
		},
	}
	add.Flags().StringVar(&body.Name, "name", "", "human-readable site name")
	add.Flags().StringVar(&body.City, "city", "", "city the site is in")
	add.Flags().StringVar(&body.Timezone, "timezone", "", "IANA timezone of the site")
	add.Flags().Float64Var(&lat, "lat", 0, "latitude")
	add.Flags().Float64Var(&lng, "lng", 0, "longitude")
	add.Flags().BoolVar(&body.Rotate, "rotate", false, "issue a new key for a registered site (the old one stops working)")
	add.Flags().StringVar(&out, "out", "", "file to write the site's NKEY seed to (0600)")

	list := &cobra.Command{
		Use: "list", Short: "List registered sites", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := hqClient(base, creds, caFlag(cmd))
			if err != nil {
				return err
			}
			sites, err := c.Registry(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SITE\tNAME\tCITY\tTIMEZONE\tSTATE")
			for _, s := range sites {
				state := "active"
				if s.RevokedAt != nil {
					state = "revoked " + s.RevokedAt.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.Name, s.City, s.Timezone, state)
			}
			return tw.Flush()
		},
	}
	revoke := &cobra.Command{
		Use: "revoke SITE_ID", Short: "Revoke a site: its leaf is disconnected and refused", Args: cobra.ExactArgs(1),
		Example: `  vendsync central site revoke blr-techpark --credentials hq-admin.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := hqClient(base, creds, caFlag(cmd))
			if err != nil {
				return err
			}
			if _, err := c.RevokeSite(cmd.Context(), strings.TrimSpace(args[0])); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "site %s revoked: disconnected and refused from now on\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(add, list, revoke)
	return cmd
}
