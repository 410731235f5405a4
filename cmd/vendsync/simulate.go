package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/vendsync/vendsync/edge/simulate"
	"github.com/vendsync/vendsync/internal/client"
)

// newSimulateCmd is `vendsync simulate`: realistic machine traffic against
// an edge. logs may be nil (then warnings go to stderr as console lines).
func newSimulateCmd(logs *logOptions) *cobra.Command {
	cfg := simulate.DefaultConfig()
	var (
		credentials string
		tz          string
		flat        bool
		timeout     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Send realistic machine traffic to an edge: sales, telemetry, faults, restocks",
		Long: `Simulate a fleet of vending machines against a site's edge API.

It registers --machines machines in --city with --products products each
(existing ones are kept, so it can be re-run), then sends sales as a Poisson
process whose rate follows the local time of day (quiet at night, peaks at
lunch and in the evening; --rate is the fleet-wide sales per minute at the
peak), telemetry every --telemetry-every per machine (about 4 °C, with an
occasional excursion above 10 °C), occasional faults, driver restocks when a
product falls below its low-stock limit (the door opens while restocking),
and now and then resends an accepted sale to exercise idempotency.

--backfill posts historical sales spread over the past DURATION with the same
seasonality through /events/batch, as fast as the edge takes them, before the
live traffic (or instead of it with --backfill-only).

Credentials come from --credentials (the {"client_id","client_secret"} file
that 'vendsync edge init' writes to DIR/admin-credentials.json) or from
--client-id and --client-secret. A summary is printed at the end; Ctrl-C
stops cleanly.`,
		Example: `  # ten machines for five minutes against a local edge
  vendsync simulate --edge http://127.0.0.1:8080 \
      --credentials /var/lib/vendsync/admin-credentials.json --duration 5m

  # thirty days of history for a demo, then stop
  vendsync simulate --credentials ./site/admin-credentials.json \
      --machines 20 --backfill 720h --backfill-only`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log := zerolog.New(zerolog.ConsoleWriter{Out: cmd.ErrOrStderr(), TimeFormat: "15:04:05"}).With().Timestamp().Logger()
			if logs != nil {
				var err error
				if log, err = logs.logger(); err != nil {
					return err
				}
			}
			cfg.Logger = log
			if credentials != "" {
				creds, err := client.ReadCredentials(credentials)
				if err != nil {
					return fmt.Errorf("--credentials: %w", err)
				}
				// Explicit flags win over the file.
				if !cmd.Flags().Changed("client-id") {
					cfg.ClientID = creds.ClientID
				}
				if !cmd.Flags().Changed("client-secret") {
					cfg.ClientSecret = creds.ClientSecret
				}
			}
			if tz != "" {
				loc, err := time.LoadLocation(tz)
				if err != nil {
					return fmt.Errorf("--tz %q: %w", tz, err)
				}
				cfg.Timezone = loc
			}
			if flat {
				cfg.Seasonality = simulate.FlatSeasonality()
			}
			if timeout <= 0 {
				return fmt.Errorf("--timeout %v: must be positive", timeout)
			}
			hc, err := httpClient(caFlag(cmd), timeout)
			if err != nil {
				return err
			}
			hc.Transport.(*http.Transport).MaxIdleConnsPerHost = cfg.Concurrency
			cfg.HTTPClient = hc
			st, err := simulate.Run(cmd.Context(), cfg)
			var fe *simulate.FieldError
			if errors.As(err, &fe) {
				if flag, ok := simulateFlags[fe.Field]; ok {
					return fmt.Errorf("--%s: %s", flag, fe.Reason)
				}
				return err
			}
			if err == nil || st.SalesSent > 0 || st.Telemetry > 0 {
				printStats(cmd.OutOrStdout(), st)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.EdgeURL, "edge", cfg.EdgeURL, "the edge API, http://host:port (or host:port)")
	f.StringVar(&credentials, "credentials", "", `JSON file with {"client_id","client_secret"} (e.g. DIR/admin-credentials.json)`)
	f.StringVar(&cfg.ClientID, "client-id", "", "client id (instead of --credentials)")
	f.StringVar(&cfg.ClientSecret, "client-secret", "", "client secret (instead of --credentials)")
	f.IntVar(&cfg.Machines, "machines", cfg.Machines, "number of machines")
	f.IntVar(&cfg.Products, "products", cfg.Products, fmt.Sprintf("products per machine, most popular first (1..%d)", len(simulate.Catalog())))
	f.StringVar(&cfg.City, "city", cfg.City, "city of the machines")
	f.StringVar(&cfg.Building, "building", cfg.Building, "building of the machines")
	f.StringVar(&cfg.MachinePrefix, "machine-prefix", cfg.MachinePrefix, "machine id prefix (ids are PREFIX0001, PREFIX0002, …)")
	f.Float64Var(&cfg.SalesPerMinute, "rate", cfg.SalesPerMinute, "fleet-wide sales per minute at the weekday peak")
	f.StringVar(&tz, "tz", "", "IANA timezone whose local time drives the daily curve, e.g. Asia/Kolkata, or Local (default: the edge's site timezone)")
	f.BoolVar(&flat, "flat", false, "no daily curve: sell at --rate around the clock")
	f.DurationVar(&cfg.TelemetryEvery, "telemetry-every", cfg.TelemetryEvery, "telemetry period per machine (0: none)")
	f.Float64Var(&cfg.FaultProbability, "fault-probability", cfg.FaultProbability, "chance that a purchase attempt ends in a fault report")
	f.Float64Var(&cfg.ReplayProbability, "replay-probability", cfg.ReplayProbability, "chance per sale of also resending an accepted sale")
	f.DurationVar(&cfg.RestockDelay, "restock-delay", cfg.RestockDelay, "time from a product going below its low-stock limit to the driver's visit")
	f.BoolVar(&cfg.DEX, "dex", false, "keep each machine's DEX meters and upload a read at setup, at every restock visit and at the end, for the edge to reconcile")
	f.Float64Var(&cfg.DropProbability, "drop-probability", 0, "with --dex: chance per sale that the machine counts it but never sends it (a lost event the reconciliation finds)")
	f.Int64Var(&cfg.Seed, "seed", cfg.Seed, "random seed: the same seed gives the same traffic")
	f.StringVar(&cfg.RunID, "run-id", "", "prefix of transaction ids (default: random, so re-runs never collide)")
	f.DurationVar(&cfg.Duration, "duration", 0, "how long to send live traffic (0: until interrupted)")
	f.DurationVar(&cfg.Backfill, "backfill", 0, "first post historical sales spread over the past DURATION, e.g. 168h")
	f.BoolVar(&cfg.BackfillOnly, "backfill-only", false, "stop after the backfill")
	f.IntVar(&cfg.BatchSize, "batch-size", cfg.BatchSize, "sales per /events/batch request when backfilling")
	f.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "maximum requests in flight")
	f.IntVar(&cfg.MaxAttempts, "max-attempts", cfg.MaxAttempts, "tries per request on transient errors (5xx, 429, connection failures)")
	f.DurationVar(&cfg.RetryBackoff, "retry-backoff", cfg.RetryBackoff, "first back-off between tries, doubled each time up to 5s")
	f.DurationVar(&timeout, "timeout", 15*time.Second, "timeout of one HTTP request")
	return cmd
}

// simulateFlags maps simulate.Config fields to the flags that set them, to
// name the flag in a validation error.
var simulateFlags = map[string]string{
	"EdgeURL": "edge", "ClientID": "client-id (or --credentials)", "ClientSecret": "client-secret (or --credentials)",
	"Machines": "machines", "Products": "products", "City": "city", "Building": "building",
	"MachinePrefix": "machine-prefix", "SalesPerMinute": "rate", "Timezone": "tz",
	"TelemetryEvery": "telemetry-every", "FaultProbability": "fault-probability",
	"ReplayProbability": "replay-probability", "RestockDelay": "restock-delay", "RunID": "run-id",
	"DEX": "dex", "DropProbability": "drop-probability",
	"Duration": "duration", "Backfill": "backfill", "BackfillOnly": "backfill-only",
	"BatchSize": "batch-size", "Concurrency": "concurrency", "MaxAttempts": "max-attempts",
	"RetryBackoff": "retry-backoff",
}

func printStats(w io.Writer, st simulate.Stats) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	rate := 0.0
	if s := st.Elapsed.Seconds(); s > 0 {
		rate = float64(st.SalesSent) / s
	}
	row("elapsed", st.Elapsed.Round(time.Millisecond))
	row("timezone", st.Timezone)
	row("sales sent", fmt.Sprintf("%d (%.1f/s, %d backfilled)", st.SalesSent, rate, st.Backfilled))
	row("sales accepted", st.SalesAccepted)
	row("replays answered as replays", st.SalesReplayed)
	row("sales failed", st.SalesFailed)
	row("revenue", st.Revenue)
	row("telemetry", st.Telemetry)
	row("faults", st.Faults)
	row("restocks", st.Restocks)
	if st.DEXReads > 0 {
		row("DEX reads uploaded", st.DEXReads)
		row("units dropped (never sent)", st.Dropped)
		row("units unreported (found by DEX)", st.Unreported)
	}
	row("retries", st.Retries)
	row("tokens", st.Tokens)
	codes := make([]string, 0, len(st.Errors))
	for c := range st.Errors {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, c := range codes {
		row("errors "+c, st.Errors[c])
	}
	tw.Flush()
}
