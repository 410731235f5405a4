package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vendsync/vendsync/internal/promo"
	"github.com/vendsync/vendsync/sync/wire"
)

// newHQPromotionCmd is `vendsync hq promotion add|list|deactivate`.
func newHQPromotionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "promotion",
		Short: "Promotions authored at HQ for the fleet, a city or a site, and their quotas",
		Long: `Promotions authored at HQ reach every site their scope covers through the
downlink, and each site prices its sales with them even while offline.
A site's operator can add the site's own promotions at the edge; HQ never
overwrites those.

A promotion with --quota N can be redeemed N times fleet-wide. Central leases
each site a share; a site redeems within its share with no link at all, and
unused shares flow back and are leased again to sites that ran out, so the
quota holds however long a site is offline.`,
	}
	cmd.AddCommand(newHQPromotionAddCmd(), newHQPromotionListCmd(), newHQPromotionDeactivateCmd())
	return cmd
}

func newHQPromotionAddCmd() *cobra.Command {
	var base, creds string
	var p promo.Promotion
	var scope, kind, stacking, amount, products, days, from, to, startDate, endDate string
	var inactive bool
	cmd := &cobra.Command{
		Use:   "add ID --name NAME --scope fleet|city|site [--city C | --site S] --percent P | --amount 0.50 …",
		Short: "Create a promotion and send it to the sites its scope covers",
		Long: `Create a promotion at central (ADMIN or OPS credentials).

Scope: fleet (every site), city (--city, sites in that city) or site (--site).
Kind: percent (--percent off each unit), amount (--amount off each unit),
combo (any --combo-size of --products: --percent or --amount off the combo)
or nth (every --nth purchase by the same loyalty id).
Limit it with --products (default: every product), --code (customers must
give it), a time window in the site's own timezone (--days MON,TUE,
--from 11:00 --to 14:00, --start-date/--end-date), and --quota N (N
redemptions fleet-wide, leased to the sites). --priority orders evaluation
(higher first); --stacking exclusive keeps other promotions off its lines.`,
		Example: `  # 20 % off cola in Pune at lunchtime on weekdays
  vendsync hq promotion add pune-lunch --name "Lunch cola" --scope city --city Pune \
      --percent 20 --products COLA --days MON,TUE,WED,THU,FRI --from 12:00 --to 14:00

  # a launch code good for 100 redemptions across the fleet
  vendsync hq promotion add launch --name "Launch" --scope fleet --percent 50 --code LAUNCH --quota 100`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p.ID = args[0]
			p.Scope = promo.Scope(strings.ToUpper(scope))
			p.Kind = promo.Kind(strings.ToUpper(kind))
			if p.Kind == "NTH" {
				p.Kind = promo.KindNthPurchase
			}
			p.Stacking = promo.Stacking(strings.ToUpper(stacking))
			p.Active = !inactive
			if amount != "" {
				m, err := wire.ParseMoney(amount)
				if err != nil {
					return fmt.Errorf("--amount %q: %w", amount, err)
				}
				p.AmountOff = m
				if p.Kind == promo.KindPercent && p.Percent == 0 {
					p.Kind = promo.KindAmount
				}
			}
			for _, s := range strings.Split(products, ",") {
				if s = strings.TrimSpace(s); s != "" {
					p.ProductIDs = append(p.ProductIDs, s)
				}
			}
			if days != "" || from != "" || to != "" || startDate != "" || endDate != "" {
				w := &promo.Window{From: from, To: to, StartDate: startDate, EndDate: endDate}
				for _, d := range strings.Split(days, ",") {
					if d = strings.ToUpper(strings.TrimSpace(d)); d != "" {
						w.Days = append(w.Days, d)
					}
				}
				p.Window = w
			}
			if err := p.Validate(); err != nil {
				return err
			}
			hq, err := hqClient(base, creds, caFlag(cmd))
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			out, err := hq.AddPromotion(ctx, p)
			if err != nil {
				return fmt.Errorf("add promotion: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "promotion %s (version %d) created; central sends it to the sites its scope (%s) covers\n",
				out.ID, out.Version, out.Scope)
			return nil
		},
	}
	addCentralFlags(cmd, &base, &creds)
	f := cmd.Flags()
	f.StringVar(&p.Name, "name", "", "what customers and reports call it (required)")
	f.StringVar(&scope, "scope", "fleet", "fleet, city or site")
	f.StringVar(&p.City, "city", "", "the city of a city promotion")
	f.StringVar(&p.SiteID, "site", "", "the site of a site promotion")
	f.StringVar(&kind, "kind", "percent", "percent, amount, combo or nth")
	f.IntVar(&p.Percent, "percent", 0, "percent off (1-100)")
	f.StringVar(&amount, "amount", "", "amount off per unit (or per combo), e.g. 0.50")
	f.StringVar(&products, "products", "", "product ids it applies to, comma separated (default: all)")
	f.IntVar(&p.ComboSize, "combo-size", 0, "a combo's size (any N of --products)")
	f.BoolVar(&p.ComboDistinct, "combo-distinct", false, "a combo needs N different products")
	f.IntVar(&p.NthPurchase, "nth", 0, "every Nth purchase by the same customer (kind nth)")
	f.StringVar(&p.Code, "code", "", "a code the customer must give")
	f.StringVar(&days, "days", "", "days of the week, e.g. MON,TUE (site's timezone)")
	f.StringVar(&from, "from", "", "daily start, HH:MM (site's timezone)")
	f.StringVar(&to, "to", "", "daily end, HH:MM; before --from means across midnight")
	f.StringVar(&startDate, "start-date", "", "first day, YYYY-MM-DD")
	f.StringVar(&endDate, "end-date", "", "last day, YYYY-MM-DD")
	f.IntVar(&p.Priority, "priority", 0, "evaluation order, higher first")
	f.StringVar(&stacking, "stacking", "stackable", "stackable or exclusive")
	f.IntVar(&p.Quota, "quota", 0, "redemptions allowed fleet-wide (0: no limit); cannot change later")
	f.BoolVar(&inactive, "inactive", false, "create it inactive")
	return cmd
}

func newHQPromotionListCmd() *cobra.Command {
	var base, creds string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List HQ's promotions and where each quota stands",
		Long: `List the promotions authored at HQ. For a promotion with a quota, QUOTA
shows redeemed/total as central last heard, and LEASED how many units sites
hold unused: a site offline keeps selling within what it holds.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			hq, err := hqClient(base, creds, caFlag(cmd))
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			ps, err := hq.Promotions(ctx)
			if err != nil {
				return fmt.Errorf("list promotions: %w", err)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSCOPE\tKIND\tACTIVE\tVERSION\tQUOTA\tLEASED")
			for _, p := range ps {
				scope := string(p.Scope)
				switch p.Scope {
				case promo.ScopeCity:
					scope += " " + p.City
				case promo.ScopeSite:
					scope += " " + p.SiteID
				}
				quota, leased := "-", "-"
				if q := p.QuotaState; q != nil {
					quota = fmt.Sprintf("%d/%d", q.Redeemed, q.Total)
					leased = fmt.Sprint(q.Total - q.Redeemed - q.Unleased)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%d\t%s\t%s\n", p.ID, p.Name, scope, p.Kind, p.Active, p.Version, quota, leased)
			}
			return tw.Flush()
		},
	}
	addCentralFlags(cmd, &base, &creds)
	return cmd
}

func newHQPromotionDeactivateCmd() *cobra.Command {
	var base, creds string
	cmd := &cobra.Command{
		Use:   "deactivate ID",
		Short: "Stop a promotion everywhere (it stays listed)",
		Long: `Deactivate a promotion: central sends it to its sites inactive, and a
quota's unused leases are recalled.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			hq, err := hqClient(base, creds, caFlag(cmd))
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			p, err := hq.DeactivatePromotion(ctx, args[0])
			if err != nil {
				return fmt.Errorf("deactivate promotion: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "promotion %s deactivated (version %d)\n", p.ID, p.Version)
			return nil
		},
	}
	addCentralFlags(cmd, &base, &creds)
	return cmd
}
