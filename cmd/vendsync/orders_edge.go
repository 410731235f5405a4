package main

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/vendsync/vendsync/edge"
)

// addEdgeOrderFlags adds the site's pre-order settings to `edge run`.
func addEdgeOrderFlags(f *pflag.FlagSet, cfg *edge.Config) {
	f.BoolVar(&cfg.OrderManualAccept, "order-manual-accept", false, "every pre-order waits for the operator's accept (no auto-accept)")
	f.DurationVar(&cfg.OrderFreshCount, "order-fresh-count", time.Hour, "a pre-order is auto-accepted only if the counts of its products changed this recently")
	f.DurationVar(&cfg.OrderSubstituteWindow, "order-substitute-window", 15*time.Minute, "how long a customer has to answer a substitute offer before it counts as refused")
}
