package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/provision"
	"github.com/vendsync/vendsync/internal/tlsca"
	"github.com/vendsync/vendsync/sync/envelope"
)

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
		Example: `  vendsync provision site --central https://hq:9080 --credentials hq-admin.json --site blr-techpark \
      --city Bangalore --timezone Asia/Kolkata --hub nats-leaf://hq:7422 --out /var/lib/vendsync
  vendsync provision machine --dir /var/lib/vendsync --machine VM_1001 --city Bangalore --payment-methods CASH,CARD
  vendsync provision list --central https://hq:9080 --credentials hq-admin.json`,
	}
	cmd.AddCommand(newProvisionSiteCmd(), newProvisionMachineCmd(), newProvisionListCmd(), newProvisionRevokeCmd())
	return cmd
}

func newProvisionSiteCmd() *cobra.Command {
	s := provision.Site{HTTP: "0.0.0.0:8080"}
	var lat, lng float64
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
working. Secrets are never printed.

--replace sets up a new box for a registered site whose old box is dead
(disk gone, stolen): central issues a new key and refuses the old one at
once, and --out (empty) gets the site's database rebuilt from what central
holds: machines, products, prices, stock as of the last synced fact, open
alerts and faults, and the outbox sequence continuing after central's. It
prints what central can tell about the facts the old box never synced.
Machines need new credentials ('provision machine'): central never holds
them. If the old disk survived, restore its local backup instead
('vendsync edge restore'): it keeps the unsynced facts.`,
		Example: `  vendsync provision site --central https://hq.example:9080 --credentials hq-admin.json \
      --site blr-techpark --name "Tech Park" --city Bangalore --lat 12.97 --lng 77.59 \
      --timezone Asia/Kolkata --hub nats-leaf://hq.example:7422 --out /var/lib/vendsync
  vendsync edge run --config /var/lib/vendsync/vendsync.yaml
  vendsync provision site --central https://hq.example:9080 --credentials hq-admin.json \
      --site blr-techpark --hub nats-leaf://hq.example:7422 --out /var/lib/vendsync --replace`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("lat") {
				s.Lat = &lat
			}
			if cmd.Flags().Changed("lng") {
				s.Lng = &lng
			}
			s.CA = caFlag(cmd)
			out := cmd.OutOrStdout()
			p := newProgress(out)
			res, err := provision.ProvisionSite(cmd.Context(), s, p.say)
			p.done()
			if err != nil {
				return flagError(err)
			}
			switch res.Outcome {
			case provision.AlreadyProvisioned:
				fmt.Fprintf(out, "site %s already provisioned in %s: nothing to do\n  run: vendsync edge run --config %s\n", s.ID, s.Dir, res.ConfigPath)
			case provision.ConfigRewritten:
				fmt.Fprintf(out, "site %s already provisioned in %s; wrote the missing %s\n", s.ID, s.Dir, res.ConfigPath)
			default:
				if r := res.Restored; r != nil {
					printRestore(out, *r)
				}
				key := res.PublicKey
				if len(key) > 12 {
					key = key[:12] + "…"
				}
				fmt.Fprintf(out, "site %s provisioned in %s (leaf key %s)\n", s.ID, s.Dir, key)
				fmt.Fprintf(out, "  config       %s\n  leaf seed    %s (0600)\n  site admin   %s (0600)\n  certificate  %s (key 0600; clients pin %s)\n  run          vendsync edge run --config %s\n",
					res.ConfigPath, res.SeedPath, res.AdminCredentials, filepath.Join(s.Dir, tlsca.TLSDir, tlsca.CertFile),
					filepath.Join(s.Dir, tlsca.TLSDir, tlsca.CAFile), res.ConfigPath)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&s.Central, "central", "", "central's HQ API URL, https://host:port (or host:port); pin its CA with --ca")
	f.StringVar(&s.Credentials, "credentials", "", "HQ ADMIN credentials file ({\"client_id\",\"client_secret\"})")
	f.StringVar(&s.ID, "site", "", "site id: letters, digits, '-' and '_'")
	f.StringVar(&s.Name, "name", "", "human-readable site name")
	f.StringVar(&s.City, "city", "", "city the site is in")
	f.StringVar(&s.Timezone, "timezone", "", "IANA timezone of the site, e.g. Asia/Kolkata")
	f.Float64Var(&lat, "lat", 0, "latitude")
	f.Float64Var(&lng, "lng", 0, "longitude")
	f.StringSliceVar(&s.Hubs, "hub", nil, "central's leaf URL(s) as the site reaches them, nats-leaf://host:port or host:port")
	f.StringVar(&s.HTTP, "http", s.HTTP, "host:port the site's edge API will listen on (written to the config)")
	f.StringVar(&s.Dir, "out", "", "the site's data directory (created)")
	f.BoolVar(&s.Rotate, "rotate", false, "issue a new leaf key for a site already registered at central (the old key stops working)")
	f.BoolVar(&s.Replace, "replace", false, "a new box for a registered site whose box is gone: new leaf key (the old one is refused at once) and the database rebuilt from central into the empty --out")
	f.StringSliceVar(&s.TLSHosts, "tls-host", nil, "host names or addresses machines reach the site by, for its certificate (the --http host and localhost are always in it)")
	f.BoolVar(&s.InsecureLeaf, "insecure-leaf", false, "configure the site's leaf link without TLS (for a central run with --insecure-leaf)")
	return cmd
}

func newProvisionMachineCmd() *cobra.Command {
	var m provision.Machines
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
		Example: `  vendsync provision machine --dir /var/lib/vendsync --edge https://127.0.0.1:8080 \
      --machine VM_1001 --city Bangalore --building "Tower A" --payment-methods CASH,CARD
  vendsync provision machine --dir D --machine VM_1,VM_2,VM_3 --city Berlin --out-dir ./machines`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			m.CA = caFlag(cmd)
			out := cmd.OutOrStdout()
			p := newProgress(out)
			rs, err := provision.ProvisionMachines(cmd.Context(), m, p.say)
			p.done()
			for _, r := range rs {
				state := "registered"
				if !r.Registered {
					state = "already registered; new credentials"
				}
				switch {
				case r.Existing:
					fmt.Fprintf(out, "machine %s: already registered with credentials %s; nothing to do\n", r.MachineID, r.ClientID)
				case r.File != "":
					fmt.Fprintf(out, "machine %s: %s; credentials %s written to %s\n", r.MachineID, state, r.ClientID, r.File)
				default:
					fmt.Fprintf(out, "machine %s: %s\n  client_id:     %s\n  client_secret: %s\n  (the secret is not shown again)\n", r.MachineID, state, r.ClientID, r.Secret)
				}
			}
			return flagError(err)
		},
	}
	f := cmd.Flags()
	f.StringVar(&m.Dir, "dir", "", "the site's data directory")
	f.StringVar(&m.Edge, "edge", "", "the running edge's API URL, http://host:port (default: write to --dir directly; the edge must be stopped)")
	f.StringVar(&m.Credentials, "credentials", "", "site ADMIN credentials for --edge (default DIR/admin-credentials.json)")
	f.StringSliceVar(&m.IDs, "machine", nil, "machine id(s) (repeat or comma-separate)")
	f.StringVar(&m.City, "city", "", "city the machines stand in")
	f.StringVar(&m.Building, "building", "", "building the machines stand in")
	f.StringSliceVar(&m.Payments, "payment-methods", []string{"CASH", "CARD"}, "payment methods the machines take")
	f.StringVar(&m.OutDir, "out-dir", "", "write each machine's credentials to DIR/MACHINE.json (0600) instead of printing them")
	return cmd
}

func newProvisionListCmd() *cobra.Command {
	var base, creds, format string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the sites registered at central, with their sync state",
		Example: `  vendsync provision list --central https://hq.example:9080 --credentials hq-admin.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := hqClient(base, creds, caFlag(cmd))
			if err != nil {
				return err
			}
			reg, err := c.Registry(cmd.Context())
			if err != nil {
				return err
			}
			fresh, err := c.Sites(cmd.Context())
			if err != nil {
				return err
			}
			byID := map[string]hqapi.Freshness{}
			for _, f := range fresh {
				byID[f.SiteID] = f
			}
			t := table{cols: []string{"site", "name", "city", "timezone", "state", "last_contact", "watermark", "version", "envelope"}}
			for _, s := range reg {
				state := "active"
				if s.RevokedAt != nil {
					state = "revoked"
				}
				f := byID[s.ID]
				t.add(s.ID, s.Name, s.City, s.Timezone, state, fmtTime(f.LastContact), fmt.Sprint(f.Watermark), f.BinaryVersion, envelopeCol(f.EnvelopeVersion))
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
		Example: `  vendsync provision revoke --central https://hq.example:9080 --credentials hq-admin.json --site blr-techpark`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if site == "" {
				return errors.New("--site is required")
			}
			if err := envelope.ValidateSiteID(site); err != nil {
				return fmt.Errorf("--site: %w", err)
			}
			c, err := hqClient(base, creds, caFlag(cmd))
			if err != nil {
				return err
			}
			if _, err := c.RevokeSite(cmd.Context(), site); err != nil {
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
	cmd.Flags().StringVar(base, "central", "https://127.0.0.1:9080", "central's HQ API URL, https://host:port (or host:port; http:// only if central runs --insecure-http); pin its CA with --ca")
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

func (p *progress) say(step string) {
	if !p.tty {
		return
	}
	fmt.Fprint(p.out, "\r\x1b[K… "+step)
	p.on = true
}

func (p *progress) done() {
	if p.on {
		fmt.Fprint(p.out, "\r\x1b[K")
		p.on = false
	}
}
