//go:build site

package main

import "github.com/spf13/cobra"

// rootLong is the site build's top-level help.
const rootLong = `vendsync-site is the site build of vendsync: what a site's own machine runs.

  edge       the site appliance: SQLite store, HTTP API for machines, alerts,
             an embedded NATS leaf node that syncs with central
  doctor     check this site and say what to fix
  dex        upload a machine's DEX audit to this site

Central, HQ queries and reports, provisioning, the driver's app, the
simulator and the demo are in the full vendsync binary.

Every flag can also be set from the environment as VENDSYNC_<FLAG>, e.g.
VENDSYNC_HTTP=0.0.0.0:8080 for --http, and "edge run" reads a YAML --config
file whose keys are the flag names. Precedence: flags, then the
environment, then the file, then defaults.`

// addCommands registers what a site's own machine runs: the edge, its
// doctor and the DEX upload. Central, HQ, the demo, the simulator and the
// driver's app are left out, and with them their code: the site build's
// binary is about two thirds of the full one and its resident memory
// about 10 MB smaller, which matters on a small site box.
func addCommands(root *cobra.Command, logs *logOptions) {
	root.AddCommand(newVersionCmd(), newEdgeCmd(logs), newDoctorCmd(), newDEXCmd())
}
