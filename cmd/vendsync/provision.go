package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/tlsca"
	"github.com/vendsync/vendsync/sync/envelope"
)

// LeafSeedFile is where `provision site` writes the site's leaf NKEY seed.
const LeafSeedFile = "leaf.seed"

func newProvisionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "provision",
		Short: "Install sites and machines: register at central, write config and credentials",
		Long: `Provisioning for installers. 'provision site' registers a site at central
and prepares its directory so that 'vendsync edge run --config DIR/vendsync.yaml'
just works; 'provision machine' registers machines at a site and creates
their credentials; 'provision list' and 'provision revoke' manage the
registry. Every step is safe to re-run, and no secret is ever logged: seeds
and secrets go to 0600 files (a machine's secret is printed once).`,
		Example: `  vendsync provision site --central http://hq:9080 --credentials hq-admin.json --site blr-techpark \
      --city Bangalore --timezone Asia/Kolkata --hub nats-leaf://hq:7422 --out /var/lib/vendsync
  vendsync provision machine --dir /var/lib/vendsync --machine VM_1001 --city Bangalore --payment-methods CASH,CARD
  vendsync provision list --central http://hq:9080 --credentials hq-admin.json`,
	}
	cmd.AddCommand(newProvisionSiteCmd(), newProvisionMachineCmd(), newProvisionListCmd(), newProvisionRevokeCmd())
	return cmd
}

// siteSpec is what `provision site` is asked to set up.
type siteSpec struct {
	central, credentials string
	out                  string
	site, name, city, tz string
	lat, lng             float64
	hasLat, hasLng       bool
	hubs                 []string
	http                 string
	rotate               bool
	ca                   string   // CA to pin for --central (https)
	tlsHosts             []string // extra names for the site's certificate
	insecureLeaf         bool     // no TLS on the leaf link
}

func (s siteSpec) validate() error {
	switch {
	case s.central == "":
		return errors.New("--central is required: central's HQ API URL, e.g. http://central.example:9080")
	case s.credentials == "":
		return errors.New("--credentials is required: an HQ ADMIN credentials file (central's DIR/admin-credentials.json)")
	case s.out == "":
		return errors.New("--out is required: the site's data directory to create")
	case s.site == "":
		return errors.New("--site is required: the site id, e.g. blr-techpark")
	case s.city == "":
		return errors.New("--city is required")
	case s.tz == "":
		return errors.New("--timezone is required: the site's IANA timezone, e.g. Asia/Kolkata")
	case len(s.hubs) == 0:
		return errors.New("--hub is required: central's leaf URL, nats-leaf://host:7422")
	case s.hasLat != s.hasLng:
		return errors.New("--lat and --lng go together")
	}
	if err := envelope.ValidateSiteID(s.site); err != nil {
		return fmt.Errorf("--site: %w", err)
	}
	if _, err := time.LoadLocation(s.tz); err != nil || s.tz == "Local" {
		return fmt.Errorf("--timezone %q: not a known IANA timezone (e.g. Asia/Kolkata)", s.tz)
	}
	if s.hasLat && (math.IsNaN(s.lat) || s.lat < -90 || s.lat > 90) {
		return fmt.Errorf("--lat %v: must be between -90 and 90", s.lat)
	}
	if s.hasLng && (math.IsNaN(s.lng) || s.lng < -180 || s.lng > 180) {
		return fmt.Errorf("--lng %v: must be between -180 and 180", s.lng)
	}
	if u, err := url.Parse(s.central); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--central %q: want http(s)://host:port", s.central)
	}
	for _, h := range s.hubs {
		if u, err := url.Parse(h); err != nil || (u.Scheme != "nats-leaf" && u.Scheme != "tls") || u.Host == "" {
			return fmt.Errorf("--hub %q: want nats-leaf://host:port", h)
		}
	}
	if _, _, err := splitHostPort(s.http); err != nil {
		return fmt.Errorf("--http %q: not host:port", s.http)
	}
	return nil
}

func newProvisionSiteCmd() *cobra.Command {
	s := siteSpec{http: "0.0.0.0:8080"}
	cmd := &cobra.Command{
		Use:   "site",
		Short: "Register a site at central and prepare its directory (config, database, credentials)",
		Long: `Register --site at central (POST /sites) and prepare --out for it:

  DIR/site.db                 the site's database ('vendsync edge init')
  DIR/admin-credentials.json  the site's first ADMIN client (0600)
  DIR/leaf.seed               the NKEY seed its leaf connection to central uses (0600)
  DIR/vendsync.yaml           settings for 'vendsync edge run --config DIR/vendsync.yaml'

Re-running is safe: if DIR already holds this site and its seed, nothing is
done. A site registered at central whose seed is not in DIR (a reinstall, a
lost disk) needs --rotate: central issues a new key and the old one stops
working. Secrets are never printed.`,
		Example: `  vendsync provision site --central http://hq.example:9080 --credentials hq-admin.json \
      --site blr-techpark --name "Tech Park" --city Bangalore --lat 12.97 --lng 77.59 \
      --timezone Asia/Kolkata --hub nats-leaf://hq.example:7422 --out /var/lib/vendsync
  vendsync edge run --config /var/lib/vendsync/vendsync.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s.hasLat, s.hasLng = cmd.Flags().Changed("lat"), cmd.Flags().Changed("lng")
			s.ca = caFlag(cmd)
			return provisionSite(cmd.Context(), cmd.OutOrStdout(), s)
		},
	}
	f := cmd.Flags()
	f.StringVar(&s.central, "central", "", "central's HQ API URL")
	f.StringVar(&s.credentials, "credentials", "", "HQ ADMIN credentials file ({\"client_id\",\"client_secret\"})")
	f.StringVar(&s.site, "site", "", "site id: letters, digits, '-' and '_'")
	f.StringVar(&s.name, "name", "", "human-readable site name")
	f.StringVar(&s.city, "city", "", "city the site is in")
	f.StringVar(&s.tz, "timezone", "", "IANA timezone of the site, e.g. Asia/Kolkata")
	f.Float64Var(&s.lat, "lat", 0, "latitude")
	f.Float64Var(&s.lng, "lng", 0, "longitude")
	f.StringSliceVar(&s.hubs, "hub", nil, "central's leaf URL(s) as the site reaches them, nats-leaf://host:port")
	f.StringVar(&s.http, "http", s.http, "host:port the site's edge API will listen on (written to the config)")
	f.StringVar(&s.out, "out", "", "the site's data directory (created)")
	f.BoolVar(&s.rotate, "rotate", false, "issue a new leaf key for a site already registered at central (the old key stops working)")
	f.StringSliceVar(&s.tlsHosts, "tls-host", nil, "host names or addresses machines reach the site by, for its certificate (the --http host and localhost are always in it)")
	f.BoolVar(&s.insecureLeaf, "insecure-leaf", false, "configure the site's leaf link without TLS (for a central run with --insecure-leaf)")
	return cmd
}

// provisionSite does the work of `provision site`; see its help.
func provisionSite(ctx context.Context, out io.Writer, s siteSpec) error {
	if err := s.validate(); err != nil {
		return err
	}
	seedPath := filepath.Join(s.out, LeafSeedFile)
	cfgPath := filepath.Join(s.out, ConfigFileName)
	haveDB := fileExists(filepath.Join(s.out, store.DBFile))
	if haveDB {
		st, err := store.Open(ctx, s.out)
		if err != nil {
			return fmt.Errorf("--out %s: %w", s.out, err)
		}
		id := st.Site.ID
		st.Close()
		if id != s.site {
			return fmt.Errorf("--out %s already holds site %q, not %q: choose another directory", s.out, id, s.site)
		}
		if fileExists(seedPath) && !s.rotate && !fileExists(filepath.Join(s.out, tlsca.TLSDir, tlsca.CertFile)) {
			// Provisioned before sites had certificates: get one.
			c, err := newAPIClient(s.central, s.credentials, s.ca)
			if err != nil {
				return err
			}
			if err := provisionCert(ctx, c, s); err != nil {
				return err
			}
			if err := writeSiteConfig(cfgPath, s); err != nil {
				return err
			}
			fmt.Fprintf(out, "site %s already provisioned in %s; got its certificate and rewrote %s\n", s.site, s.out, cfgPath)
			return nil
		}
		if fileExists(seedPath) && !s.rotate {
			if !fileExists(cfgPath) {
				if err := writeSiteConfig(cfgPath, s); err != nil {
					return err
				}
				fmt.Fprintf(out, "site %s already provisioned in %s; wrote the missing %s\n", s.site, s.out, cfgPath)
				return nil
			}
			fmt.Fprintf(out, "site %s already provisioned in %s: nothing to do\n  run: vendsync edge run --config %s\n", s.site, s.out, cfgPath)
			return nil
		}
	}
	c, err := newAPIClient(s.central, s.credentials, s.ca)
	if err != nil {
		return err
	}
	step := newProgress(out)
	step.say("registering site %s at %s", s.site, s.central)
	body := map[string]any{"siteId": s.site, "name": s.name, "city": s.city, "timezone": s.tz, "rotate": s.rotate}
	if s.hasLat {
		body["lat"], body["lng"] = s.lat, s.lng
	}
	var site siteInfo
	err = c.do(ctx, http.MethodPost, "/sites", body, &site)
	var ae *apiError
	if errors.As(err, &ae) && ae.Code == "SITE_EXISTS" {
		return fmt.Errorf("site %s is already registered at central but %s holds no seed for it; re-run with --rotate to issue a new key (the old one stops working)", s.site, seedPath)
	}
	if err != nil {
		return fmt.Errorf("register site: %w", err)
	}
	if !haveDB {
		step.say("creating the site database in %s", s.out)
		if _, err := edge.Init(ctx, s.out, store.SiteInit{ID: s.site, Name: s.name, City: s.city, Timezone: s.tz}); err != nil {
			return err
		}
	}
	step.say("writing %s", seedPath)
	if err := writeSecretFile(seedPath, site.Seed+"\n"); err != nil {
		return err
	}
	step.say("getting the site's certificate from central's fleet CA")
	if err := provisionCert(ctx, c, s); err != nil {
		return err
	}
	if err := writeSiteConfig(cfgPath, s); err != nil {
		return err
	}
	step.done()
	key := site.PublicKey
	if len(key) > 12 {
		key = key[:12] + "…"
	}
	fmt.Fprintf(out, "site %s provisioned in %s (leaf key %s)\n", s.site, s.out, key)
	fmt.Fprintf(out, "  config       %s\n  leaf seed    %s (0600)\n  site admin   %s (0600)\n  certificate  %s (key 0600; clients pin %s)\n  run          vendsync edge run --config %s\n",
		cfgPath, seedPath, filepath.Join(s.out, edge.CredentialsFile), filepath.Join(s.out, tlsca.TLSDir, tlsca.CertFile),
		filepath.Join(s.out, tlsca.TLSDir, tlsca.CAFile), cfgPath)
	return nil
}

// provisionCert has central's fleet CA sign a certificate for the site's
// API and leaf link: the key is made here and never sent, only a request
// for the --http host, localhost and --tls-host names.
func provisionCert(ctx context.Context, c *apiClient, s siteSpec) error {
	csr, key, err := tlsca.NewCSR(s.site, append(tlsca.DefaultHosts(s.http), s.tlsHosts...))
	if err != nil {
		return err
	}
	var ans struct {
		Certificate string `json:"certificate"`
		CA          string `json:"ca"`
	}
	if err := c.do(ctx, http.MethodPost, "/sites/"+s.site+"/certificate", map[string]string{"csr": string(csr)}, &ans); err != nil {
		return fmt.Errorf("site certificate: %w", err)
	}
	return tlsca.WriteSite(s.out, []byte(ans.Certificate), key, []byte(ans.CA))
}

func writeSiteConfig(path string, s siteSpec) error {
	settings := map[string]any{
		"dir": ".", "http": s.http, "hub": s.hubs, "leaf-seed": LeafSeedFile,
		"tls-cert": filepath.Join(tlsca.TLSDir, tlsca.CertFile), "tls-key": filepath.Join(tlsca.TLSDir, tlsca.KeyFile),
		"hub-ca": filepath.Join(tlsca.TLSDir, tlsca.CAFile),
	}
	if s.insecureLeaf {
		delete(settings, "hub-ca")
		settings["insecure-leaf"] = true
	}
	return writeConfigFile(path, fmt.Sprintf(`vendsync edge settings for site %s, written by 'vendsync provision site'.
Run: vendsync edge run --config %s
Keys are 'vendsync edge run' flag names; flags and VENDSYNC_* override them.
Relative paths are relative to this file.`, s.site, path), settings)
}

// writeSecretFile writes data to path (0600) through a temporary file.
func writeSecretFile(path, data string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// machineSpec is what `provision machine` is asked to set up.
type machineSpec struct {
	dir, edgeURL, credentials string
	machines                  []string
	city, building            string
	payments                  []string
	outDir                    string
	ca                        string
}

func newProvisionMachineCmd() *cobra.Command {
	var m machineSpec
	cmd := &cobra.Command{
		Use:   "machine",
		Short: "Register machines at a site and create their MACHINE credentials",
		Long: `Register each --machine at the site in --dir and create its MACHINE client
credentials (the machine may post events only for itself). The secret is
printed once, or written (0600) to --out-dir/MACHINE.json.

With --edge the machine is registered through the running edge's API (with
--credentials, default DIR/admin-credentials.json); without it, directly in
the site's database (the edge must then be stopped). Re-running is safe: a
registered machine is kept, and a machine that already has credentials gets
no new ones (revoke them with 'vendsync edge client revoke' first).`,
		Example: `  vendsync provision machine --dir /var/lib/vendsync --edge http://127.0.0.1:8080 \
      --machine VM_1001 --city Bangalore --building "Tower A" --payment-methods CASH,CARD
  vendsync provision machine --dir D --machine VM_1,VM_2,VM_3 --city Berlin --out-dir ./machines`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			m.ca = caFlag(cmd)
			return provisionMachines(cmd.Context(), cmd.OutOrStdout(), m)
		},
	}
	f := cmd.Flags()
	f.StringVar(&m.dir, "dir", "", "the site's data directory")
	f.StringVar(&m.edgeURL, "edge", "", "the running edge's API URL (default: write to --dir directly; the edge must be stopped)")
	f.StringVar(&m.credentials, "credentials", "", "site ADMIN credentials for --edge (default DIR/admin-credentials.json)")
	f.StringSliceVar(&m.machines, "machine", nil, "machine id(s) (repeat or comma-separate)")
	f.StringVar(&m.city, "city", "", "city the machines stand in")
	f.StringVar(&m.building, "building", "", "building the machines stand in")
	f.StringSliceVar(&m.payments, "payment-methods", []string{"CASH", "CARD"}, "payment methods the machines take")
	f.StringVar(&m.outDir, "out-dir", "", "write each machine's credentials to DIR/MACHINE.json (0600) instead of printing them")
	return cmd
}

// provisionMachines does the work of `provision machine`; see its help.
func provisionMachines(ctx context.Context, out io.Writer, m machineSpec) error {
	switch {
	case m.dir == "":
		return errors.New("--dir is required: the site's data directory (its credentials are created there)")
	case len(m.machines) == 0:
		return errors.New("--machine is required")
	case m.city == "":
		return errors.New("--city is required")
	}
	for _, id := range m.machines {
		if id == "" || len(id) > 64 || strings.ContainsAny(id, " /\t\n") {
			return fmt.Errorf("--machine %q: 1 to 64 characters, no spaces or slashes", id)
		}
	}
	st, err := openStoreDir(ctx, m.dir)
	if err != nil {
		return err
	}
	defer st.Close()
	register, closeReg, err := machineRegistrar(ctx, st, m)
	if err != nil {
		return err
	}
	defer closeReg()
	clients, err := st.ListClients(ctx)
	if err != nil {
		return err
	}
	if m.outDir != "" {
		if err := os.MkdirAll(m.outDir, 0o700); err != nil {
			return fmt.Errorf("--out-dir: %w", err)
		}
	}
	p := newProgress(out)
	for i, id := range m.machines {
		p.say("machine %d/%d: %s", i+1, len(m.machines), id)
		in := ingest.MachineIn{MachineID: id, Location: &ingest.LocationIn{City: m.city, Building: m.building}, PaymentMethods: m.payments}
		existed := false
		if err := register(in); err != nil {
			var ae *apiError
			if !(errors.As(err, &ae) && ae.Code == "MACHINE_EXISTS") && !strings.Contains(err.Error(), "MACHINE_EXISTS") && !strings.Contains(err.Error(), "already registered") {
				return fmt.Errorf("register machine %s: %w", id, err)
			}
			existed = true
		}
		if c, ok := machineClient(clients, id); ok {
			p.done()
			fmt.Fprintf(out, "machine %s: already registered with credentials %s; nothing to do\n", id, c)
			continue
		}
		c, secret, err := st.AddClient(ctx, auth.RoleMachine, id, "machine "+id)
		if err != nil {
			return fmt.Errorf("credentials for %s: %w", id, err)
		}
		state := "registered"
		if existed {
			state = "already registered; new credentials"
		}
		p.done()
		if m.outDir != "" {
			path := filepath.Join(m.outDir, id+".json")
			if err := edge.WriteCredentials(path, edge.Credentials{ClientID: c.ClientID, ClientSecret: secret}); err != nil {
				return err
			}
			fmt.Fprintf(out, "machine %s: %s; credentials %s written to %s\n", id, state, c.ClientID, path)
			continue
		}
		fmt.Fprintf(out, "machine %s: %s\n  client_id:     %s\n  client_secret: %s\n  (the secret is not shown again)\n", id, state, c.ClientID, secret)
	}
	return nil
}

// machineClient finds a live MACHINE client bound to id.
func machineClient(cs []store.Client, id string) (string, bool) {
	for _, c := range cs {
		if c.Role == auth.RoleMachine && c.MachineID == id && !c.Revoked {
			return c.ClientID, true
		}
	}
	return "", false
}

// machineRegistrar registers machines through the edge API (--edge) or the
// site's own writer.
func machineRegistrar(ctx context.Context, st *store.Store, m machineSpec) (func(ingest.MachineIn) error, func(), error) {
	if m.edgeURL != "" {
		creds := m.credentials
		if creds == "" {
			creds = filepath.Join(m.dir, edge.CredentialsFile)
		}
		ca := m.ca
		if ca == "" && fileExists(filepath.Join(m.dir, tlsca.TLSDir, tlsca.CAFile)) {
			ca = filepath.Join(m.dir, tlsca.TLSDir, tlsca.CAFile) // the site's own
		}
		c, err := newAPIClient(m.edgeURL, creds, ca)
		if err != nil {
			return nil, nil, err
		}
		return func(in ingest.MachineIn) error { return c.do(ctx, http.MethodPost, "/machines", in, nil) }, func() {}, nil
	}
	w, err := ingest.New(st, ingest.DefaultConfig())
	if err != nil {
		return nil, nil, err
	}
	if err := w.Open(ctx); err != nil {
		return nil, nil, err
	}
	return func(in ingest.MachineIn) error { return w.RegisterMachine(ctx, in, "provision") }, func() { w.Close() }, nil
}

func openStoreDir(ctx context.Context, dir string) (*store.Store, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("--dir %s: %w", dir, err)
	}
	return store.Open(ctx, dir)
}

func newProvisionListCmd() *cobra.Command {
	var base, creds, format string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the sites registered at central, with their sync state",
		Example: `  vendsync provision list --central http://hq.example:9080 --credentials hq-admin.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(base, creds, caFlag(cmd))
			if err != nil {
				return err
			}
			var reg struct {
				Sites []siteInfo `json:"sites"`
			}
			if err := c.do(cmd.Context(), http.MethodGet, "/sites/registry", nil, &reg); err != nil {
				return err
			}
			var fresh struct {
				Sites []freshness `json:"sites"`
			}
			if err := c.do(cmd.Context(), http.MethodGet, "/sites", nil, &fresh); err != nil {
				return err
			}
			byID := map[string]freshness{}
			for _, f := range fresh.Sites {
				byID[f.SiteID] = f
			}
			t := table{cols: []string{"site", "name", "city", "timezone", "state", "last_contact", "watermark"}}
			for _, s := range reg.Sites {
				state := "active"
				if s.RevokedAt != nil {
					state = "revoked"
				}
				f := byID[s.SiteID]
				t.add(s.SiteID, s.Name, s.City, s.Timezone, state, fmtTime(f.LastContact), fmt.Sprint(f.Watermark))
			}
			return t.write(cmd.OutOrStdout(), format)
		},
	}
	addCentralFlags(cmd, &base, &creds)
	addFormatFlag(cmd, &format)
	return cmd
}

func newProvisionRevokeCmd() *cobra.Command {
	var base, creds, site string
	cmd := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke a site: central disconnects its leaf and refuses it from now on",
		Long: `Revoke --site at central (DELETE /sites/{id}): every central node drops the
site's leaf connection and refuses its key. What the site already synced
stays in HQ's figures; its outbox keeps growing locally. To bring it back,
'vendsync provision site --rotate'.`,
		Example: `  vendsync provision revoke --central http://hq.example:9080 --credentials hq-admin.json --site blr-techpark`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if site == "" {
				return errors.New("--site is required")
			}
			if err := envelope.ValidateSiteID(site); err != nil {
				return fmt.Errorf("--site: %w", err)
			}
			c, err := newAPIClient(base, creds, caFlag(cmd))
			if err != nil {
				return err
			}
			if err := c.do(cmd.Context(), http.MethodDelete, "/sites/"+site, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "site %s revoked: disconnected and refused from now on\n", site)
			return nil
		},
	}
	addCentralFlags(cmd, &base, &creds)
	cmd.Flags().StringVar(&site, "site", "", "the site to revoke")
	return cmd
}

// addCentralFlags adds --central and --credentials.
func addCentralFlags(cmd *cobra.Command, base, creds *string) {
	cmd.Flags().StringVar(base, "central", "https://127.0.0.1:9080", "central's HQ API URL (https unless central runs --insecure-http; pin its CA with --ca)")
	cmd.Flags().StringVar(creds, "credentials", "", "HQ credentials file ({\"client_id\",\"client_secret\"}), e.g. central's DIR/admin-credentials.json")
}

// progress shows the current step of a long operation on one line of a
// terminal; elsewhere it prints nothing (the final lines say what was done).
type progress struct {
	out io.Writer
	tty bool
	on  bool
}

func newProgress(out io.Writer) *progress {
	f, ok := out.(*os.File)
	return &progress{out: out, tty: ok && isatty.IsTerminal(f.Fd())}
}

func (p *progress) say(format string, args ...any) {
	if !p.tty {
		return
	}
	fmt.Fprintf(p.out, "\r\x1b[K… "+format, args...)
	p.on = true
}

func (p *progress) done() {
	if p.on {
		fmt.Fprint(p.out, "\r\x1b[K")
		p.on = false
	}
}
