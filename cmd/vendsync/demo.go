package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/simulate"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/sync/bucket"
)

type demoOptions struct {
	dir      string
	http     string
	duration time.Duration
	backfill time.Duration
	rate     float64
	machines int
	every    time.Duration
}

func newDemoCmd(logs *logOptions) *cobra.Command {
	o := demoOptions{http: "127.0.0.1:8080", duration: 90 * time.Second, backfill: 72 * time.Hour, rate: 600, machines: 6, every: 3 * time.Second}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a site with simulated machines and show live aggregates",
		Long: `Start a site edge on this machine, drive it with the simulator (a few days of
history first, then live sales, telemetry, faults and restocks) and print a
live summary: revenue by location, top products, open alerts and the outbox
waiting for central.

Without --dir the data lives in a temporary directory that is removed at the
end; with --dir it is kept, and the site can be served again with
'vendsync edge run --dir DIR'. Ctrl-C stops everything cleanly.`,
		Example: `  vendsync demo                       # 90 seconds, then a final summary
  vendsync demo --duration 0 --dir .demo   # until Ctrl-C, keep the data`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDemo(cmd.Context(), cmd.OutOrStdout(), logs, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dir, "dir", "", "keep the site's data here (default: a temporary directory, removed at exit)")
	f.StringVar(&o.http, "http", o.http, "host:port for the site's HTTP API (port 0: any free port)")
	f.DurationVar(&o.duration, "duration", o.duration, "how long to run; 0 runs until Ctrl-C")
	f.DurationVar(&o.backfill, "backfill", o.backfill, "history to generate before live traffic")
	f.Float64Var(&o.rate, "rate", o.rate, "fleet-wide sales per minute at the daily peak")
	f.IntVar(&o.machines, "machines", o.machines, "simulated machines")
	f.DurationVar(&o.every, "refresh", o.every, "how often the summary is redrawn")
	return cmd
}

func runDemo(ctx context.Context, out io.Writer, logs *logOptions, o demoOptions) error {
	log, err := logs.logger()
	if err != nil {
		return err
	}
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	dir := o.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "vendsync-demo-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	siteDir := filepath.Join(dir, "site-blr")
	const tz = "Asia/Kolkata"
	if _, err := os.Stat(filepath.Join(siteDir, store.DBFile)); errors.Is(err, os.ErrNotExist) {
		if _, err := edge.Init(ctx, siteDir, store.SiteInit{ID: "blr-techpark", Name: "Tech Park", City: "Bangalore", Timezone: tz}); err != nil {
			return err
		}
	}
	creds, err := edge.ReadCredentials(filepath.Join(siteDir, edge.CredentialsFile))
	if err != nil {
		return err
	}
	cfg := edge.DefaultConfig()
	cfg.Dir, cfg.HTTPAddr, cfg.SweepEvery = siteDir, o.http, 10*time.Second
	cfg.Logger = log.Level(max(log.GetLevel(), 2)) // warnings and errors only: the summary is the output
	n, err := edge.New(cfg)
	if err != nil {
		return err
	}
	if err := n.Open(context.Background()); err != nil {
		return err
	}
	defer n.Close()

	fmt.Fprintf(out, "vendsync demo — site %s (%s)\n", n.Store.Site.ID, tz)
	fmt.Fprintf(out, "  edge API     %s\n  credentials  %s\n  data         %s\n", n.URL(), filepath.Join(siteDir, edge.CredentialsFile), dir)
	fmt.Fprintf(out, "  try          TOKEN=$(curl -s -H 'Content-Type: application/json' -d @%s %s/auth/token | sed 's/.*access_token\":\"\\([^\"]*\\).*/\\1/')\n",
		filepath.Join(siteDir, edge.CredentialsFile), n.URL())
	fmt.Fprintf(out, "               curl -s -H \"Authorization: Bearer $TOKEN\" '%s/aggregations/sales?groupBy=product&window=day'\n\n", n.URL())

	loc, _ := time.LoadLocation(tz)
	sim := simulate.DefaultConfig()
	sim.EdgeURL, sim.ClientID, sim.ClientSecret = n.URL(), creds.ClientID, creds.ClientSecret
	sim.Machines, sim.City, sim.Timezone, sim.SalesPerMinute = o.machines, "Bangalore", loc, o.rate
	sim.TelemetryEvery = 5 * time.Second
	sim.Logger = cfg.Logger
	simDone := make(chan error, 1)
	var stats, hist simulate.Stats
	go func() {
		// History first, at a modest rate so it takes seconds, then live.
		if o.backfill > 0 {
			h := sim
			h.Backfill, h.BackfillOnly, h.SalesPerMinute = o.backfill, true, min(o.rate, 20)
			var err error
			if hist, err = simulate.Run(ctx, h); err != nil {
				simDone <- err
				return
			}
		}
		var err error
		stats, err = simulate.Run(ctx, sim)
		simDone <- err
	}()

	tty := false
	if f, ok := out.(*os.File); ok {
		tty = isatty.IsTerminal(f.Fd())
	}
	t := time.NewTicker(o.every)
	defer t.Stop()
	lines := 0
	for {
		select {
		case <-ctx.Done():
			err := <-simDone
			lines = drawSummary(out, n, tty, lines)
			fmt.Fprintf(out, "\nsimulator: %d historical and %d live sales accepted, %d telemetry readings, %d faults, %d restocks, %d failed\n",
				hist.SalesAccepted, stats.SalesAccepted, stats.Telemetry, stats.Faults, hist.Restocks+stats.Restocks, hist.SalesFailed+stats.SalesFailed)
			if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("simulator: %w", err)
			}
			return nil
		case <-t.C:
			lines = drawSummary(out, n, tty, lines)
		}
	}
}

// drawSummary prints the live summary; on a terminal it redraws in place.
func drawSummary(out io.Writer, n *edge.Node, tty bool, prev int) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var b strings.Builder
	now := time.Now()
	loc := n.Store.Site.Loc
	today := bucket.Start(bucket.Day, bucket.Naive(now, loc))
	fmt.Fprintf(&b, "── %s (site time %s) ──\n", now.Format("15:04:05"), now.In(loc).Format("Mon 15:04"))
	if rows, tot, err := n.Store.SalesAgg(ctx, "location", bucket.Day, today.AddDate(0, 0, -6), today.AddDate(0, 0, 1)); err == nil {
		byDay := map[string]store.Totals{}
		for _, r := range rows {
			t := byDay[r.Bucket[:10]]
			t.Transactions += r.Transactions
			t.Revenue += r.Revenue
			byDay[r.Bucket[:10]] = t
		}
		fmt.Fprintf(&b, "revenue, last 7 days: %s in %d sales\n", tot.Revenue, tot.Transactions)
		for d := today.AddDate(0, 0, -6); !d.After(today); d = d.AddDate(0, 0, 1) {
			k := d.Format(time.DateOnly)
			fmt.Fprintf(&b, "  %s %-3s %10s  %6d sales\n", k, d.Format("Mon"), byDay[k].Revenue, byDay[k].Transactions)
		}
	}
	if ps, err := n.Store.TopProducts(ctx, 3, today, bucket.Next(bucket.Day, today), false); err == nil {
		fmt.Fprintf(&b, "top products today:")
		for _, p := range ps {
			fmt.Fprintf(&b, "  %s %s", p.Name, p.Revenue)
		}
		fmt.Fprintln(&b)
	}
	if as, err := n.Store.Alerts(ctx, "OPEN", "", "", 1000); err == nil {
		count := map[string]int{}
		for _, a := range as {
			count[a.Type]++
		}
		fmt.Fprintf(&b, "open alerts: %d", len(as))
		for _, t := range []string{"LOW_STOCK", "OUT_OF_STOCK", "INVENTORY_MISMATCH", "TEMPERATURE_HIGH", "DOOR_OPEN", "EXPIRING_SOON", "EXPIRED", "MACHINE_OFFLINE", "POWER_OFF"} {
			if count[t] > 0 {
				fmt.Fprintf(&b, "  %s %d", t, count[t])
			}
		}
		fmt.Fprintln(&b)
	}
	if st, err := n.Store.OutboxStats(ctx, now); err == nil {
		fmt.Fprintf(&b, "outbox: %d events waiting for central (no uplink configured)\n", st.Depth)
	}
	text := b.String()
	if tty && prev > 0 {
		fmt.Fprintf(out, "\x1b[%dA\x1b[J", prev)
	}
	fmt.Fprint(out, text)
	return strings.Count(text, "\n")
}
