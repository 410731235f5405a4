package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vendsync/vendsync/sync/wire"
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
	cmd.AddCommand(newReportPeriodCmd("daily"), newReportPeriodCmd("monthly"), newReportExportCmd())
	return cmd
}

type reportFigures struct {
	Transactions int64      `json:"transactions"`
	Quantity     int64      `json:"quantity"`
	Revenue      wire.Money `json:"revenue"`
	TopProducts  []struct {
		ProductID string     `json:"productId"`
		Revenue   wire.Money `json:"revenue"`
	} `json:"topProducts"`
	OpenFaults int `json:"openFaults"`
	OpenAlerts int `json:"openAlerts"`
}

func (f reportFigures) top() string {
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
			if err := checkFormat(q.format); err != nil {
				return err
			}
			if period == "" {
				period = time.Now().Format(layout)
			} else if _, err := time.Parse(layout, period); err != nil {
				return fmt.Errorf("--%s %q: use %s", param, period, strings.ToUpper(strings.NewReplacer("2006", "yyyy", "01", "mm", "02", "dd").Replace(layout)))
			}
			raw, err := q.get(cmd, "/reports/"+kind, map[string]string{param: period})
			if err != nil {
				return err
			}
			return q.render(cmd, raw, func(t *table) error {
				var rep struct {
					Period string `json:"period"`
					Cities []struct {
						City string `json:"city"`
						reportFigures
						Sites []struct {
							SiteID string `json:"siteId"`
							reportFigures
						} `json:"sites"`
					} `json:"cities"`
					Totals    reportFigures `json:"totals"`
					Freshness []freshness   `json:"freshness"`
				}
				if err := json.Unmarshal(raw, &rep); err != nil {
					return err
				}
				t.cols = []string{"city", "site", "transactions", "quantity", "revenue", "top_products", "open_faults", "open_alerts"}
				row := func(city, site string, f reportFigures) {
					t.add(city, site, fmt.Sprint(f.Transactions), fmt.Sprint(f.Quantity), f.Revenue.String(), f.top(), fmt.Sprint(f.OpenFaults), fmt.Sprint(f.OpenAlerts))
				}
				for _, c := range rep.Cities {
					row(c.City, "*", c.reportFigures)
					for _, s := range c.Sites {
						row(c.City, s.SiteID, s.reportFigures)
					}
				}
				row("*", "*", rep.Totals)
				t.footer = fmt.Sprintf("%s report %s", kind, rep.Period)
				if n := staleNote(rep.Freshness); n != "" {
					t.footer += "\n" + n
				}
				return nil
			})
		},
	}
	q.add(cmd)
	cmd.Flags().StringVar(&period, param, "", fmt.Sprintf("the %s to report, %s (default: the current one)", param, example))
	return cmd
}

func newReportExportCmd() *cobra.Command {
	var base, creds, out string
	body := map[string]string{"kind": "sales"}
	var by, window, from, to, city, site, format string
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
			if from == "" || to == "" {
				return errors.New("--from and --to are required, e.g. --from 2025-01-01 --to 2025-02-01")
			}
			if format != "csv" && format != "json" {
				return fmt.Errorf("--format %q: use csv or json", format)
			}
			for k, v := range map[string]string{"groupBy": by, "window": window, "from": from, "to": to, "city": city, "siteId": site, "format": format} {
				if v != "" {
					body[k] = v
				}
			}
			c, err := newAPIClient(base, creds, caFlag(cmd))
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
			n, err := c.stream(cmd.Context(), http.MethodPost, "/reports/export", body, w, func(n int64) {
				if out != "" {
					p.say("%s: %d KiB received", out, n>>10)
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
	f.StringVar(&by, "by", "site", "group by city, site, machine or product")
	f.StringVar(&window, "window", "day", "bucket: hour, day, week or month")
	f.StringVar(&from, "from", "", "start of the range (inclusive): a date, a local time or RFC 3339")
	f.StringVar(&to, "to", "", "end of the range (exclusive)")
	f.StringVar(&city, "city", "", "only this city")
	f.StringVar(&site, "site", "", "only this site")
	f.StringVar(&format, "format", "csv", "csv or json")
	f.StringVar(&out, "out", "", "write to this file instead of stdout")
	return cmd
}

// stream sends body as JSON and copies a successful answer to w as it
// arrives, calling progress with the bytes so far. It returns the bytes copied.
func (c *apiClient) stream(ctx context.Context, method, path string, body any, w io.Writer, progress func(int64)) (int64, error) {
	if c.token == "" {
		if err := c.login(ctx); err != nil {
			return 0, err
		}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	// No overall timeout: an export may take long; ctx bounds it.
	resp, err := (&http.Client{Transport: c.http.Transport}).Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var e struct {
			Error apiError `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error.Code == "" {
			return 0, fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(data))
		}
		e.Error.Status = resp.StatusCode
		return 0, &e.Error
	}
	var n int64
	buf := make([]byte, 32<<10)
	for {
		k, rerr := resp.Body.Read(buf)
		if k > 0 {
			if _, err := w.Write(buf[:k]); err != nil {
				return n, err
			}
			n += int64(k)
			progress(n)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, fmt.Errorf("%s %s: cut short after %d bytes: %w", method, path, n, rerr)
		}
	}
}
