package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vendsync/vendsync/internal/hqapi"
)

// newReportStockCmds are `vendsync report valuation|margin|shrink`.
func newReportStockCmds() []*cobra.Command {
	return []*cobra.Command{newReportValuationCmd(), newReportMarginCmd(), newReportShrinkCmd()}
}

func newReportValuationCmd() *cobra.Command {
	var q queryFlags
	var in hqapi.StockReportQuery
	cmd := &cobra.Command{
		Use:   "valuation",
		Short: "Inventory value per location (depots, vans, machines) and fleet-wide, FIFO by lot cost or weighted average",
		Example: `  vendsync report valuation --credentials hq.json
  vendsync report valuation --credentials hq.json --method average --format csv > value.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := q.client(cmd)
			if err != nil {
				return err
			}
			rep, err := c.ValuationReport(cmd.Context(), in)
			if err != nil {
				return err
			}
			return q.render(cmd, rep, func(t *table) {
				t.cols = []string{"kind", "location", "site", "city", "product", "quantity", "value", "at_lot_cost", "at_standard_cost", "unvalued"}
				for _, r := range rep.Rows {
					t.add(r.LocationKind, r.LocationID, r.SiteID, r.City, r.ProductID, fmt.Sprint(r.Quantity), r.Value.String(),
						fmt.Sprint(r.LotQuantity), fmt.Sprint(r.StandardQuantity), fmt.Sprint(r.UnvaluedQuantity))
				}
				t.add("fleet", "*", "", "", "", fmt.Sprint(rep.Total.Quantity), rep.Total.Value.String(), "", "", "")
				t.footer = fmt.Sprintf("method %s: %s", rep.Method, rep.Note)
			})
		},
	}
	q.add(cmd)
	cmd.Flags().StringVar(&in.Method, "method", "fifo", "fifo (lot costs, newest lots remain) or average (weighted average cost)")
	return cmd
}

func newReportMarginCmd() *cobra.Command {
	var q queryFlags
	var in hqapi.StockReportQuery
	cmd := &cobra.Command{
		Use:   "margin",
		Short: "Revenue, cost of goods sold and gross margin per product, site, city, day or month",
		Example: `  vendsync report margin --credentials hq.json --by city --from 2025-01-01 --to 2025-02-01
  vendsync report margin --credentials hq.json --by month --format csv > margin.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := q.client(cmd)
			if err != nil {
				return err
			}
			rep, err := c.MarginReport(cmd.Context(), in)
			if err != nil {
				return err
			}
			return q.render(cmd, rep, func(t *table) {
				t.cols = []string{rep.GroupBy, "quantity", "revenue", "cogs", "gross_margin", "margin_%", "uncosted_qty"}
				for _, r := range append(rep.Rows, rep.Totals) {
					t.add(r.Key, fmt.Sprint(r.Quantity), r.Revenue.String(), r.COGS.String(), r.GrossMargin.String(),
						fmt.Sprintf("%.2f", r.MarginPercent), fmt.Sprint(r.UncostedQuantity))
				}
				t.footer = "cost basis " + rep.CostBasis + ": " + rep.Note
			})
		},
	}
	q.add(cmd)
	cmd.Flags().StringVar(&in.GroupBy, "by", "product", "product, site, city, day or month")
	cmd.Flags().StringVar(&in.From, "from", "", "start (a date or RFC 3339, UTC)")
	cmd.Flags().StringVar(&in.To, "to", "", "end, exclusive")
	cmd.Flags().StringVar(&in.SiteID, "site", "", "only this site")
	return cmd
}

func newReportShrinkCmd() *cobra.Command {
	var q queryFlags
	var in hqapi.StockReportQuery
	cmd := &cobra.Command{
		Use:   "shrink",
		Short: "Stock lost to spoilage, damage and count differences per site, route, machine or product",
		Example: `  vendsync report shrink --credentials hq.json --by route --from 2025-01-01
  vendsync report shrink --credentials hq.json --format csv > shrink.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := q.client(cmd)
			if err != nil {
				return err
			}
			rep, err := c.ShrinkReport(cmd.Context(), in)
			if err != nil {
				return err
			}
			return q.render(cmd, rep, func(t *table) {
				t.cols = []string{rep.GroupBy, "spoilage", "spoilage_value", "damage", "damage_value", "count_loss", "count_loss_value", "total", "total_value"}
				for _, r := range append(rep.Rows, rep.Totals) {
					t.add(r.Key, fmt.Sprint(r.Spoilage), r.SpoilageValue.String(), fmt.Sprint(r.Damage), r.DamageValue.String(),
						fmt.Sprint(r.CountLoss), r.CountLossValue.String(), fmt.Sprint(r.Total), r.TotalValue.String())
				}
				t.footer = rep.Note
			})
		},
	}
	q.add(cmd)
	cmd.Flags().StringVar(&in.GroupBy, "by", "site", "site, route, machine or product")
	cmd.Flags().StringVar(&in.From, "from", "", "start (a date or RFC 3339, UTC)")
	cmd.Flags().StringVar(&in.To, "to", "", "end, exclusive")
	return cmd
}
