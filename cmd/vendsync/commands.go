//go:build !site

package main

import "github.com/spf13/cobra"

// rootLong is the full build's top-level help.
const rootLong = `vendsync runs every role of the platform from one binary:

  edge       a site appliance: SQLite store, HTTP API for machines, alerts,
             an embedded NATS leaf node that syncs with central
  central    a hub node: JetStream cluster member, aggregator, HQ API
  provision  installers: register sites and machines, write their config
  query      HQ: sales, top products, faults, alerts, sync state
  report     HQ: daily and monthly reports, streamed exports
  driver     the restock driver's terminal app
  simulate   realistic machine traffic against an edge
  demo       a whole fleet on this machine (what make demo runs)

Every flag can also be set from the environment as VENDSYNC_<FLAG>, e.g.
VENDSYNC_HTTP=0.0.0.0:8080 for --http, and "edge run" and "central run" read
a YAML --config file whose keys are the flag names. Precedence: flags, then
the environment, then the file, then defaults.`

// addCommands registers every role's commands: this is the full build
// (central nodes, HQ, installers, drivers). The site build (-tags site,
// bin/vendsync-site) registers a site's commands only.
func addCommands(root *cobra.Command, logs *logOptions) {
	root.AddCommand(newVersionCmd(), newEdgeCmd(logs), newCentralCmd(logs), newSimulateCmd(logs), newDemoCmd(logs), newProvisionCmd(), newQueryCmd(), newReportCmd(), newDriverCmd(logs), newHQCmd())
	root.AddCommand(newDoctorCmd(), newDEXCmd())
}
