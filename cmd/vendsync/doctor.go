package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/doctor"
	"github.com/vendsync/vendsync/internal/provision"
	"github.com/vendsync/vendsync/internal/tlsca"
)

// errDoctorFailed makes `vendsync doctor` exit 1 after its report.
var errDoctorFailed = errors.New("doctor: at least one check FAILed (see above)")

func newDoctorCmd() *cobra.Command {
	var dir, centralDir, role, edgeURL, centralURL, creds string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check a site or a central node and say what to fix",
		Long: `Inspect an installation and print one line per check with OK, WARN or FAIL
and, for every problem, what to do:

  site:    clock skew against central, disk space and growth rate, database
           integrity (PRAGMA quick_check), file modes (keys, seeds, credentials
           and databases 0600, directories 0700), certificate expiry, the leaf
           link, the outbox's oldest unsent event, version skew with central
  central: disk space and growth, database integrity, file modes,
           certificates, the sites' versions against this node's

The running process is asked over its HTTPS API (--edge, or the http setting
of DIR/vendsync.yaml; --central for central) with DIR/admin-credentials.json
and the fleet CA in DIR. It exits 1 when any check FAILs, else 0.`,
		Example: `  vendsync doctor --dir /var/lib/vendsync/site --central https://hq.example:9080
  vendsync doctor --central-dir /var/lib/vendsync/central --central https://127.0.0.1:9080 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if centralDir != "" {
				dir, role = centralDir, "central"
			}
			if dir == "" {
				return errors.New("--dir (a site's data directory) or --central-dir is required")
			}
			ca := caFlag(cmd)
			cfg := doctor.Config{Role: role, Dir: dir}
			switch role {
			case "site":
				cfg.DBFile = store.DBFile
				if ca == "" {
					ca = filepath.Join(dir, tlsca.TLSDir, tlsca.CAFile)
				}
				if edgeURL == "" {
					edgeURL = siteURL(filepath.Join(dir, provision.ConfigFile))
				}
				if creds == "" {
					creds = filepath.Join(dir, edge.CredentialsFile)
				}
				if edgeURL != "" {
					c, err := edgeClientFor(edgeURL, creds, ca)
					if err != nil {
						return err
					}
					cfg.Site = c
				}
				if centralURL != "" {
					hc, err := httpClient(existing(ca), 10*time.Second)
					if err != nil {
						return err
					}
					cfg.CentralClock = doctor.HTTPDate(hc, strings.TrimSuffix(centralURL, "/")+"/healthz")
				}
			case "central":
				if err := centralDoctor(&cfg, dir, ca, creds, centralURL); err != nil {
					return err
				}
			default:
				return fmt.Errorf("--role %q: use site or central", role)
			}
			rep, err := doctor.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if asJSON {
				err = rep.WriteJSON(cmd.OutOrStdout())
			} else {
				err = rep.WriteText(cmd.OutOrStdout())
			}
			if err != nil {
				return err
			}
			if rep.Failed() {
				return errDoctorFailed
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "the data directory to inspect (a site's, unless --role central)")
	f.StringVar(&centralDir, "central-dir", "", "a central node's data directory (same as --role central --dir)")
	f.StringVar(&role, "role", "site", "what --dir belongs to: site or central")
	f.StringVar(&edgeURL, "edge", "", "the site's API (default: from the http setting of DIR/vendsync.yaml)")
	f.StringVar(&centralURL, "central", "", "central's HQ API: a site compares its clock with it; at central, this node's API")
	f.StringVar(&creds, "credentials", "", "ADMIN credentials for the API (default: DIR/admin-credentials.json)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// siteURL derives the site's API URL from its config's http setting, or ""
// when it names no fixed port.
func siteURL(configPath string) string {
	data, err := os.ReadFile(configPath)
	if err != nil {
		return ""
	}
	var c struct {
		HTTP         string `yaml:"http"`
		InsecureHTTP bool   `yaml:"insecure-http"`
	}
	if yaml.Unmarshal(data, &c) != nil || c.HTTP == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(c.HTTP)
	if err != nil || port == "0" {
		return ""
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	scheme := "https"
	if c.InsecureHTTP {
		scheme = "http"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// edgeClientFor is a client of the site API at base.
func edgeClientFor(base, credsFile, caFile string) (*client.Edge, error) {
	creds, err := client.ReadCredentials(credsFile)
	if err != nil {
		return nil, fmt.Errorf("--credentials: %w", err)
	}
	o := client.Options{MaxAttempts: 1}
	if caFile = existing(caFile); caFile != "" {
		if o.TLS, err = tlsca.ClientConfig(caFile); err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
	}
	return client.NewEdge(base, creds, o)
}

// existing is path when a file is there, else "".
func existing(path string) string {
	if path != "" && fileExists(path) {
		return path
	}
	return ""
}
