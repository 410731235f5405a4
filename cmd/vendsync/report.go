package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vendsync/vendsync/internal/hqapi"
)

func newReportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "HQ reports: daily and monthly per city and site, and sales exports",
		Long: `Reports from central's HQ API. 'daily' and 'monthly' give, per city and
site, revenue, transactions and top products over the period (each site's
own calendar), with the faults and alerts open now. 'export' streams sales
rows as CSV or JSON to stdout or --out.`,
		Example: `  vendsync report daily --central http://hq:9080 --credentials hq.json --date 2025-01-10
  vendsync report export --central http://hq:9080 --credentials hq.json --from 2025-01-01 --to 2025-02-01 --out jan.csv`,
	}
	cmd.AddCommand(newReportPeriodCmd("daily"), newReportPeriodCmd("monthly"), newReportExportCmd(), newReportDEXCmd("reconciliation"), newReportDEXCmd("cash"))
	return cmd
}

// topProducts lists a report scope's top products by id.
func topProducts(f hqapi.ReportFigures) string {
	var s []string
	for _, p := range f.TopProducts {
		s = append(s, p.ProductID)
	}
	return strings.Join(s, " ")
}

func newReportPeriodCmd(kind string) *cobra.Command {
	var q queryFlags
	var period string
	param, layout, example := "date", time.DateOnly, "2025-01-10"
	if kind == "monthly" {
		param, layout, example = "month", "2006-01", "2025-01"
	}
	cmd := &cobra.Command{
		Use:     kind,
		Short:   fmt.Sprintf("The %s report: per city and site, revenue, transactions, top products, open faults and alerts", kind),
		Example: fmt.Sprintf("  vendsync report %s --credentials hq.json --%s %s\n  vendsync report %s --credentials hq.json --format csv > report.csv", kind, param, example, kind),
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := q.client(cmd)
			if err != nil {
				return err
			}
			if period == "" {
				period = time.Now().Format(layout)
			} else if _, err := time.Parse(layout, period); err != nil {
				return fmt.Errorf("--%s %q: use %s", param, period, strings.ToUpper(strings.NewReplacer("2006", "yyyy", "01", "mm", "02", "dd").Replace(layout)))
			}
			rep, err := c.Report(cmd.Context(), kind, period)
			if err != nil {
				return err
			}
			return q.render(cmd, rep, func(t *table) {
				t.cols = []string{"city", "site", "transactions", "quantity", "revenue", "top_products", "open_faults", "open_alerts"}
				row := func(city, site string, f hqapi.ReportFigures) {
					t.add(city, site, fmt.Sprint(f.Transactions), fmt.Sprint(f.Quantity), f.Revenue.String(), topProducts(f), fmt.Sprint(f.OpenFaults), fmt.Sprint(f.OpenAlerts))
				}
				for _, c := range rep.Cities {
					row(c.City, "*", c.ReportFigures)
					for _, s := range c.Sites {
						row(c.City, s.SiteID, s.ReportFigures)
					}
				}
				row("*", "*", rep.Totals)
				t.footer = fmt.Sprintf("%s report %s", kind, rep.Period)
				if n := staleNote(rep.Freshness); n != "" {
					t.footer += "\n" + n
				}
			})
		},
	}
	q.add(cmd)
	cmd.Flags().StringVar(&period, param, "", fmt.Sprintf("the %s to report, %s (default: the current one)", param, example))
	return cmd
}

func newReportExportCmd() *cobra.Command {
	var base, creds, out string
	req := hqapi.ExportRequest{Kind: "sales"}
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export sales rows as CSV or JSON (streamed)",
		Long: `Export sales totals per --by and --window over [--from, --to) as CSV (the
default) or JSON. Central streams the rows as it reads them; they are written
to stdout or to --out, with the bytes received shown on a terminal.`,
		Example: `  vendsync report export --credentials hq.json --by machine --window hour --from 2025-01-01 --to 2025-02-01 --out jan.csv
  vendsync report export --credentials hq.json --by city --window day --from 2025-01-01 --to 2025-01-08 --format json | jq .totals`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if req.From == "" || req.To == "" {
				return errors.New("--from and --to are required, e.g. --from 2025-01-01 --to 2025-02-01")
			}
			if req.Format != "csv" && req.Format != "json" {
				return fmt.Errorf("--format %q: use csv or json", req.Format)
			}
			c, err := hqClient(base, creds, caFlag(cmd))
			if err != nil {
				return err
			}
			var w io.Writer = cmd.OutOrStdout()
			var f *os.File
			if out != "" {
				if f, err = os.Create(out); err != nil {
					return fmt.Errorf("--out: %w", err)
				}
				defer f.Close()
				w = f
			}
			p := newProgress(cmd.ErrOrStderr())
			n, err := c.Export(cmd.Context(), req, w, func(n int64) {
				if out != "" {
					p.say(fmt.Sprintf("%s: %d KiB received", out, n>>10))
				}
			})
			p.done()
			if err != nil {
				return err
			}
			if f != nil {
				if err := f.Close(); err != nil {
					return fmt.Errorf("--out: %w", err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "exported %d bytes to %s\n", n, out)
			}
			return nil
		},
	}
	addCentralFlags(cmd, &base, &creds)
	f := cmd.Flags()
	f.StringVar(&req.GroupBy, "by", "site", "group by city, site, machine or product")
	f.StringVar(&req.Window, "window", "day", "bucket: hour, day, week or month")
	f.StringVar(&req.From, "from", "", "start of the range (inclusive): a date, a local time or RFC 3339")
	f.StringVar(&req.To, "to", "", "end of the range (exclusive)")
	f.StringVar(&req.City, "city", "", "only this city")
	f.StringVar(&req.SiteID, "site", "", "only this site")
	f.StringVar(&req.Format, "format", "csv", "csv or json")
	f.StringVar(&out, "out", "", "write to this file instead of stdout")
	return cmd
}
