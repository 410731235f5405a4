package main

import (
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/backup"
	"github.com/vendsync/vendsync/edge/restore"
	"github.com/vendsync/vendsync/internal/provision"
	"github.com/vendsync/vendsync/internal/tlsca"
)

// restoreFlags are edge init's --restore-from-central and what it needs.
type restoreFlags struct {
	on                   bool
	central, credentials string
}

func (r *restoreFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&r.on, "restore-from-central", false, "rebuild the site's database from what central holds (a new box for a site whose box is gone); needs --central, --credentials and --site")
	f.StringVar(&r.central, "central", "", "with --restore-from-central: central's HQ API URL, https://host:port (pin its CA with --ca)")
	f.StringVar(&r.credentials, "credentials", "", "with --restore-from-central: HQ ADMIN credentials file")
}

// initFromCentral is `edge init --restore-from-central`: the site's
// database rebuilt from central's snapshot, and a certificate for its API
// as plain `edge init` makes one.
func initFromCentral(cmd *cobra.Command, dir, site string, r restoreFlags, tlsHosts []string) error {
	if site == "" {
		return fmt.Errorf("--site is required with --restore-from-central")
	}
	out := cmd.OutOrStdout()
	p := newProgress(out)
	res, err := provision.RestoreFromCentral(cmd.Context(), provision.Restore{Central: r.central, Credentials: r.credentials, CA: caFlag(cmd),
		Dir: dir, ID: site}, p.say)
	p.done()
	if err != nil {
		return flagError(err)
	}
	if err := edge.InitTLS(dir, site, tlsca.DefaultHosts(tlsHosts...)); err != nil {
		return err
	}
	printRestore(out, res)
	fmt.Fprintf(out, "admin client %s; its secret is in %s\nthe old box's key is still valid at central: 'vendsync provision site --rotate' (or --replace next time) issues a new one\n",
		res.Credentials.ClientID, filepath.Join(dir, edge.CredentialsFile))
	return nil
}

// printRestore says what a restore from central rebuilt and what was lost.
func printRestore(out io.Writer, r provision.RestoreResult) {
	fmt.Fprintf(out, "site %s rebuilt from central: %d machines, %d products in %d slots, %d open faults, %d open alerts\n",
		r.Site, r.Machines, r.Products, r.Slots, r.Faults, r.Alerts)
	fmt.Fprintf(out, "  outbox continues at seq %d (central's watermark %d)\n", r.LastSeq+1, r.Watermark)
	fmt.Fprintf(out, "  %s\n", r.Loss)
	fmt.Fprintln(out, "  machines need new credentials: vendsync provision machine --dir DIR --machine ID … (central never holds them)")
}

// addBackupFlags adds edge run's continuous backup settings.
func addBackupFlags(f *pflag.FlagSet, c *backup.Config) {
	c.Every, c.Keep = 15*time.Minute, 24
	f.StringVar(&c.Dir, "backup-dir", "", "keep generations of the site database in this directory, ideally on another disk (default: no backups); a copy taken before a schema migration goes there too")
	f.DurationVar(&c.Every, "backup-every", c.Every, "time between backups with --backup-dir")
	f.IntVar(&c.Keep, "backup-keep", c.Keep, "backup generations kept in --backup-dir (older ones are deleted)")
}

func newEdgeBackupCmd() *cobra.Command {
	var dir, out string
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Write a consistent copy of the site database (while the edge runs or not)",
		Long: `Write a consistent copy of DIR/site.db to --out: SQLite's VACUUM INTO reads one
transaction's view without blocking the running edge, into a temporary
file that is fsynced and renamed, so --out is either complete or absent.
The copy holds the outbox too: facts central has not received yet.
'vendsync edge run --backup-dir' does the same continuously.`,
		Example: `  vendsync edge backup --dir /var/lib/vendsync --out /mnt/usb/site-$(date +%F).db`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" || out == "" {
				return fmt.Errorf("--dir and --out are required")
			}
			if err := backup.File(cmd.Context(), dir, out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "site database in %s copied to %s\n", dir, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the site's data directory")
	cmd.Flags().StringVar(&out, "out", "", "the backup file to write (replaced only once the new copy is complete)")
	return cmd
}

func newEdgeRestoreCmd() *cobra.Command {
	var dir, from, central, creds string
	cmd := &cobra.Command{
		Use:   "restore",
		Short: "Put a backup in place of the site database (the edge must be stopped)",
		Long: `Replace DIR/site.db with the backup --from (a file of 'edge backup' or a
generation of 'edge run --backup-dir'). It refuses while an edge runs on
DIR, and a backup that fails SQLite's integrity check or belongs to another
site. The replaced database is kept beside it as site.db.replaced-<time>.

With --central (and HQ ADMIN --credentials) the restored site numbers its
next fact after the last sequence central received from it: if the site
synced facts after the backup was taken, their numbers are taken at
central, and new facts reusing them would be dropped there as duplicates.
Without --central, do this before the site sells again if it may have
synced since the backup: 'vendsync edge restore' again with --central.

Start the edge afterwards: its outbox resumes from central's watermark and
central ignores the facts it already holds, so the unsynced facts in the
backup reach central once. What the site did after the backup was taken is
not in it. If the disk is gone with its backups, use 'vendsync provision
site --replace' (or 'edge init --restore-from-central') instead.`,
		Example: `  vendsync edge restore --dir /var/lib/vendsync --from /mnt/backup/site-20261201T150000.000Z.db`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" || from == "" {
				return fmt.Errorf("--dir and --from are required")
			}
			aside, err := backup.Restore(cmd.Context(), dir, from, time.Now())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "site database in %s restored from %s\n", dir, from)
			if aside != "" {
				fmt.Fprintf(out, "  the replaced database is kept as %s\n", aside)
			}
			if central == "" {
				fmt.Fprintln(out, "  without --central: if the site synced facts after this backup was taken, new facts would reuse their numbers; run again with --central before it sells")
				return nil
			}
			return continueAfterCentral(cmd, dir, central, creds)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the site's data directory")
	cmd.Flags().StringVar(&from, "from", "", "the backup file to restore")
	cmd.Flags().StringVar(&central, "central", "", "central's HQ API URL: continue the outbox after the last sequence central received from the site")
	cmd.Flags().StringVar(&creds, "credentials", "", "HQ ADMIN credentials file for --central")
	return cmd
}

// continueAfterCentral makes the restored site in dir number its facts
// after the last sequence central received from it.
func continueAfterCentral(cmd *cobra.Command, dir, central, creds string) error {
	site, err := backup.Verify(cmd.Context(), filepath.Join(dir, backup.DBFile))
	if err != nil {
		return err
	}
	hq, err := hqClient(central, creds, caFlag(cmd))
	if err != nil {
		return err
	}
	snap, err := hq.SiteSnapshot(cmd.Context(), site)
	if err != nil {
		return fmt.Errorf("central's last sequence of site %s: %w", site, err)
	}
	last := max(snap.Freshness.LastSeq, snap.Freshness.Watermark)
	n, err := restore.ContinueAfter(cmd.Context(), dir, last, snap.TakenAt)
	if err != nil {
		return err
	}
	if n > 0 {
		fmt.Fprintf(cmd.OutOrStdout(), "  central holds seqs up to %d, beyond this backup: the site continues at %d (%d numbers skipped)\n", last, last+1, n)
	} else {
		fmt.Fprintf(cmd.OutOrStdout(), "  central holds seqs up to %d: the backup's outbox continues from there\n", last)
	}
	return nil
}
