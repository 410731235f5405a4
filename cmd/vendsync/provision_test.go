package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestSiteSpec_ValidateNamesTheBadFlag(t *testing.T) {
	good := siteSpec{central: "http://hq:9080", credentials: "hq.json", out: "d", site: "blr-1", city: "Bangalore",
		tz: "Asia/Kolkata", hubs: []string{"nats-leaf://hq:7422"}, http: "0.0.0.0:8080"}
	if err := good.validate(); err != nil {
		t.Fatalf("good spec: %v", err)
	}
	tests := []struct {
		name string
		mod  func(*siteSpec)
		want string
	}{
		{"no central", func(s *siteSpec) { s.central = "" }, "--central"},
		{"central not http", func(s *siteSpec) { s.central = "hq:9080" }, "--central"},
		{"no credentials", func(s *siteSpec) { s.credentials = "" }, "--credentials"},
		{"no out", func(s *siteSpec) { s.out = "" }, "--out"},
		{"no site", func(s *siteSpec) { s.site = "" }, "--site"},
		{"bad site", func(s *siteSpec) { s.site = "blr techpark" }, "--site"},
		{"no city", func(s *siteSpec) { s.city = "" }, "--city"},
		{"no timezone", func(s *siteSpec) { s.tz = "" }, "--timezone"},
		{"bad timezone", func(s *siteSpec) { s.tz = "Asia/Bangalore" }, "--timezone"},
		{"no hub", func(s *siteSpec) { s.hubs = nil }, "--hub"},
		{"hub not leaf", func(s *siteSpec) { s.hubs = []string{"http://hq:7422"} }, "--hub"},
		{"lat without lng", func(s *siteSpec) { s.hasLat = true }, "--lat and --lng"},
		{"lat out of range", func(s *siteSpec) { s.hasLat, s.hasLng, s.lat = true, true, 91 }, "--lat"},
		{"lng out of range", func(s *siteSpec) { s.hasLat, s.hasLng, s.lng = true, true, -181 }, "--lng"},
		{"bad http", func(s *siteSpec) { s.http = "8080" }, "--http"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			tc.mod(&s)
			err := s.validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %s", err, tc.want)
			}
		})
	}
}

// TestCommands_HelpHasExamples: every command this binary adds for
// installers and HQ shows an example in --help.
func TestCommands_HelpHasExamples(t *testing.T) {
	root := newRootCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c.Runnable() && c.Example == "" {
			t.Errorf("%q has no example", c.CommandPath())
		}
	}
	for _, name := range []string{"provision", "query", "report", "demo"} {
		c, _, err := root.Find([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		if c.Example == "" {
			t.Errorf("%q has no example", c.CommandPath())
		}
		walk(c)
	}
}

// TestE2E_CompletionAndVersion: the real binary prints shell completion
// for bash, zsh and fish, lists it in --help, and knows its version.
func TestE2E_CompletionAndVersion(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish"} {
		if out := run(t, "completion", sh); !strings.Contains(out, "vendsync") || len(out) < 500 {
			t.Fatalf("completion %s: %.200q", sh, out)
		}
	}
	if out := run(t, "--help"); !strings.Contains(out, "completion") {
		t.Fatalf("--help does not list completion:\n%s", out)
	}
	if out := run(t, "version"); !strings.HasPrefix(out, "vendsync ") {
		t.Fatalf("version: %q", out)
	}
}
