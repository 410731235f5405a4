package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestCommands_FlagUsagesHaveNoBackquotes: pflag turns a `word` in a
// flag's usage into the placeholder of its value, so --help would show
// "--dir vendsync edge init". No command's flag has one.
func TestCommands_FlagUsagesHaveNoBackquotes(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		check := func(f *pflag.Flag) {
			if strings.Contains(f.Usage, "`") {
				t.Errorf("%s --%s: usage %q has a backquote", c.CommandPath(), f.Name, f.Usage)
			}
		}
		c.LocalFlags().VisitAll(check)
		c.PersistentFlags().VisitAll(check)
	}
	walk(newRootCmd())
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
