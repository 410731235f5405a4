package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/vendsync/vendsync/internal/provision"
)

// TestLoadSettings_Precedence: flag > VENDSYNC_* env > config file > default,
// for every kind of value, through the real loadSettings.
func TestLoadSettings_Precedence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, provision.ConfigFile)
	if err := os.WriteFile(path, []byte(`
http: file-http
nats-listen: file-nats
hub: [nats-leaf://a:1, nats-leaf://b:2]
leaf-seed: leaf.seed
temp-max: 9.5
`), 0o600); err != nil {
		t.Fatal(err)
	}
	type got struct {
		http, nats, seed, dflt string
		hub                    []string
		temp                   float64
	}
	run := func(t *testing.T, env map[string]string, args ...string) got {
		t.Helper()
		for k, v := range env {
			t.Setenv(k, v)
		}
		var g got
		cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
		f := cmd.Flags()
		f.StringVar(&g.http, "http", "default-http", "")
		f.StringVar(&g.nats, "nats-listen", "default-nats", "")
		f.StringVar(&g.seed, "leaf-seed", "", "")
		f.StringVar(&g.dflt, "untouched", "default-untouched", "")
		f.StringSliceVar(&g.hub, "hub", nil, "")
		f.Float64Var(&g.temp, "temp-max", 8, "")
		withConfigFile(cmd)
		cmd.SetArgs(append([]string{"--config", path}, args...))
		if err := cmd.Execute(); err != nil {
			t.Fatalf("execute: %v", err)
		}
		return g
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want got
	}{
		{name: "file over defaults", want: got{http: "file-http", nats: "file-nats", seed: filepath.Join(dir, "leaf.seed"), dflt: "default-untouched", hub: []string{"nats-leaf://a:1", "nats-leaf://b:2"}, temp: 9.5}},
		{name: "env over file", env: map[string]string{"VENDSYNC_HTTP": "env-http", "VENDSYNC_HUB": "nats-leaf://env:3"},
			want: got{http: "env-http", nats: "file-nats", seed: filepath.Join(dir, "leaf.seed"), dflt: "default-untouched", hub: []string{"nats-leaf://env:3"}, temp: 9.5}},
		{name: "flag over env and file", env: map[string]string{"VENDSYNC_HTTP": "env-http", "VENDSYNC_TEMP_MAX": "7"}, args: []string{"--http", "flag-http", "--leaf-seed", "/abs/seed"},
			want: got{http: "flag-http", nats: "file-nats", seed: "/abs/seed", dflt: "default-untouched", hub: []string{"nats-leaf://a:1", "nats-leaf://b:2"}, temp: 7}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := run(t, tc.env, tc.args...)
			if g.http != tc.want.http || g.nats != tc.want.nats || g.seed != tc.want.seed || g.dflt != tc.want.dflt || g.temp != tc.want.temp ||
				strings.Join(g.hub, ",") != strings.Join(tc.want.hub, ",") {
				t.Fatalf("got %+v, want %+v", g, tc.want)
			}
		})
	}
}

func TestLoadSettings_BadFile(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{name: "unknown key", yaml: "htp: x\n", want: `unknown setting "htp"`},
		{name: "bad value", yaml: "temp-max: hot\n", want: "temp-max"},
		{name: "nested", yaml: "http: {a: 1}\n", want: "nested maps"},
		{name: "not yaml", yaml: "http: [\n", want: "yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(path, []byte(tc.yaml), 0o600)
			cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
			cmd.Flags().String("http", "", "")
			cmd.Flags().Float64("temp-max", 0, "")
			withConfigFile(cmd)
			cmd.SetArgs([]string{"--config", path})
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.Execute()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}
