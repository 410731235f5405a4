//go:build !linux

package readmodel

import "time"

// threadCPU is unknown here: BenchmarkQuery reports 0 CPU per query.
func threadCPU() time.Duration { return 0 }
