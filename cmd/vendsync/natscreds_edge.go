package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/vendsync/vendsync/internal/natsusers"
	"github.com/vendsync/vendsync/internal/secfile"
	"github.com/vendsync/vendsync/internal/tlsca"
)

func newEdgeNATSCredsCmd() *cobra.Command {
	var dir, role, name, out, revoke string
	var list bool
	cmd := &cobra.Command{
		Use:   "nats-creds",
		Short: "Issue, list or revoke credentials for the standard nats CLI on the site's NATS port",
		Long: `Issue an NKEY user for the standard nats CLI against the site's NATS port
(edge run --nats-listen), recorded in DIR/` + natsusers.SiteFile + ` (public keys and
roles only). The seed is written (0600) to --out and kept nowhere else; the
nats CLI takes it with --nkey FILE. A running edge rereads the file: a new
user works at once, a revoked one is disconnected within seconds. The port
serves TLS with the site's API certificate: pin DIR/tls/ca.pem with --tlsca.

Roles are central's (see 'vendsync central nats-creds --help'), over every
stream of the site's own JetStream domain.`,
		Example: `  vendsync edge nats-creds --dir ./site --role read-only --out ops.nk
  nats --server tls://127.0.0.1:4222 --tlsca ./site/tls/ca.pem --nkey ops.nk kv ls`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return fmt.Errorf("--dir is required: the site's data directory")
			}
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				return fmt.Errorf("--dir %s: not a site directory", dir)
			}
			path := filepath.Join(dir, natsusers.SiteFile)
			w := cmd.OutOrStdout()
			switch {
			case list:
				users, err := natsusers.ReadFile(path)
				if err != nil {
					return err
				}
				return printNATSUsers(w, users)
			case revoke != "":
				if _, err := natsusers.RevokeInFile(path, revoke, time.Now()); err != nil {
					return err
				}
				fmt.Fprintf(w, "nats user %s revoked: the running edge disconnects and refuses it\n", revoke)
				return nil
			}
			if out == "" {
				return fmt.Errorf("--out is required: the file the NKEY seed is written to")
			}
			r, err := natsusers.ParseRole(role)
			if err != nil {
				return fmt.Errorf("--role: %w", err)
			}
			seed, u, err := natsusers.AddToFile(path, r, name, time.Now())
			if err != nil {
				return err
			}
			if err := secfile.Write(out, []byte(seed+"\n")); err != nil {
				return fmt.Errorf("--out: %w", err)
			}
			fmt.Fprintf(w, "nats user %s (%s) issued; its NKEY seed is in %s (0600). Use it with:\n  nats --server tls://SITE:NATS_PORT --tlsca %s --nkey %s kv ls\n",
				u.PublicKey, u.Role, out, filepath.Join(dir, tlsca.TLSDir, tlsca.CAFile), out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "the site's data directory")
	addNATSUserFlags(f, &role, &name, &out, &revoke, &list)
	return cmd
}

// addNATSUserFlags adds the flags the site's and central's nats-creds
// commands share.
func addNATSUserFlags(f *pflag.FlagSet, role, name, out, revoke *string, list *bool) {
	f.StringVar(role, "role", string(natsusers.RoleReadOnly), "ops or read-only")
	f.StringVar(name, "name", "", "who or what the credentials are for (shown by --list)")
	f.StringVar(out, "out", "", "file to write the NKEY seed to (0600), for nats --nkey")
	f.BoolVar(list, "list", false, "list the issued users instead")
	f.StringVar(revoke, "revoke", "", "revoke the user with this public key instead")
}

func printNATSUsers(w io.Writer, users []natsusers.User) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tROLE\tNAME\tCREATED\tREVOKED")
	for _, u := range users {
		rev := ""
		if u.RevokedAt != nil {
			rev = u.RevokedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.PublicKey, u.Role, u.Name, u.CreatedAt.Format(time.RFC3339), rev)
	}
	return tw.Flush()
}
