package main

import "github.com/spf13/cobra"

func newCentralNATSCredsCmd() *cobra.Command {
	return &cobra.Command{Use: "nats-creds", Hidden: true}
}
