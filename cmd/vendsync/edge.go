package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/gcfloor"
	"github.com/vendsync/vendsync/internal/portcheck"
	"github.com/vendsync/vendsync/internal/provision"
	"github.com/vendsync/vendsync/internal/secfile"
	"github.com/vendsync/vendsync/internal/service"
	"github.com/vendsync/vendsync/internal/tlsca"
	"github.com/vendsync/vendsync/internal/web"
)

func newEdgeCmd(logs *logOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "edge",
		Short: "Run and administer a site appliance",
	}
	cmd.AddCommand(newEdgeInitCmd(), newEdgeRunCmd(logs), newEdgeClientCmd(), newEdgeRotateKeyCmd(), newEdgeBackupCmd(), newEdgeRestoreCmd(), newEdgeNATSCredsCmd())
	cmd.AddCommand(newInstallCmd(service.RoleEdge))
	return cmd
}

func newEdgeRotateKeyCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "rotate-key",
		Short: "Replace the key that signs the site's access tokens",
		Long: `Replace the site's token signing key with a new random one. Every token
signed before is refused from then on (a running edge picks the new key up
within a second); clients keep their credentials and simply get a new token
from POST /auth/token. Use it when the key may have leaked (a copy of
site.db, a backup readable by others) or as a routine.`,
		Example: `  vendsync edge rotate-key --dir /var/lib/vendsync`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStore(cmd, dir)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.RotateTokenKey(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "token signing key of site %s rotated: tokens issued before are refused\n", st.Site.ID)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the site's data directory")
	return cmd
}

func newEdgeInitCmd() *cobra.Command {
	var dir string
	var site store.SiteInit
	var tlsHosts []string
	var fromCentral restoreFlags
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a site: its database and a first ADMIN credential",
		Long: `Create a site in --dir: its SQLite database and a first ADMIN client
credential, written (mode 0600) to DIR/admin-credentials.json as
{"client_id": …, "client_secret": …}. The secret is shown nowhere else.`,
		Example: `  vendsync edge init --dir /var/lib/vendsync --site blr-techpark --city Bangalore --timezone Asia/Kolkata`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return fmt.Errorf("--dir is required")
			}
			if fromCentral.on {
				return initFromCentral(cmd, dir, site.ID, fromCentral, tlsHosts)
			}
			creds, err := edge.Init(cmd.Context(), dir, site)
			if err != nil {
				return err
			}
			if err := edge.InitTLS(dir, site.ID, tlsca.DefaultHosts(tlsHosts...)); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "site %s created in %s\nadmin client %s; its secret is in %s\nAPI certificate in %s; clients pin %s\n",
				site.ID, dir, creds.ClientID, filepath.Join(dir, edge.CredentialsFile),
				filepath.Join(dir, tlsca.TLSDir, tlsca.CertFile), filepath.Join(dir, tlsca.TLSDir, tlsca.CAFile))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "data directory for the site (created if missing)")
	f.StringVar(&site.ID, "site", "", "site id: letters, digits, '-' and '_' (also its JetStream domain)")
	f.StringVar(&site.Name, "name", "", "human-readable site name")
	f.StringVar(&site.City, "city", "", "city the site is in")
	f.StringVar(&site.Timezone, "timezone", "", "IANA timezone of the site, e.g. Asia/Kolkata (buckets days and expiry by it)")
	f.StringSliceVar(&tlsHosts, "tls-host", nil, "host names or addresses machines reach the site by, for its API certificate (localhost and this machine's name are always in it)")
	fromCentral.add(cmd)
	return cmd
}

func newEdgeRunCmd(logs *logOptions) *cobra.Command {
	cfg := edge.DefaultConfig()
	var seedFile string
	rateLimits := true
	var insecureHTTP, insecureLeaf bool
	var clockOffset time.Duration
	gcFloorMiB := 16
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Serve a site: HTTP API, alerts, local aggregates",
		Long: `Serve the site in --dir. Machines post sales, telemetry and faults to the
HTTP API; every acknowledged write is durable (SQLite WAL, synchronous=FULL).
SIGINT/SIGTERM finish in-flight requests and exit cleanly.

The site always runs an embedded NATS server with its own JetStream domain (the
site id). With --hub it keeps a leaf connection to central whenever the
network allows: the outbox drains to central, central's configuration
(prices, limits, machine status) comes down and is applied. Offline is a
normal state: no sale waits for the link.

Settings come from flags, then VENDSYNC_<FLAG> environment variables, then
the --config YAML file (keys are the flag names, e.g. "http", "hub",
"leaf-seed"; relative paths are relative to the file), then the defaults.`,
		Example: `  vendsync edge run --config /var/lib/vendsync/vendsync.yaml   # written by 'vendsync provision site'
  vendsync edge run --dir /var/lib/vendsync --http 127.0.0.1:8080
  vendsync edge run --dir D --hub nats-leaf://central.example:7422 --leaf-seed D/leaf.seed
  VENDSYNC_HTTP=0.0.0.0:8080 vendsync edge run --dir /var/lib/vendsync`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := logs.logger()
			if err != nil {
				return err
			}
			cfg.Logger = log
			cfg.BinaryVersion = version
			if gcFloorMiB < 0 || gcFloorMiB > 1<<20 {
				return fmt.Errorf("--gc-floor-mib %d: must be 0 (the Go runtime's default) to %d", gcFloorMiB, 1<<20)
			}
			if gcFloorMiB > 0 {
				if c := gcfloor.Start(gcfloor.Config{Floor: uint64(gcFloorMiB) << 20}); c != nil {
					defer c.Stop()
				} else {
					log.Info().Msg("GOGC or GOMEMLIMIT is set: the collector runs as they say, --gc-floor-mib does not apply")
				}
			}
			// A port in use is one line, before anything is opened or written.
			if err := portcheck.Free(portcheck.Listener{Setting: "--http", Addr: cfg.HTTPAddr}, portcheck.Listener{Setting: "--nats-listen", Addr: cfg.NATSListen}); err != nil {
				return err
			}
			for i, h := range cfg.HubURLs {
				if cfg.HubURLs[i], err = provision.LeafURL(h); err != nil {
					return fmt.Errorf("--hub: %w", err)
				}
			}
			if !rateLimits {
				cfg.RateLimits = web.NoRateLimits()
			}
			// A --dir that holds no site is named as such, before its
			// missing certificate would be.
			if db := filepath.Join(cfg.Dir, store.DBFile); !fileExists(db) {
				return fmt.Errorf("%w: no %s in %s (run `vendsync edge init` or `vendsync provision site` first, or give the site's --dir)", store.ErrNotInitialized, store.DBFile, cfg.Dir)
			}
			if err := edgeTLS(&cfg, insecureHTTP, insecureLeaf); err != nil {
				return err
			}
			if seedFile != "" {
				if err := secfile.Check(seedFile); err != nil {
					return fmt.Errorf("--leaf-seed: %w", err)
				}
				b, err := os.ReadFile(seedFile)
				if err != nil {
					return fmt.Errorf("--leaf-seed: %w", err)
				}
				cfg.LeafSeed = strings.TrimSpace(string(b))
			}
			if clockOffset != 0 {
				// A test aid (internal/torture): the site's clock is off.
				cfg.Ingest.Now = func() time.Time { return time.Now().Add(clockOffset) }
				log.Warn().Dur("offset", clockOffset).Msg("the site's clock is shifted by --clock-offset (a test aid)")
			}
			n, err := edge.New(cfg)
			if err != nil {
				return err
			}
			if err := n.Open(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "edge %s listening on %s\n", n.Store.Site.ID, n.URL())
			<-cmd.Context().Done()
			return n.Close()
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Dir, "dir", "", "the site's data directory (made by 'vendsync edge init' or 'vendsync provision site')")
	f.StringVar(&cfg.HTTPAddr, "http", cfg.HTTPAddr, "host:port for the HTTP API")
	f.StringVar(&cfg.NATSListen, "nats-listen", "", "host:port for on-site NATS clients of the embedded server (default: none); TLS with the API's certificate, NKEY users from 'vendsync edge nats-creds' only")
	f.StringSliceVar(&cfg.HubURLs, "hub", nil, "central's leaf URL(s), nats-leaf://host:port or host:port (repeat or comma-separate); none: standalone")
	f.BoolVar(&cfg.HubURLsOnly, "hub-urls-only", cfg.HubURLsOnly, "connect only to --hub, never to the addresses central's nodes advertise (set false to follow them)")
	f.StringVar(&seedFile, "leaf-seed", "", "file holding the site's NKEY seed for the leaf connection (from 'vendsync central site add')")
	f.IntVar(&cfg.ForwardBatch, "forward-batch", 500, "outbox events per message to central")
	f.DurationVar(&cfg.SweepEvery, "sweep-every", cfg.SweepEvery, "how often time-driven alerts (offline, door, temperature, expiry) are evaluated")
	f.DurationVar(&cfg.TokenTTL, "token-ttl", cfg.TokenTTL, "lifetime of access tokens")
	f.IntVar(&cfg.HTTPLimits.MaxConns, "max-conns", cfg.HTTPLimits.MaxConns, "most HTTP connections open at once (more wait to be accepted)")
	f.DurationVar(&cfg.Retention.Telemetry, "keep-telemetry", cfg.Retention.Telemetry, "how long raw telemetry rows are kept (0: forever); older ones are pruned hourly")
	f.DurationVar(&cfg.Retention.Audit, "keep-audit", cfg.Retention.Audit, "how long audit log rows are kept (0: forever)")
	f.StringVar(&cfg.TLSCertFile, "tls-cert", "", "certificate (PEM) for the API (default DIR/tls/site.crt, made by 'edge init' or 'provision site')")
	f.StringVar(&cfg.TLSKeyFile, "tls-key", "", "the --tls-cert's private key (PEM, mode 0600; default DIR/tls/site.key)")
	f.StringVar(&cfg.HubCAFile, "hub-ca", "", "the fleet CA certificate (central's DIR/ca.pem) the leaf link to --hub pins; 'provision site' writes DIR/tls/ca.pem")
	f.IntVar(&gcFloorMiB, "gc-floor-mib", gcFloorMiB, "while the site is busy, the Go heap it fills before collecting, in MiB (fewer collections, steadier answers; 0: the Go runtime's default; GOGC or GOMEMLIMIT in the environment take precedence)")
	f.BoolVar(&insecureHTTP, "insecure-http", false, "serve the API over plain HTTP (local development only)")
	f.BoolVar(&insecureLeaf, "insecure-leaf", false, "connect the leaf link to --hub without TLS (local development only)")
	f.BoolVar(&rateLimits, "rate-limits", true, "rate-limit token requests and writes per client and address (false only for load tests)")
	f.IntVar(&cfg.RateLimits.LockoutAfter, "lockout-after", cfg.RateLimits.LockoutAfter, "wrong secrets in a row that lock a client id out of POST /auth/token (0: never)")
	f.DurationVar(&cfg.RateLimits.LockoutFor, "lockout-for", cfg.RateLimits.LockoutFor, "how long a locked-out client id is refused")
	f.IntVar(&cfg.HTTPLimits.MaxConnsPerIP, "max-conns-per-ip", cfg.HTTPLimits.MaxConnsPerIP, "most HTTP connections open from one address (more are closed; 0: no bound)")
	addBackupFlags(f, &cfg.Backup)
	addPaymentFlags(f, &cfg.Payments)
	addEdgeOrderFlags(f, &cfg)
	addFsyncFlag(f, &cfg.Ingest)
	th := &cfg.Ingest.Thresholds
	f.Float64Var(&th.TempMaxC, "temp-max", th.TempMaxC, "default maximum cabinet temperature in °C (a machine's temperatureMax overrides it)")
	f.DurationVar(&th.TempGrace, "temp-grace", th.TempGrace, "how long above the maximum before TEMPERATURE_HIGH")
	f.DurationVar(&th.DoorGrace, "door-grace", th.DoorGrace, "how long a door may stay open before DOOR_OPEN")
	f.DurationVar(&th.Offline, "offline-after", th.Offline, "how long without telemetry before MACHINE_OFFLINE")
	f.IntVar(&th.ExpiringSoonDays, "expiring-soon-days", th.ExpiringSoonDays, "days before expiry that raise EXPIRING_SOON")
	f.Float64Var(&cfg.Ingest.AmountTolerance, "amount-tolerance", cfg.Ingest.AmountTolerance, "allowed relative difference between a sale's amount and price × quantity (plus one cent)")
	f.DurationVar(&cfg.Ingest.MaxClockSkew, "max-clock-skew", cfg.Ingest.MaxClockSkew, "how far in the future an event timestamp may be")
	f.Int64Var(&cfg.Ingest.DEX.AlertThreshold, "dex-alert-threshold-cents", cfg.Ingest.DEX.AlertThreshold, "unreported value (cents) in a DEX reconciliation that raises DEX_UNREPORTED_SALES")
	f.DurationVar(&cfg.Ingest.FoodSafetyWindow, "food-safety-window", cfg.Ingest.FoodSafetyWindow, "how long a machine may stay above its temperature limit before its perishable lots go on hold (TEMPERATURE_LOCKOUT)")
	f.DurationVar(&clockOffset, "clock-offset", 0, "TEST AID for fault injection (make torture), never for production: shift the site's clock (event checks, recorded times, tokens, alerts) by this much, e.g. -2h; also VENDSYNC_CLOCK_OFFSET")
	return withConfigFile(cmd)
}

func newEdgeClientCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "client", Short: "Manage API client credentials of a site"}
	var dir string
	cmd.PersistentFlags().StringVar(&dir, "dir", "", "the site's data directory")

	var role, machine, name, out string
	add := &cobra.Command{
		Use:   "add",
		Short: "Create client credentials with a role",
		Long: `Create client credentials. The secret is printed once (or written, 0600, to
--out) and stored only hashed. A MACHINE client is bound to one machine and
can post events only for it.`,
		Example: `  vendsync edge client add --dir D --role MACHINE --machine VM_1001
  vendsync edge client add --dir D --role DRIVER --name "Ravi" --out ravi.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := auth.ParseRole(role)
			if err != nil {
				return fmt.Errorf("--role: %w", err)
			}
			st, err := openStore(cmd, dir)
			if err != nil {
				return err
			}
			defer st.Close()
			c, secret, err := st.AddClient(cmd.Context(), r, machine, name)
			if err != nil {
				return err
			}
			creds := edge.Credentials{ClientID: c.ClientID, ClientSecret: secret}
			if out != "" {
				if err := edge.WriteCredentials(out, creds); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "client %s (%s) written to %s\n", c.ClientID, c.Role, out)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "client_id:     %s\nclient_secret: %s\nrole:          %s\n(the secret is not shown again)\n", c.ClientID, secret, c.Role)
			return nil
		},
	}
	add.Flags().StringVar(&role, "role", "", "MACHINE, DRIVER, OPS, FINANCE or ADMIN")
	add.Flags().StringVar(&machine, "machine", "", "machine id a MACHINE client is bound to")
	add.Flags().StringVar(&name, "name", "", "who or what the credentials are for")
	add.Flags().StringVar(&out, "out", "", "write {\"client_id\",\"client_secret\"} to this file (0600) instead of printing")

	list := &cobra.Command{
		Use: "list", Short: "List clients (never their secrets)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStore(cmd, dir)
			if err != nil {
				return err
			}
			defer st.Close()
			cs, err := st.ListClients(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CLIENT\tROLE\tMACHINE\tNAME\tCREATED\tREVOKED")
			for _, c := range cs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\n", c.ClientID, c.Role, c.MachineID, c.Name, c.CreatedAt.Format("2006-01-02 15:04"), c.Revoked)
			}
			return tw.Flush()
		},
	}
	revoke := &cobra.Command{
		Use: "revoke CLIENT_ID", Short: "Revoke a client: it gets no new tokens", Args: cobra.ExactArgs(1),
		Example: `  vendsync edge client revoke --dir D drv_0a1b2c3d4e5f6a7b`,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStore(cmd, dir)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.RevokeClient(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "client %s revoked (a running edge refuses its tokens within a second)\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(add, list, revoke)
	return cmd
}

// edgeTLS completes cfg's TLS settings: the API's certificate defaults to
// DIR/tls/site.*; without one, or a leaf link without a pinned CA, it
// refuses unless told the plaintext is meant.
func edgeTLS(cfg *edge.Config, insecureHTTP, insecureLeaf bool) error {
	if insecureHTTP {
		cfg.TLSCertFile, cfg.TLSKeyFile = "", ""
	} else if cfg.TLSCertFile == "" && cfg.TLSKeyFile == "" {
		crt, key := filepath.Join(cfg.Dir, tlsca.TLSDir, tlsca.CertFile), filepath.Join(cfg.Dir, tlsca.TLSDir, tlsca.KeyFile)
		if !fileExists(crt) || !fileExists(key) {
			return fmt.Errorf("no TLS certificate for the API in %s: make one with 'vendsync edge init' or 'vendsync provision site', give --tls-cert and --tls-key, or --insecure-http for local development", filepath.Dir(crt))
		}
		cfg.TLSCertFile, cfg.TLSKeyFile = crt, key
	}
	if insecureLeaf {
		cfg.HubCAFile = ""
	} else if len(cfg.HubURLs) > 0 && cfg.HubCAFile == "" {
		return errors.New("--hub-ca is required for a TLS leaf link: the fleet CA certificate (central's DIR/ca.pem); or --insecure-leaf for local development")
	}
	return nil
}

func openStore(cmd *cobra.Command, dir string) (*store.Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("--dir is required")
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("--dir %s: %w", dir, err)
	}
	return store.Open(cmd.Context(), dir)
}
