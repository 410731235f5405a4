//go:build !site

package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/tui"
)

func newHQCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "hq", Short: "HQ administration: drivers and their routes, depots, vans, stock, transfers and promotions"}
	driver := &cobra.Command{Use: "driver", Short: "Restock drivers: one credential file for a whole day over many sites"}
	driver.AddCommand(newHQDriverAddCmd())
	cmd.AddCommand(driver)
	cmd.AddCommand(newHQInventoryCmds()...)
	cmd.AddCommand(newHQPromotionCmd())
	return cmd
}

func newHQDriverAddCmd() *cobra.Command {
	var base, creds, sites, out, van string
	var edges []string
	cmd := &cobra.Command{
		Use:   "add NAME --sites a,b,c --edge a=URL … --out FILE",
		Short: "Create a driver for a route of sites and write the one file the driver app reads",
		Long: `Create a restock driver at central (ADMIN credentials) and write the route
file ` + "`vendsync driver --route-file`" + ` reads: central's URL and CA, the
driver's HQ DRIVER credential (the route at central), and per site the edge's
URL and a DRIVER credential for that site's edge.

Central makes each site credential and sends only its secret's hash, over the
downlink, to that site alone: it works at that site and nowhere else, and
HQ's token key never leaves central. A site takes it when its leaf is
connected to central (the file is written at once; the edge accepts the
credential once it has synced). The file holds secrets: it is written 0600.

Each site's edge URL is given with --edge SITE=URL (repeat it) or inline
in --sites as SITE=URL. Coordinates for the route order come from central's
site registry.`,
		Example: `  vendsync hq driver add "Asha K" --sites blr-1,blr-2 \
      --edge blr-1=https://10.0.1.5:8080 --edge blr-2=https://10.0.2.5:8080 \
      --central https://hq:9080 --credentials admin-credentials.json --ca ca.pem --out asha-route.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("--out is required (the route file to write)")
			}
			urls := map[string]string{}
			var ids []string
			for _, s := range strings.Split(sites, ",") {
				s = strings.TrimSpace(s)
				if s == "" {
					continue
				}
				id, u, _ := strings.Cut(s, "=")
				ids = append(ids, id)
				if u != "" {
					urls[id] = u
				}
			}
			if len(ids) == 0 {
				return fmt.Errorf("--sites is required: the route's site ids, comma separated")
			}
			for _, e := range edges {
				id, u, ok := strings.Cut(e, "=")
				if !ok || u == "" {
					return fmt.Errorf("--edge %q: want SITE=URL", e)
				}
				urls[id] = u
			}
			for _, id := range ids {
				if urls[id] == "" {
					return fmt.Errorf("no edge URL for site %s: add --edge %s=https://host:port", id, id)
				}
			}
			ca := caFlag(cmd)
			var caPEM []byte
			if ca != "" {
				var err error
				if caPEM, err = os.ReadFile(ca); err != nil {
					return fmt.Errorf("--ca: %w", err)
				}
			}
			hq, err := hqClient(base, creds, ca)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			reg, err := hq.Registry(ctx)
			if err != nil {
				return fmt.Errorf("read the site registry: %w", err)
			}
			pos := map[string]hqapi.Site{}
			for _, s := range reg {
				pos[s.ID] = s
			}
			d, err := hq.AddDriver(ctx, hqapi.NewDriverRequest{Name: args[0], Sites: ids})
			if err != nil {
				return fmt.Errorf("add driver: %w", err)
			}
			rf := tui.RouteFile{Driver: d.Name, Central: base, CAPEM: string(caPEM), VanID: van}
			rf.HQ.ClientID, rf.HQ.ClientSecret = d.ClientID, d.ClientSecret
			for _, s := range d.Sites {
				rs := tui.RouteSite{SiteID: s.SiteID, EdgeURL: urls[s.SiteID], Lat: pos[s.SiteID].Lat, Lng: pos[s.SiteID].Lng}
				rs.Creds.ClientID, rs.Creds.ClientSecret = s.ClientID, s.ClientSecret
				rf.Sites = append(rf.Sites, rs)
			}
			if err := tui.WriteRouteFile(out, rf); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "driver %s (%s) created for %d site(s): %s\n", d.Name, d.ClientID, len(d.Sites), strings.Join(ids, ", "))
			fmt.Fprintf(w, "route file written to %s (0600; it holds the secrets, shown nowhere else)\n", out)
			fmt.Fprintf(w, "each site accepts its credential once its leaf has synced with central; then: vendsync driver --route-file %s\n", out)
			return nil
		},
	}
	addCentralFlags(cmd, &base, &creds)
	cmd.Flags().StringVar(&sites, "sites", "", "the route's site ids, comma separated (SITE or SITE=EDGE_URL)")
	cmd.Flags().StringArrayVar(&edges, "edge", nil, "a site's edge URL, SITE=https://host:port (repeat per site)")
	cmd.Flags().StringVar(&out, "out", "", "the route file to write (0600)")
	cmd.Flags().StringVar(&van, "van", "", "the driver's van (vendsync hq van add): restocks name it and central deducts it")
	return cmd
}
