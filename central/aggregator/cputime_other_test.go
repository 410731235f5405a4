//go:build !unix

package aggregator

import "time"

// cpuTime is unknown here: benchmarks skip their CPU metric.
func cpuTime() time.Duration { return 0 }
