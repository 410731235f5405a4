package edge_test

import "os"

// mkdirTemp makes a directory that outlives one benchmark run (the 1M-sale
// site is shared by the sub-benchmarks and built once per process).
func mkdirTemp() (string, error) { return os.MkdirTemp("", "vendsync-bench-") }
