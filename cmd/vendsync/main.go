// Command vendsync is every vendsync role in one binary: the site edge,
// central, the simulator, provisioning, queries and the driver UI.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// logOptions are the root's logging flags.
type logOptions struct {
	level, format string
}

func (o *logOptions) logger() (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(o.level)
	if err != nil {
		return zerolog.Nop(), fmt.Errorf("--log-level %q: use debug, info, warn or error", o.level)
	}
	var out = zerolog.New(os.Stderr)
	switch o.format {
	case "json":
	case "console":
		out = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: "15:04:05"})
	case "auto", "":
		if isatty.IsTerminal(os.Stderr.Fd()) {
			out = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: "15:04:05"})
		}
	default:
		return zerolog.Nop(), fmt.Errorf("--log-format %q: use auto, json or console", o.format)
	}
	return out.Level(lvl).With().Timestamp().Logger(), nil
}

func newRootCmd() *cobra.Command {
	logs := &logOptions{}
	root := &cobra.Command{
		Use:           "vendsync",
		Short:         "Edge-first sales, stock and alerts for vending machines and unattended retail",
		Long:          rootLong,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return bindEnv(cmd)
		},
	}
	root.PersistentFlags().StringVar(&logs.level, "log-level", "info", "log level: debug, info, warn, error")
	root.PersistentFlags().StringVar(&logs.format, "log-format", "auto", "log format: auto (console on a terminal, else JSON), json, console")
	root.PersistentFlags().String("ca", "", "CA certificate (PEM) that https:// URLs must chain to, instead of the system's roots: central's DIR/ca.pem, or a standalone site's DIR/tls/ca.pem")
	addCommands(root, logs)
	return root
}

// bindEnv fills every flag the user did not set from VENDSYNC_<FLAG> (upper
// case, dashes as underscores).
func bindEnv(cmd *cobra.Command) error {
	var err error
	set := func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		name := "VENDSYNC_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %w", name, v, e)
				return
			}
			f.Changed = true
		}
	}
	cmd.Flags().VisitAll(set)
	cmd.InheritedFlags().VisitAll(set)
	return err
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, args []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "vendsync", version)
		},
	}
}
