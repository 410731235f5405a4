package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// pathKeys are config-file keys holding paths; relative ones are read
// relative to the file's own directory, so a site directory can move.
var pathKeys = []string{"dir", "leaf-seed", "tls-cert", "tls-key", "hub-ca", "backup-dir"}

// withConfigFile adds --config to a command whose flags can also come from
// a YAML file, and loads the settings before it runs.
func withConfigFile(cmd *cobra.Command) *cobra.Command {
	cmd.Flags().String("config", "", "YAML file of settings; keys are flag names (flags and VENDSYNC_* win over it)")
	cmd.PreRunE = loadSettings
	return cmd
}

// loadSettings fills cmd's flags from, in order of precedence: the command
// line, VENDSYNC_<FLAG> environment variables, the --config YAML file, and
// the defaults. Every source fills the same flags, which are bound to the
// role's Config struct, so the precedence is implemented here once. It is
// the PreRunE of commands with --config (the root's PersistentPreRunE has
// already applied the environment; bindEnv is idempotent).
func loadSettings(cmd *cobra.Command, _ []string) error {
	if err := bindEnv(cmd); err != nil {
		return err
	}
	f := cmd.Flags().Lookup("config")
	if f == nil || f.Value.String() == "" {
		return nil
	}
	return applyConfigFile(cmd.Flags(), f.Value.String())
}

// applyConfigFile sets every flag not already set (on the command line or
// from the environment) from the YAML file at path. Unknown keys are errors,
// so a typo does not silently fall back to a default.
func applyConfigFile(fs *pflag.FlagSet, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("--config %s: %w", path, err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	base := filepath.Dir(path)
	for _, k := range keys {
		f := fs.Lookup(k)
		if f == nil || k == "config" {
			return fmt.Errorf("--config %s: unknown setting %q (keys are the command's flag names; see --help)", path, k)
		}
		if f.Changed {
			continue
		}
		vals, err := yamlValues(m[k])
		if err != nil {
			return fmt.Errorf("--config %s: %s: %w", path, k, err)
		}
		if slices.Contains(pathKeys, k) {
			for i, v := range vals {
				if v != "" && !filepath.IsAbs(v) {
					vals[i] = filepath.Join(base, v)
				}
			}
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			err = sv.Replace(vals)
		} else if len(vals) != 1 {
			err = fmt.Errorf("want one value, got %d", len(vals))
		} else {
			err = f.Value.Set(vals[0])
		}
		if err != nil {
			return fmt.Errorf("--config %s: %s: %w", path, k, err)
		}
		f.Changed = true
	}
	return nil
}

// yamlValues turns a scalar or a list of scalars into flag strings.
func yamlValues(v any) ([]string, error) {
	switch v := v.(type) {
	case nil:
		return []string{""}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, err := yamlValues(e)
			if err != nil || len(s) != 1 {
				return nil, fmt.Errorf("lists may hold only plain values")
			}
			out = append(out, s[0])
		}
		return out, nil
	case map[string]any:
		return nil, fmt.Errorf("nested maps are not settings")
	case string:
		return []string{v}, nil
	default:
		return []string{fmt.Sprint(v)}, nil
	}
}
