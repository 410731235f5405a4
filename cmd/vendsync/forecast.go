package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/vendsync/vendsync/internal/hqapi"
)

// newReportDemandForecastCmd is `vendsync report demand-forecast`.
func newReportDemandForecastCmd() *cobra.Command {
	var q queryFlags
	var f hqapi.DemandForecastQuery
	cmd := &cobra.Command{
		Use:   "demand-forecast",
		Short: "Expected sales per machine × product per day, and days of stock left",
		Long: `The demand forecast central keeps per machine × product: expected sales
per day (next 7 days), the trend, days of stock left at that rate, and how
many hours of its history the slot was empty (sales there are not taken as
demand). --hours adds the 168 hour-of-week figures (JSON).`,
		Example: `  vendsync report demand-forecast --credentials hq.json --site blr-1
  vendsync report demand-forecast --credentials hq.json --machine VM_1 --product P1 --hours --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := q.client(cmd)
			if err != nil {
				return err
			}
			rep, err := c.DemandForecast(cmd.Context(), f)
			if err != nil {
				return err
			}
			return q.render(cmd, rep, func(t *table) {
				t.cols = []string{"site", "machine", "product", "name", "city", "stock", "per_day", "next_7_days", "days_of_stock", "trend_per_day", "history_days", "censored_hours"}
				for _, r := range rep.Rows {
					days := "-"
					if r.DaysOfStock != nil {
						days = strconv.FormatFloat(*r.DaysOfStock, 'f', 1, 64)
					}
					t.add(r.SiteID, r.MachineID, r.ProductID, r.Name, r.City, fmt.Sprint(r.Stock), fmt.Sprintf("%.2f", r.PerDay),
						fmt.Sprintf("%.1f", r.Next7Days), days, fmt.Sprintf("%+.2f", r.Trend), fmt.Sprint(r.HistoryDays), fmt.Sprint(r.CensoredHours))
				}
				t.footer = rep.Method
			})
		},
	}
	q.add(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.SiteID, "site", "", "only this site")
	fl.StringVar(&f.MachineID, "machine", "", "only this machine")
	fl.StringVar(&f.ProductID, "product", "", "only this product")
	fl.StringVar(&f.City, "city", "", "only machines in this city")
	fl.BoolVar(&f.Hours, "hours", false, "include the expected sales per hour of the week (JSON)")
	return cmd
}
