package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/hqapi"
)

// newHQInventoryCmds are `vendsync hq depot|van|transfer|stock`: central's
// depots and vans and a driver's load (issue 11).
func newHQInventoryCmds() []*cobra.Command {
	depot := &cobra.Command{Use: "depot", Short: "Depots (warehouses) central keeps stock at"}
	depot.AddCommand(newHQDepotAddCmd(), newHQListCmd("list", "List the depots", func(ctx context.Context, hq *client.HQ, w *tabwriter.Writer) error {
		ds, err := hq.Depots(ctx)
		fmt.Fprintln(w, "DEPOT\tNAME\tCITY")
		for _, d := range ds {
			fmt.Fprintf(w, "%s\t%s\t%s\n", d.DepotID, d.Name, d.City)
		}
		return err
	}))
	van := &cobra.Command{Use: "van", Short: "Drivers' vans: loaded at a depot, emptied by restocks that name them"}
	van.AddCommand(newHQVanAddCmd(), newHQListCmd("list", "List the vans", func(ctx context.Context, hq *client.HQ, w *tabwriter.Writer) error {
		vs, err := hq.Vans(ctx)
		fmt.Fprintln(w, "VAN\tNAME\tDEPOT\tDRIVER")
		for _, v := range vs {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", v.VanID, v.Name, v.DepotID, v.Driver)
		}
		return err
	}))
	stock := newHQListCmd("stock [depot|van] [ID]", "Stock at depots and vans (the sum of their movements)", nil)
	stock.Args = cobra.MaximumNArgs(2)
	stock.RunE = listRunE(stock, func(ctx context.Context, hq *client.HQ, w *tabwriter.Writer, args []string) error {
		kind, id := "", ""
		if len(args) > 0 {
			kind = args[0]
		}
		if len(args) > 1 {
			id = args[1]
		}
		rows, err := hq.Stock(ctx, kind, id)
		fmt.Fprintln(w, "KIND\tLOCATION\tPRODUCT\tQUANTITY")
		for _, r := range rows {
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\n", r.LocationKind, r.LocationID, r.ProductID, r.Quantity)
		}
		return err
	})
	return []*cobra.Command{depot, van, newHQTransferCmd(), stock}
}

// newHQListCmd is a read-only command with the central flags that prints a
// table.
func newHQListCmd(use, short string, fn func(ctx context.Context, hq *client.HQ, w *tabwriter.Writer) error) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs}
	if fn != nil {
		cmd.RunE = listRunE(cmd, func(ctx context.Context, hq *client.HQ, w *tabwriter.Writer, _ []string) error { return fn(ctx, hq, w) })
	}
	return cmd
}

func listRunE(cmd *cobra.Command, fn func(ctx context.Context, hq *client.HQ, w *tabwriter.Writer, args []string) error) func(*cobra.Command, []string) error {
	var base, creds string
	addCentralFlags(cmd, &base, &creds)
	return func(cmd *cobra.Command, args []string) error {
		hq, err := hqClient(base, creds, caFlag(cmd))
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
		defer cancel()
		w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
		if err := fn(ctx, hq, w, args); err != nil {
			return err
		}
		return w.Flush()
	}
}

func newHQDepotAddCmd() *cobra.Command {
	var base, creds, name, city, address string
	cmd := &cobra.Command{
		Use:     "add ID --name NAME [--city CITY]",
		Short:   "Add a depot (WAREHOUSE or ADMIN credentials)",
		Example: `  vendsync hq depot add D1 --name "North depot" --city Berlin --credentials wh.json --ca ca.pem`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			hq, err := hqClient(base, creds, caFlag(cmd))
			if err != nil {
				return err
			}
			d, err := hq.CreateDepot(cmd.Context(), hqapi.NewDepot{DepotID: args[0], Name: name, City: city, Address: address})
			if err != nil {
				return fmt.Errorf("add depot: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "depot %s (%s) added\n", d.DepotID, d.Name)
			return nil
		},
	}
	addCentralFlags(cmd, &base, &creds)
	cmd.Flags().StringVar(&name, "name", "", "the depot's name")
	cmd.Flags().StringVar(&city, "city", "", "the depot's city")
	cmd.Flags().StringVar(&address, "address", "", "the depot's address")
	return cmd
}

func newHQVanAddCmd() *cobra.Command {
	var base, creds, name, depot, driver string
	cmd := &cobra.Command{
		Use:     "add ID --depot DEPOT --name NAME [--driver NAME]",
		Short:   "Add a van based at a depot (WAREHOUSE or ADMIN credentials)",
		Example: `  vendsync hq van add VAN1 --depot D1 --name "Van 1" --driver asha --credentials wh.json --ca ca.pem`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			hq, err := hqClient(base, creds, caFlag(cmd))
			if err != nil {
				return err
			}
			v, err := hq.CreateVan(cmd.Context(), hqapi.NewVan{VanID: args[0], Name: name, DepotID: depot, Driver: driver})
			if err != nil {
				return fmt.Errorf("add van: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "van %s (%s) added at depot %s\n", v.VanID, v.Name, v.DepotID)
			return nil
		},
	}
	addCentralFlags(cmd, &base, &creds)
	cmd.Flags().StringVar(&name, "name", "", "the van's name")
	cmd.Flags().StringVar(&depot, "depot", "", "the depot the van is loaded at")
	cmd.Flags().StringVar(&driver, "driver", "", "the driver who drives it")
	return cmd
}

// parseLocation reads KIND:ID (depot:D1, van:VAN1).
func parseLocation(flag, s string) (hqapi.StockLocation, error) {
	k, id, ok := strings.Cut(s, ":")
	if !ok || id == "" || (k != "depot" && k != "van") {
		return hqapi.StockLocation{}, fmt.Errorf("--%s %q: want depot:ID or van:ID", flag, s)
	}
	return hqapi.StockLocation{Kind: k, ID: id}, nil
}

// parseTransferLine reads PRODUCT=PICKED or PRODUCT=PICKED/PLANNED.
func parseTransferLine(s string) (hqapi.TransferLineIn, error) {
	p, q, ok := strings.Cut(s, "=")
	if !ok || p == "" {
		return hqapi.TransferLineIn{}, fmt.Errorf("--line %q: want PRODUCT=PICKED or PRODUCT=PICKED/PLANNED", s)
	}
	picked, planned, hasPlan := strings.Cut(q, "/")
	n, err := strconv.ParseInt(picked, 10, 64)
	if err != nil {
		return hqapi.TransferLineIn{}, fmt.Errorf("--line %q: picked %q is not a whole number", s, picked)
	}
	l := hqapi.TransferLineIn{ProductID: p, Picked: n}
	if hasPlan {
		pl, err := strconv.ParseInt(planned, 10, 64)
		if err != nil {
			return hqapi.TransferLineIn{}, fmt.Errorf("--line %q: planned %q is not a whole number", s, planned)
		}
		l.Planned = &pl
	}
	return l, nil
}

func newHQTransferCmd() *cobra.Command {
	var base, creds, id, from, to, reason string
	var lines []string
	cmd := &cobra.Command{
		Use:   "transfer --id ID --from depot:D1 --to van:VAN1 --line PRODUCT=PICKED[/PLANNED] …",
		Short: "Record a transfer: a van's load from its depot, or a van's return to it",
		Long: `Record a transfer between central's locations: a driver's load from the
depot into the van (from the pick list: give what was planned after a slash
and the shortfall is recorded), a van's return to the depot, or a move
between depots. The van's units reach a machine when the driver's restock
names the van (the driver app sends it); central then deducts the van.

--id is the transfer's idempotency key: running the same command again
records nothing twice.`,
		Example: `  vendsync hq transfer --id load-2026-12-01-asha --from depot:D1 --to van:VAN1 \
      --line COLA=24/24 --line CHIPS=10/12 --credentials asha-hq.json --ca ca.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if id == "" {
				return fmt.Errorf("--id is required (the transfer's idempotency key)")
			}
			f, err := parseLocation("from", from)
			if err != nil {
				return err
			}
			tt, err := parseLocation("to", to)
			if err != nil {
				return err
			}
			in := hqapi.TransferIn{TransferID: id, From: f, To: tt, Reason: reason}
			for _, s := range lines {
				l, err := parseTransferLine(s)
				if err != nil {
					return err
				}
				in.Lines = append(in.Lines, l)
			}
			if len(in.Lines) == 0 {
				return fmt.Errorf("--line is required: PRODUCT=PICKED[/PLANNED], once per product")
			}
			hq, err := hqClient(base, creds, caFlag(cmd))
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			t, err := hq.Transfer(ctx, in)
			if err != nil {
				return fmt.Errorf("transfer: %w", err)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			state := "recorded"
			if t.Replayed {
				state = "already recorded"
			}
			fmt.Fprintf(w, "%s %s %s: %s:%s -> %s:%s\n", t.Kind, t.TransferID, state, t.From.Kind, t.From.ID, t.To.Kind, t.To.ID)
			fmt.Fprintln(w, "PRODUCT\tPLANNED\tPICKED\tSHORT")
			for _, l := range t.Lines {
				fmt.Fprintf(w, "%s\t%d\t%d\t%d\n", l.ProductID, l.Planned, l.Picked, l.Shortfall)
			}
			return w.Flush()
		},
	}
	addCentralFlags(cmd, &base, &creds)
	cmd.Flags().StringVar(&id, "id", "", "the transfer's id (idempotency key)")
	cmd.Flags().StringVar(&from, "from", "", "where the units leave: depot:ID or van:ID")
	cmd.Flags().StringVar(&to, "to", "", "where they go: depot:ID or van:ID")
	cmd.Flags().StringArrayVar(&lines, "line", nil, "PRODUCT=PICKED or PRODUCT=PICKED/PLANNED (repeat per product)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (optional)")
	return cmd
}
