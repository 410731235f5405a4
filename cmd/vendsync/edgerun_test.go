package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// A --dir with no site in it (a typo, or a site not made yet) is named as
// such, not as a missing certificate, and nothing is created there.
func TestEdgeRun_DirWithoutASite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "typo")
	for _, extra := range [][]string{nil, {"--insecure-http"}} {
		args := append([]string{"edge", "run", "--dir", dir, "--http", "127.0.0.1:0"}, extra...)
		out, err := runErr(t, args...)
		if err == nil || !strings.Contains(out, "site is not initialized: no site.db in "+dir) || strings.Contains(out, "TLS") {
			t.Errorf("%v: err %v, output %q; want the missing site named", extra, err, out)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%v: %s was created (%v)", extra, dir, err)
		}
	}
}

// A bad --order-currency is refused before a central node starts, naming
// the flag (and nothing is created in --dir).
func TestCentralRun_OrderCurrencyChecked(t *testing.T) {
	for _, v := range []string{"usd", "US", "EURO", "U5D", ""} {
		dir := filepath.Join(t.TempDir(), "hq")
		out, err := runErr(t, "central", "run", "--dir", dir, "--order-currency", v)
		if err == nil || !strings.Contains(out, fmt.Sprintf("--order-currency %q: want an ISO 4217 code", v)) {
			t.Errorf("--order-currency %q: err %v, output %q; want a refusal naming the flag", v, err, out)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("--order-currency %q: %s was created (%v)", v, dir, err)
		}
	}
}
