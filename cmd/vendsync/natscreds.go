//go:build !site

package main

import (
	"fmt"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/vendsync/vendsync/central/api"
	"github.com/vendsync/vendsync/internal/natsusers"
	"github.com/vendsync/vendsync/internal/secfile"
)

func newCentralNATSCredsCmd() *cobra.Command {
	var base, creds, role, name, out, revoke string
	var list bool
	cmd := &cobra.Command{
		Use:   "nats-creds",
		Short: "Issue, list or revoke credentials for the standard nats CLI on central's NATS port",
		Long: `Issue an NKEY user for the standard nats CLI (github.com/nats-io/natscli)
against central's NATS client port (central run --nats-listen), through the
HQ API with ADMIN credentials, so it works against a remote central. The NKEY
seed is written (0600) to --out and kept nowhere at central; the nats CLI
takes it with --nkey FILE. Every central node admits the user; --revoke KEY
disconnects it everywhere and refuses it from then on.

Roles:
  read-only  JetStream account info; stream and consumer info and lists;
             messages and KV values (direct and message gets) and the
             consumers the CLI makes to list keys and view messages, of the
             FLEET stream and the CONFIG and SITE_REGISTRY buckets.
  ops        read-only, and managing consumers: durable consumers, deleting
             and pausing consumers, acknowledging messages.
Neither may create, change, purge or delete a stream, delete a message, put
or delete a KV value, publish a fleet subject, or read the HQ_AUTH bucket
(the token signing key and the fleet CA's key).`,
		Example: `  vendsync central nats-creds --central https://hq.example:9080 --ca ca.pem \
      --credentials hq-admin.json --role read-only --name alice --out alice.nk
  nats --server tls://hq.example:4222 --tlsca ca.pem --nkey alice.nk stream info FLEET
  vendsync central nats-creds --credentials hq-admin.json --list
  vendsync central nats-creds --credentials hq-admin.json --revoke UABC...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := hqClient(base, creds, caFlag(cmd))
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			switch {
			case list:
				var ans struct {
					Users []natsusers.User `json:"users"`
				}
				if err := c.Do(cmd.Context(), "GET", "/nats/users", nil, &ans); err != nil {
					return err
				}
				return printNATSUsers(w, ans.Users)
			case revoke != "":
				if err := c.Do(cmd.Context(), "DELETE", "/nats/users/"+url.PathEscape(revoke), nil, nil); err != nil {
					return err
				}
				fmt.Fprintf(w, "nats user %s revoked: every central node disconnects and refuses it\n", revoke)
				return nil
			}
			if out == "" {
				return fmt.Errorf("--out is required: the file the NKEY seed is written to")
			}
			if _, err := natsusers.ParseRole(role); err != nil {
				return fmt.Errorf("--role: %w", err)
			}
			var ans api.NATSUserCreated
			if err := c.Do(cmd.Context(), "POST", "/nats/users", map[string]string{"role": role, "name": name}, &ans); err != nil {
				return err
			}
			if err := secfile.Write(out, []byte(ans.Seed+"\n")); err != nil {
				return fmt.Errorf("--out: %w", err)
			}
			fmt.Fprintf(w, "nats user %s (%s) issued; its NKEY seed is in %s (0600). Use it with:\n  nats --server tls://CENTRAL:NATS_PORT --tlsca ca.pem --nkey %s stream info FLEET\n",
				ans.PublicKey, ans.Role, out, out)
			return nil
		},
	}
	addCentralFlags(cmd, &base, &creds)
	f := cmd.Flags()
	addNATSUserFlags(f, &role, &name, &out, &revoke, &list)
	return cmd
}
