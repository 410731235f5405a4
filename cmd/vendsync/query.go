package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/hqapi"
)

func newQueryCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "query",
		Short: "Query HQ: sales, top products, faults, alerts, sites' sync state",
		Long: `Query central's HQ API with an HQ client's credentials (--credentials; a
fresh central writes an ADMIN one to DIR/admin-credentials.json).

--format is table, json or csv. Without it the output is a table on a
terminal and JSON otherwise (for scripts and pipes). JSON is the API's answer
as is, including the freshness of every site the figures cover; CSV has a
header row and one row per result.`,
		Example: `  vendsync query sales --central http://hq:9080 --credentials hq.json --by city --window day
  vendsync query sites --central http://hq:9080 --credentials hq.json --format csv`,
	}
	cmd.AddCommand(newQuerySalesCmd(), newQueryTopCmd(), newQueryFaultsCmd(), newQueryAlertsCmd(), newQuerySitesCmd())
	return cmd
}

// queryFlags are the flags every query shares.
type queryFlags struct {
	base, creds, format string
}

func (q *queryFlags) add(cmd *cobra.Command) {
	addCentralFlags(cmd, &q.base, &q.creds)
	addFormatFlag(cmd, &q.format)
}

// client checks --format and returns the HQ client of --central.
func (q *queryFlags) client(cmd *cobra.Command) (*client.HQ, error) {
	if err := checkFormat(q.format); err != nil {
		return nil, err
	}
	return hqClient(q.base, q.creds, caFlag(cmd))
}

// render writes the API's answer as JSON, or as a table that fill makes.
func (q *queryFlags) render(cmd *cobra.Command, answer any, fill func(*table)) error {
	out := cmd.OutOrStdout()
	if resolveFormat(out, q.format) == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(answer)
	}
	t := &table{}
	fill(t)
	return t.write(out, q.format)
}

func addFormatFlag(cmd *cobra.Command, format *string) {
	cmd.Flags().StringVar(format, "format", "", "table, json or csv (default: table on a terminal, else json)")
}

func resolveFormat(out io.Writer, format string) string {
	if format != "" {
		return format
	}
	if f, ok := out.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		return "table"
	}
	return "json"
}

func checkFormat(format string) error {
	switch format {
	case "", "table", "json", "csv":
		return nil
	}
	return fmt.Errorf("--format %q: use table, json or csv", format)
}

// table is a result set printed as an aligned table or CSV.
type table struct {
	cols   []string
	rows   [][]string
	footer string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(out io.Writer, format string) error {
	switch resolveFormat(out, format) {
	case "csv":
		w := csv.NewWriter(out)
		w.Write(t.cols)
		w.WriteAll(t.rows)
		return w.Error()
	case "json":
		var objs []map[string]string
		for _, r := range t.rows {
			o := map[string]string{}
			for i, c := range t.cols {
				o[c] = r[i]
			}
			objs = append(objs, o)
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(objs)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(t.cols, "\t")))
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if t.footer != "" {
		fmt.Fprintln(out, t.footer)
	}
	return nil
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// envelopeCol shows a site's envelope version, blank when none was reported.
func envelopeCol(v int) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprint(v)
}

// staleNote says which sites the figures may be missing data from.
func staleNote(fs []hqapi.Freshness) string {
	var stale []string
	for _, f := range fs {
		if f.Stale {
			ago := "never synced"
			if f.SecondsSinceContact != nil {
				ago = "last contact " + (time.Duration(*f.SecondsSinceContact) * time.Second).String() + " ago"
			}
			stale = append(stale, f.SiteID+" ("+ago+")")
		}
	}
	if len(stale) == 0 {
		return ""
	}
	return "note: figures may be incomplete for " + strings.Join(stale, ", ")
}

func newQuerySalesCmd() *cobra.Command {
	var q queryFlags
	var by, window, from, to, city, site string
	cmd := &cobra.Command{
		Use:   "sales",
		Short: "Sales totals grouped by city, site, machine or product, per hour/day/week/month",
		Long: `Sales totals from central's read model (GET /aggregations/sales). Buckets are
each site's local wall clock; --from/--to take a date (2025-01-10), a local
time (2025-01-10T10:00:00) or RFC 3339. Default range: the last 30 days.`,
		Example: `  vendsync query sales --credentials hq.json --by city --window day
  vendsync query sales --credentials hq.json --by product --window month --from 2025-01-01 --city Berlin --format csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := q.client(cmd)
			if err != nil {
				return err
			}
			a, err := c.Sales(cmd.Context(), hqapi.SalesQuery{GroupBy: by, Window: window, From: from, To: to, City: city, SiteID: site})
			if err != nil {
				return err
			}
			return q.render(cmd, a, func(t *table) {
				t.cols = []string{by, "bucket", "transactions", "quantity", "revenue"}
				// A machine is identified by its site and its id: two sites
				// may each have a VM_0001.
				bySite := a.GroupBy == "machine"
				if bySite {
					t.cols = append([]string{"site"}, t.cols...)
				}
				for _, r := range a.Rows {
					cells := []string{r.Key, r.Bucket, fmt.Sprint(r.Transactions), fmt.Sprint(r.Quantity), r.Revenue.String()}
					if bySite {
						cells = append([]string{r.SiteID}, cells...)
					}
					t.add(cells...)
				}
				t.footer = fmt.Sprintf("total: %d transactions, %d units, revenue %s", a.Totals.Transactions, a.Totals.Quantity, a.Totals.Revenue)
				if n := staleNote(a.Freshness); n != "" {
					t.footer += "\n" + n
				}
			})
		},
	}
	q.add(cmd)
	f := cmd.Flags()
	f.StringVar(&by, "by", "city", "group by city, site, machine or product")
	f.StringVar(&window, "window", "day", "bucket: hour, day, week or month")
	f.StringVar(&from, "from", "", "start of the range (inclusive)")
	f.StringVar(&to, "to", "", "end of the range (exclusive)")
	f.StringVar(&city, "city", "", "only this city")
	f.StringVar(&site, "site", "", "only this site")
	return cmd
}

func newQueryTopCmd() *cobra.Command {
	var q queryFlags
	var by, from, to, city, site string
	var n int
	cmd := &cobra.Command{
		Use:     "top-products",
		Short:   "Best-selling products by revenue or quantity",
		Example: `  vendsync query top-products --credentials hq.json --n 5 --city Bangalore --from 2025-01-01`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := q.client(cmd)
			if err != nil {
				return err
			}
			a, err := c.TopProducts(cmd.Context(), hqapi.TopQuery{N: n, By: by, From: from, To: to, City: city, SiteID: site})
			if err != nil {
				return err
			}
			return q.render(cmd, a, func(t *table) {
				t.cols = []string{"rank", "product", "transactions", "quantity", "revenue"}
				for i, p := range a.Products {
					t.add(fmt.Sprint(i+1), p.ProductID, fmt.Sprint(p.Transactions), fmt.Sprint(p.Quantity), p.Revenue.String())
				}
				t.footer = staleNote(a.Freshness)
			})
		},
	}
	q.add(cmd)
	f := cmd.Flags()
	f.IntVar(&n, "n", 10, "how many products")
	f.StringVar(&by, "by", "revenue", "rank by revenue or quantity")
	f.StringVar(&from, "from", "", "start of the range (inclusive)")
	f.StringVar(&to, "to", "", "end of the range (exclusive)")
	f.StringVar(&city, "city", "", "only this city")
	f.StringVar(&site, "site", "", "only this site")
	return cmd
}

func newQueryFaultsCmd() *cobra.Command {
	var q queryFlags
	var status, city, site, machine string
	var limit int
	cmd := &cobra.Command{
		Use:     "faults",
		Short:   "Faults reported by machines, newest first",
		Example: `  vendsync query faults --credentials hq.json --status OPEN --city Berlin`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := q.client(cmd)
			if err != nil {
				return err
			}
			fs, err := c.Faults(cmd.Context(), hqapi.FaultQuery{Status: status, City: city, SiteID: site, MachineID: machine, Limit: limit})
			if err != nil {
				return err
			}
			return q.render(cmd, hqapi.FaultList{Faults: fs}, func(t *table) {
				t.cols = []string{"site", "fault", "machine", "city", "type", "status", "reported", "description"}
				for _, f := range fs {
					t.add(f.SiteID, fmt.Sprint(f.FaultID), f.MachineID, f.City, f.FaultType, f.Status, fmtTime(&f.ReportedAt), f.Description)
				}
			})
		},
	}
	q.add(cmd)
	f := cmd.Flags()
	f.StringVar(&status, "status", "", "OPEN, IN_PROGRESS or RESOLVED (default: all)")
	f.StringVar(&city, "city", "", "only this city")
	f.StringVar(&site, "site", "", "only this site")
	f.StringVar(&machine, "machine", "", "only this machine")
	f.IntVar(&limit, "limit", 100, "at most this many (1..1000)")
	return cmd
}

func newQueryAlertsCmd() *cobra.Command {
	var q queryFlags
	var status, typ, city, site, machine string
	var limit int
	cmd := &cobra.Command{
		Use:     "alerts",
		Short:   "Alerts raised at the sites (low stock, temperature, door, expiry, offline…)",
		Example: `  vendsync query alerts --credentials hq.json --status OPEN --type TEMPERATURE_HIGH`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := q.client(cmd)
			if err != nil {
				return err
			}
			as, err := c.Alerts(cmd.Context(), hqapi.AlertQuery{Status: status, Type: typ, City: city, SiteID: site, MachineID: machine, Limit: limit})
			if err != nil {
				return err
			}
			return q.render(cmd, hqapi.AlertList{Alerts: as}, func(t *table) {
				t.cols = []string{"site", "alert", "machine", "city", "product", "type", "status", "opened", "detail"}
				for _, x := range as {
					t.add(x.SiteID, fmt.Sprint(x.AlertID), x.MachineID, x.City, x.ProductID, x.Type, x.Status, fmtTime(&x.OpenedAt), x.Detail)
				}
			})
		},
	}
	q.add(cmd)
	f := cmd.Flags()
	f.StringVar(&status, "status", "", "OPEN or CLOSED (default: all)")
	f.StringVar(&typ, "type", "", "only this alert type, e.g. LOW_STOCK")
	f.StringVar(&city, "city", "", "only this city")
	f.StringVar(&site, "site", "", "only this site")
	f.StringVar(&machine, "machine", "", "only this machine")
	f.IntVar(&limit, "limit", 100, "at most this many (1..1000)")
	return cmd
}

func newQuerySitesCmd() *cobra.Command {
	var q queryFlags
	cmd := &cobra.Command{
		Use:   "sites",
		Short: "Every site's sync state: last contact, watermark, backlog, freshness",
		Long: `Every site's sync state at this central node (GET /sites): when it was last
heard from, the watermark (every event up to it is in HQ's figures), the
backlog (events received above a gap, waiting for a resend) and whether it is
stale. Registered sites that never synced are listed too.`,
		Example: `  vendsync query sites --credentials hq.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := q.client(cmd)
			if err != nil {
				return err
			}
			sites, err := c.Sites(cmd.Context())
			if err != nil {
				return err
			}
			return q.render(cmd, hqapi.FreshnessList{Sites: sites}, func(t *table) {
				t.cols = []string{"site", "timezone", "last_contact", "since", "watermark", "last_seq", "backlog", "last_event", "state", "version", "envelope"}
				for _, s := range sites {
					since, state := "", "fresh"
					if s.SecondsSinceContact != nil {
						since = (time.Duration(*s.SecondsSinceContact) * time.Second).String()
					}
					if s.Stale {
						state = "stale"
					}
					if !s.Known {
						state = "never synced"
					}
					t.add(s.SiteID, s.Timezone, fmtTime(s.LastContact), since, fmt.Sprint(s.Watermark), fmt.Sprint(s.LastSeq), fmt.Sprint(s.Backlog), fmtTime(s.LastEventTime), state, s.BinaryVersion, envelopeCol(s.EnvelopeVersion))
				}
			})
		},
	}
	q.add(cmd)
	return cmd
}
