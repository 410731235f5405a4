package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/hqapi"
)

// maxDEXFile bounds a DEX file read from disk: a real audit is a few KiB;
// the edge refuses bodies over its own limit anyway.
const maxDEXFile = 1 << 20

func newDEXCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dex",
		Short: "DEX/UCS audits: upload a machine's audit file to its site, list reconciliations",
		Long: `A vending machine controller keeps DEX/UCS (EVA-DTS) audit data: its own
meters of vends, cash and cashless per product. 'upload' sends a file read at
the machine to the site's edge, which parses it and reconciles it with the
sales the edge recorded since the machine's previous read (unreported sales,
ledger sales the machine doesn't count, price mismatches, test and free
vends). 'list' shows the site's reconciliations. HQ's fleet-wide view is
'vendsync report reconciliation' and 'vendsync report cash'.`,
		Example: `  vendsync dex upload --edge https://site-1:8080 --ca ca.pem --credentials driver.json --machine VM-001 audit.dex
  vendsync dex list --edge https://site-1:8080 --ca ca.pem --credentials ops.json --machine VM-001`,
	}
	cmd.AddCommand(newDEXUploadCmd(), newDEXListCmd())
	return cmd
}

// edgeFlags are the flags of a command that talks to one site's API.
type edgeFlags struct {
	base, creds, format string
}

func (f *edgeFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.base, "edge", "https://127.0.0.1:8080", "the site's API URL, https://host:port (pin its CA with --ca)")
	cmd.Flags().StringVar(&f.creds, "credentials", "", "credentials file of a site client ({\"client_id\",\"client_secret\"}); a DRIVER, OPS or ADMIN client")
	addFormatFlag(cmd, &f.format)
}

func newDEXUploadCmd() *cobra.Command {
	var f edgeFlags
	var machine, readAt string
	cmd := &cobra.Command{
		Use:   "upload --machine ID FILE",
		Short: "Upload one DEX audit file read at a machine, and show its reconciliation",
		Long: `Upload FILE (the raw DEX/UCS text, as read from the machine) for --machine.
The edge refuses a file it cannot parse and names the line and field. The
same file sent twice is recorded once. --read-at says when the file was read
at the machine when it is uploaded later (the edge uses the upload time
otherwise).`,
		Example: `  vendsync dex upload --edge https://site-1:8080 --ca ca.pem --credentials driver.json --machine VM-001 audit.dex
  vendsync dex upload --machine VM-001 --read-at 2026-12-01T09:30:00Z --credentials driver.json --format json audit.dex`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if machine == "" {
				return errors.New("--machine is required: the machine the file was read at")
			}
			if err := checkFormat(f.format); err != nil {
				return err
			}
			var at time.Time
			if readAt != "" {
				var err error
				if at, err = time.Parse(time.RFC3339, readAt); err != nil {
					return fmt.Errorf("--read-at %q: use RFC 3339, e.g. 2026-12-01T09:30:00Z", readAt)
				}
			}
			raw, err := readDEXFile(args[0])
			if err != nil {
				return err
			}
			if f.creds == "" {
				return errors.New("--credentials is required: a site client's credentials file")
			}
			e, err := edgeClientFor(f.base, f.creds, caFlag(cmd))
			if err != nil {
				return err
			}
			var read edgeapi.DEXRead
			if at.IsZero() {
				read, err = e.UploadDEX(cmd.Context(), machine, raw)
			} else {
				read, err = e.UploadDEXAt(cmd.Context(), machine, raw, at)
			}
			if err != nil {
				return fmt.Errorf("upload %s: %w", args[0], err)
			}
			q := queryFlags{format: f.format}
			return q.render(cmd, read, func(t *table) {
				t.cols = []string{"selection", "product", "price", "vends_since_init", "value_since_init"}
				for _, p := range read.Products {
					t.add(p.Selection, p.ProductID, p.Price.String(), strconv.FormatInt(p.SinceInit.Count, 10), p.SinceInit.Value.String())
				}
				t.footer = fmt.Sprintf("read %d of %s at %s: %d paid vends (%s)", read.ReadID, read.MachineID,
					read.ReadAt.Format(time.RFC3339), read.PaidVends.Count, read.PaidVends.Value)
				if read.Replayed {
					t.footer += "; already uploaded, nothing changed"
				}
				if r := read.Reconciliation; r != nil {
					t.footer += "\n" + reconciliationLine(*r)
				} else {
					t.footer += "\nfirst read of this machine: the next read is reconciled against it"
				}
				for _, w := range read.Warnings {
					t.footer += "\nwarning: " + w
				}
			})
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&machine, "machine", "", "the machine the file was read at (required)")
	cmd.Flags().StringVar(&readAt, "read-at", "", "when the file was read at the machine, RFC 3339 (default: now)")
	return cmd
}

// readDEXFile reads a DEX file, refusing one too large to be an audit.
func readDEXFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("dex file: %w", err)
	}
	if st.Size() > maxDEXFile {
		return nil, fmt.Errorf("dex file %s: %d bytes, more than the %d a DEX audit can be", path, st.Size(), maxDEXFile)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dex file: %w", err)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("dex file %s is empty", path)
	}
	return raw, nil
}

// reconciliationLine says what a reconciliation found, in one line.
func reconciliationLine(r edgeapi.Reconciliation) string {
	s := fmt.Sprintf("reconciled %s..%s: machine %d (%s), ledger %d (%s), unreported %d (%s), missing at machine %d (%s), price mismatches %d, test vends %d, free vends %d",
		r.From.Format(time.RFC3339), r.To.Format(time.RFC3339), r.MachineCount, r.MachineValue, r.LedgerCount, r.LedgerValue,
		r.UnreportedCount, r.UnreportedValue, r.MissingCount, r.MissingValue, r.PriceMismatches, r.TestVends.Count, r.FreeVends.Count)
	if r.Alerted {
		s += "; DEX_UNREPORTED_SALES alert raised"
	}
	return s
}

func newDEXListCmd() *cobra.Command {
	var f edgeFlags
	var q edgeapi.ReconciliationQuery
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the site's DEX reconciliations, newest first",
		Example: `  vendsync dex list --edge https://site-1:8080 --ca ca.pem --credentials ops.json --machine VM-001 --limit 10`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(f.format); err != nil {
				return err
			}
			if f.creds == "" {
				return errors.New("--credentials is required: a site client's credentials file")
			}
			e, err := edgeClientFor(f.base, f.creds, caFlag(cmd))
			if err != nil {
				return err
			}
			rs, err := e.Reconciliations(cmd.Context(), q)
			if err != nil {
				return err
			}
			out := queryFlags{format: f.format}
			return out.render(cmd, edgeapi.ReconciliationList{Reconciliations: rs}, func(t *table) {
				t.cols = []string{"id", "machine", "from", "to", "machine_count", "ledger_count", "unreported", "unreported_value", "missing", "price_mismatches", "alerted"}
				for _, r := range rs {
					t.add(strconv.FormatInt(r.ReconciliationID, 10), r.MachineID, r.From.Format(time.RFC3339), r.To.Format(time.RFC3339),
						strconv.FormatInt(r.MachineCount, 10), strconv.FormatInt(r.LedgerCount, 10), strconv.FormatInt(r.UnreportedCount, 10),
						r.UnreportedValue.String(), strconv.FormatInt(r.MissingCount, 10), strconv.Itoa(r.PriceMismatches), strconv.FormatBool(r.Alerted))
				}
				t.footer = fmt.Sprintf("%d reconciliations", len(rs))
			})
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&q.MachineID, "machine", "", "only this machine")
	cmd.Flags().StringVar(&q.From, "from", "", "reads from this time (RFC 3339 or YYYY-MM-DD)")
	cmd.Flags().StringVar(&q.To, "to", "", "reads before this time (RFC 3339 or YYYY-MM-DD)")
	cmd.Flags().IntVar(&q.Limit, "limit", 0, "at most this many (default: the edge's)")
	return cmd
}

func newReportDEXCmd(kind string) *cobra.Command {
	var q queryFlags
	var groupBy, site, from, to string
	short := "DEX reconciliation per machine, site, city, driver or route: unreported sales, price mismatches, test and free vends"
	if kind == "cash" {
		short = "Cash over/short per machine, site, city, driver or route: counted against expected from DEX and from the ledger"
	}
	cmd := &cobra.Command{
		Use:   kind,
		Short: short,
		Example: fmt.Sprintf(`  vendsync report %[1]s --credentials finance.json --by route --from 2026-11-01 --to 2026-12-01
  vendsync report %[1]s --credentials finance.json --site site-1 --format csv > %[1]s.csv`, kind),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := q.client(cmd)
			if err != nil {
				return err
			}
			if kind == "cash" {
				rep, err := c.CashReport(cmd.Context(), hqapi.CashQuery{GroupBy: groupBy, SiteID: site, From: from, To: to})
				if err != nil {
					return err
				}
				return q.render(cmd, rep, func(t *table) {
					t.cols = []string{rep.GroupBy, "site", "machine", "collections", "counted", "expected_ledger", "over_short_ledger", "expected_dex", "over_short_dex"}
					row := func(r hqapi.CashRow) {
						t.add(r.Key, r.SiteID, r.MachineID, strconv.FormatInt(r.Collections, 10), r.Counted.String(), r.ExpectedLedger.String(),
							r.OverShortLedger.String(), r.ExpectedDEX.String(), r.OverShortDEX.String())
					}
					for _, r := range rep.Rows {
						row(r)
					}
					row(rep.Totals)
					t.footer = staleNote(rep.Sites)
				})
			}
			rep, err := c.ReconciliationReport(cmd.Context(), hqapi.ReconciliationQuery{GroupBy: groupBy, SiteID: site, From: from, To: to})
			if err != nil {
				return err
			}
			return q.render(cmd, rep, func(t *table) {
				t.cols = []string{rep.GroupBy, "site", "machine", "reads", "machine_count", "ledger_count", "unreported", "unreported_value", "missing", "price_mismatches", "test_vends", "free_vends", "alerts"}
				row := func(r hqapi.ReconciliationRow) {
					t.add(r.Key, r.SiteID, r.MachineID, strconv.FormatInt(r.Reconciliations, 10), strconv.FormatInt(r.MachineCount, 10),
						strconv.FormatInt(r.LedgerCount, 10), strconv.FormatInt(r.UnreportedCount, 10), r.UnreportedValue.String(),
						strconv.FormatInt(r.MissingCount, 10), strconv.FormatInt(r.PriceMismatches, 10), strconv.FormatInt(r.TestVends, 10),
						strconv.FormatInt(r.FreeVends, 10), strconv.FormatInt(r.Alerts, 10))
				}
				for _, r := range rep.Rows {
					row(r)
				}
				row(rep.Totals)
				t.footer = staleNote(rep.Sites)
			})
		},
	}
	q.add(cmd)
	cmd.Flags().StringVar(&groupBy, "by", "machine", "group rows by machine, site, city, driver or route")
	cmd.Flags().StringVar(&site, "site", "", "only this site")
	cmd.Flags().StringVar(&from, "from", "", "from this time (RFC 3339 or YYYY-MM-DD)")
	cmd.Flags().StringVar(&to, "to", "", "before this time (RFC 3339 or YYYY-MM-DD)")
	return cmd
}
