package main

import (
	"strings"
	"testing"
)

// A bad --gc-floor-mib is refused before the site is opened, naming the flag.
func TestEdgeRun_GCFloorOutOfRange(t *testing.T) {
	for _, v := range []string{"-1", "2000000"} {
		out, err := runErr(t, "edge", "run", "--dir", t.TempDir(), "--gc-floor-mib", v)
		if err == nil || !strings.Contains(out, "--gc-floor-mib "+v+": must be 0") {
			t.Errorf("--gc-floor-mib %s: err %v, output %q; want a refusal naming the flag", v, err, out)
		}
	}
}
