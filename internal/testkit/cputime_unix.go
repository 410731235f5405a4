//go:build unix

package testkit

import (
	"syscall"
	"time"
)

// CPUTime is the process's user+system CPU time so far: benchmarks on a
// shared machine report work per CPU-second beside wall-clock rates.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
