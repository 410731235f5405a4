package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vendsync/vendsync/internal/provision"
	"github.com/vendsync/vendsync/internal/service"
)

// newInstallCmd is `vendsync edge install` or `vendsync central install`:
// write a hardened systemd unit for role and prepare its user and data
// directory.
func newInstallCmd(role service.Role) *cobra.Command {
	var (
		dir, config, unitDir, binary, usr string
		dryRun, createUser, privileged    bool
	)
	what, example := "this site", `  vendsync edge install --dir /var/lib/vendsync/site --create-user
  vendsync edge install --dir /var/lib/vendsync/site --dry-run`
	if role == service.RoleCentral {
		what, example = "this central node", `  vendsync central install --dir /var/lib/vendsync/central --create-user
  vendsync central install --dir /var/lib/vendsync/central --config /etc/vendsync/central.yaml --dry-run`
	}
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install " + what + " as a systemd service",
		Long: fmt.Sprintf(`Write a systemd unit (%s) that runs %s under its own user,
restarted on failure, with the rest of the system read-only to it
(ProtectSystem=strict, ReadWritePaths=DIR, NoNewPrivileges, PrivateTmp,
ProtectHome, no capabilities unless --privileged-ports). DIR is given to the
service user and set to 0700. With --dry-run the unit is only printed.

Then: systemctl daemon-reload && systemctl enable --now %s`, service.Unit{Role: role}.Name(), what, service.Unit{Role: role}.Name()),
		Example: example,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return errors.New("--dir is required")
			}
			abs, err := filepath.Abs(dir)
			if err != nil {
				return fmt.Errorf("--dir: %w", err)
			}
			if binary == "" {
				if binary, err = os.Executable(); err != nil {
					return fmt.Errorf("find this binary (give --binary): %w", err)
				}
			}
			if binary, err = filepath.Abs(binary); err != nil {
				return fmt.Errorf("--binary: %w", err)
			}
			if config == "" && role == service.RoleEdge {
				config = filepath.Join(abs, provision.ConfigFile)
			}
			if config != "" {
				if config, err = filepath.Abs(config); err != nil {
					return fmt.Errorf("--config: %w", err)
				}
			}
			u := service.Unit{Role: role, Binary: binary, DataDir: abs, Config: config, User: usr, PrivilegedPorts: privileged}
			text, err := u.Render()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if dryRun {
				_, err := out.Write(text)
				return err
			}
			if role == service.RoleEdge {
				if _, err := os.Stat(config); err != nil {
					return fmt.Errorf("--config: %w (provision the site first: vendsync provision site … --out %s)", err, abs)
				}
			}
			if createUser {
				created, err := service.CreateUser(usr, abs)
				if err != nil {
					return err
				}
				if created {
					fmt.Fprintf(out, "created system user %s\n", usr)
				}
			}
			if err := service.PrepareDataDir(abs, usr); err != nil {
				return err
			}
			path, err := u.Write(unitDir)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "wrote %s (data %s, owned by %s, 0700)\nstart it: systemctl daemon-reload && systemctl enable --now %s\n", path, abs, usr, u.Name())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "the data directory (a provisioned site's --out, or the central node's --dir)")
	f.StringVar(&config, "config", "", "the config file run reads (edge default: DIR/"+provision.ConfigFile+"; central: none)")
	f.StringVar(&unitDir, "unit-dir", service.DefaultUnitDir, "where to write the unit")
	f.StringVar(&binary, "binary", "", "the vendsync binary the unit runs (default: this one)")
	f.StringVar(&usr, "user", service.DefaultUser, "the user the service runs as")
	f.BoolVar(&createUser, "create-user", false, "create the user with useradd --system if it does not exist")
	f.BoolVar(&privileged, "privileged-ports", false, "allow binding ports below 1024 (CAP_NET_BIND_SERVICE)")
	f.BoolVar(&dryRun, "dry-run", false, "print the unit; change nothing")
	return cmd
}
