//go:build !unix

package testkit

import "time"

// CPUTime is unknown here (0): benchmarks skip their CPU metric.
func CPUTime() time.Duration { return 0 }
