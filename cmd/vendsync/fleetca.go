package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/vendsync/vendsync/internal/secfile"
	"github.com/vendsync/vendsync/internal/tlsca"
)

func newCentralFleetCACmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "fleet-ca",
		Short: "Make the fleet CA before a central cluster's first start",
		Long: `Make a new fleet certificate authority (certificate and private key, PEM)
and write it to --out (0600). A central cluster's routes are TLS with mutual
authentication, so its nodes need certificates from the fleet CA before the
cluster forms: give every node this same file with 'central run --fleet-ca'
on its first start. The fleet keeps the CA in its shared bucket from then on;
keep the file as safe as the nodes' data directories, or delete it once every
node has started. A single node needs none (it makes its CA itself).`,
		Example: `  vendsync central fleet-ca --out fleet-ca.pem`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("--out is required: the file the fleet CA is written to")
			}
			if _, err := os.Stat(out); err == nil {
				return fmt.Errorf("--out %s: exists; a fleet has one CA (remove the file to make another)", out)
			}
			ca, err := tlsca.New("vendsync fleet CA", time.Now())
			if err != nil {
				return err
			}
			b, err := ca.Marshal()
			if err != nil {
				return err
			}
			if err := secfile.Write(out, b); err != nil {
				return fmt.Errorf("--out: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "fleet CA written to %s (certificate and key, 0600): start every central node of a new cluster with --fleet-ca %s\n", out, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write the fleet CA to (0600)")
	return cmd
}
