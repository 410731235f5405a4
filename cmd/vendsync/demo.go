//go:build !site

package main

import (
	"fmt"
	"os"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/vendsync/vendsync/internal/demo"
)

func newDemoCmd(logs *logOptions) *cobra.Command {
	cfg := demo.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a whole fleet on this machine: 3-node central, 3 sites, simulated machines",
		Long: `Start a whole fleet on this machine, with no other setup:

  - a 3-node central cluster (HQ API on each node, replicated fleet stream);
  - three sites provisioned as an installer would ('vendsync provision site'):
    Bangalore (Asia/Kolkata), Berlin (Europe/Berlin), New York
    (America/New_York), each an edge with its own SQLite store;
  - the simulator driving --machines machines per site: --backfill of history
    first, then live sales, telemetry, faults and restocks;
  - the New York site's link to central goes down after --offline-after for
    --offline-for (it keeps selling; its outbox grows) and comes back.

It prints the URLs and the HQ credentials file, then a summary that updates
in place: sales per city at central, open alerts, each site's link, outbox
and last contact. At the end (--duration, or Ctrl-C) it waits for every site
to drain, prints central's totals and the sum of the sites' own totals, and
exits non-zero if they differ.

Without --dir the data lives in a temporary directory removed at the end;
with --dir it is kept and a later run continues from it. Logs go to
DIR/demo.log, so the terminal shows only the summary.`,
		Example: `  vendsync demo                          # 90 seconds, then the totals
  vendsync demo --duration 0 --dir .demo   # until Ctrl-C, keep the data
  # meanwhile, in another terminal (the demo prints the exact command):
  vendsync query sales --central https://127.0.0.1:PORT --credentials .demo/central-1/admin-credentials.json --ca .demo/central-1/ca.pem --by city`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			lvl, err := zerolog.ParseLevel(logs.level)
			if err != nil {
				return fmt.Errorf("--log-level %q: use debug, info, warn or error", logs.level)
			}
			cfg.LogLevel = lvl
			// By default New York is offline for the second quarter of the run.
			for name, d := range map[string]*time.Duration{"offline-after": &cfg.OfflineAfter, "offline-for": &cfg.OfflineFor} {
				if !cmd.Flags().Changed(name) {
					*d = 30 * time.Second
					if cfg.Duration > 0 {
						*d = cfg.Duration / 4
					}
				}
			}
			// The commands the demo suggests run this very binary.
			cfg.Command = os.Args[0]
			return demo.Run(cmd.Context(), cmd.OutOrStdout(), cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Dir, "dir", "", "keep the fleet's data here (default: a temporary directory, removed at exit)")
	f.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long to run; 0 runs until Ctrl-C")
	f.DurationVar(&cfg.Backfill, "backfill", cfg.Backfill, "history to generate per site before live traffic")
	f.Float64Var(&cfg.Rate, "rate", cfg.Rate, "sales per minute per site at the daily peak")
	f.IntVar(&cfg.Machines, "machines", cfg.Machines, "simulated machines per site")
	f.DurationVar(&cfg.Refresh, "refresh", cfg.Refresh, "how often the summary is redrawn")
	f.DurationVar(&cfg.OfflineAfter, "offline-after", 0, "when New York's link goes down (default: a quarter of --duration, or 30s)")
	f.DurationVar(&cfg.OfflineFor, "offline-for", 0, "how long it stays down; 0: never goes down (default: a quarter of --duration, or 30s)")
	f.StringVar(&cfg.LogFile, "log-file", "", "where logs go (default DIR/demo.log)")
	return cmd
}
