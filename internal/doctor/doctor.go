// Package doctor inspects a site's or a central node's installation and
// says, check by check, what is wrong and what to do: clock skew against
// central, disk space and growth, database integrity, file modes,
// certificate expiry, the link, the outbox and version skew. Each check
// gives OK, WARN or FAIL; a report with any FAIL is a failure.
//
// It reads the data directory directly and asks the running process over
// its HTTP API, so it works whether or not the service is up (a service
// that does not answer is itself a FAIL).
package doctor

import (
	"context"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver, for quick_check

	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/sync/envelope"
)

// Status is a check's verdict.
type Status string

// The verdicts, from good to bad.
const (
	OK   Status = "OK"
	Warn Status = "WARN"
	Fail Status = "FAIL"
)

// Result is one check's verdict, what was found, and what to do about it.
type Result struct {
	Check  string `json:"check"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Report is every check of one run.
type Report struct {
	Role    string    `json:"role"`
	Dir     string    `json:"dir"`
	At      time.Time `json:"at"`
	Results []Result  `json:"results"`
}

// Failed reports whether any check failed.
func (r *Report) Failed() bool {
	for _, c := range r.Results {
		if c.Status == Fail {
			return true
		}
	}
	return false
}

// Get returns the result of the named check.
func (r *Report) Get(check string) (Result, bool) {
	for _, c := range r.Results {
		if c.Check == check {
			return c, true
		}
	}
	return Result{}, false
}

// WriteText writes the report as an aligned table, each problem followed by
// what to do.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range r.Results {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Status, c.Check, c.Detail)
		if c.Fix != "" && c.Status != OK {
			fmt.Fprintf(tw, "\t\t→ %s\n", c.Fix)
		}
	}
	return tw.Flush()
}

// WriteJSON writes the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// SiteAPI is what the doctor asks a running site (*client.Edge is one).
type SiteAPI interface {
	Sync(ctx context.Context) (edgeapi.SyncState, error)
}

// HQAPI is what the doctor asks a running central node (*client.HQ is one).
type HQAPI interface {
	Sites(ctx context.Context) ([]hqapi.Freshness, error)
}

// Config says what to inspect. Dir and DBFile are required.
type Config struct {
	// Role is "site" or "central".
	Role string
	// Dir is the data directory; DBFile the database's name in it.
	Dir    string
	DBFile string
	// Site is the running site's API (site role; nil: not asked, and the
	// link, outbox and version checks fail).
	Site SiteAPI
	// HQ is the running central node's API (central role; nil: the sites'
	// versions are not checked).
	HQ HQAPI
	// CentralClock returns central's time now (site role; nil: the clock
	// is not checked). See HTTPDate.
	CentralClock func(ctx context.Context) (time.Time, error)
	// Now is the local clock (nil: time.Now).
	Now func() time.Time
}

// Thresholds. Sales are bucketed by event time and tokens expire by the
// clock, so a minute of skew shows.
const (
	SkewWarn      = 5 * time.Second
	SkewFail      = time.Minute
	DiskWarnFree  = 0.10 // fraction of the file system free
	DiskFailFree  = 0.02
	FullWarnDays  = 30 // at the measured growth rate
	FullFailDays  = 3
	CertWarn      = 30 * 24 * time.Hour
	OutboxWarnAge = time.Hour
	OutboxFailAge = 24 * time.Hour
)

// SampleFile is where the doctor keeps the data directory's size between
// runs, to measure its growth rate.
const SampleFile = ".doctor-sample.json"

// Run runs every check of cfg.Role and returns the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Dir == "" || cfg.DBFile == "" {
		return nil, errors.New("doctor: Dir and DBFile are required")
	}
	if cfg.Role != "site" && cfg.Role != "central" {
		return nil, fmt.Errorf("doctor: role %q must be site or central", cfg.Role)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if _, err := os.Stat(cfg.Dir); err != nil {
		return nil, fmt.Errorf("doctor: %w", err)
	}
	r := &Report{Role: cfg.Role, Dir: cfg.Dir, At: cfg.Now().UTC()}
	if cfg.Role == "site" {
		r.Results = append(r.Results, checkClock(ctx, cfg))
	}
	r.Results = append(r.Results, checkDisk(cfg)...)
	r.Results = append(r.Results, checkDatabase(ctx, cfg), checkFileModes(cfg), checkCerts(cfg))
	if cfg.Role == "site" {
		r.Results = append(r.Results, checkSite(ctx, cfg)...)
	} else {
		r.Results = append(r.Results, checkFleetVersions(ctx, cfg))
	}
	return r, nil
}

// HTTPDate returns a clock that reads the Date header of url (central's
// /healthz, say) through c.
func HTTPDate(c *http.Client, url string) func(ctx context.Context) (time.Time, error) {
	return func(ctx context.Context) (time.Time, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return time.Time{}, fmt.Errorf("central clock: %w", err)
		}
		resp, err := c.Do(req)
		if err != nil {
			return time.Time{}, fmt.Errorf("central clock: %w", err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		t, err := http.ParseTime(resp.Header.Get("Date"))
		if err != nil {
			return time.Time{}, fmt.Errorf("central clock: no usable Date header: %w", err)
		}
		return t, nil
	}
}

func checkClock(ctx context.Context, cfg Config) Result {
	res := Result{Check: "clock"}
	if cfg.CentralClock == nil {
		res.Status, res.Detail, res.Fix = Warn, "not compared with central", "give --central https://HQ:9080 to compare this clock with central's"
		return res
	}
	before := cfg.Now()
	theirs, err := cfg.CentralClock(ctx)
	after := cfg.Now()
	if err != nil {
		res.Status, res.Detail, res.Fix = Warn, err.Error(), "check that central's API answers from this site"
		return res
	}
	// The Date header has whole seconds: compare with the middle of the
	// request, give or take that second.
	ours := before.Add(after.Sub(before) / 2)
	skew := ours.Sub(theirs)
	abs := max(skew, -skew)
	dir := "ahead of"
	if skew < 0 {
		dir = "behind"
	}
	res.Detail = fmt.Sprintf("%s %s central", abs.Round(time.Second), dir)
	fix := "synchronise the clock: timedatectl set-ntp true (systemd-timesyncd or chrony), then check timedatectl timesync-status"
	switch {
	case abs >= SkewFail:
		res.Status, res.Fix = Fail, fix
	case abs >= SkewWarn:
		res.Status, res.Fix = Warn, fix
	default:
		res.Status = OK
	}
	return res
}

// dirSize sums the sizes of the regular files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

type sample struct {
	At    time.Time `json:"at"`
	Bytes int64     `json:"bytes"`
}

func checkDisk(cfg Config) []Result {
	space := Result{Check: "disk space"}
	growth := Result{Check: "disk growth"}
	free, total, err := diskFree(cfg.Dir)
	if err != nil {
		space.Status, space.Detail = Warn, err.Error()
		growth.Status, growth.Detail = Warn, "not measured"
		return []Result{space, growth}
	}
	frac := float64(free) / float64(max(total, 1))
	space.Detail = fmt.Sprintf("%s free of %s (%.0f%%)", human(free), human(total), frac*100)
	fix := "free space on the file system of " + cfg.Dir + " or move the data directory to a larger disk"
	switch {
	case frac < DiskFailFree:
		space.Status, space.Fix = Fail, fix
	case frac < DiskWarnFree:
		space.Status, space.Fix = Warn, fix
	default:
		space.Status = OK
	}

	now := cfg.Now()
	cur := sample{At: now.UTC(), Bytes: dirSize(cfg.Dir)}
	path := filepath.Join(cfg.Dir, SampleFile)
	var prev sample
	data, rerr := os.ReadFile(path)
	if b, err := json.Marshal(cur); err == nil {
		_ = os.WriteFile(path, b, 0o600) // a read-only directory just means no rate next time
	}
	if rerr != nil || json.Unmarshal(data, &prev) != nil || !now.After(prev.At.Add(time.Minute)) {
		growth.Status, growth.Detail = OK, fmt.Sprintf("data directory holds %s; the growth rate is measured from the next run on", human(cur.Bytes))
		return []Result{space, growth}
	}
	days := now.Sub(prev.At).Hours() / 24
	perDay := float64(cur.Bytes-prev.Bytes) / days
	growth.Detail = fmt.Sprintf("data directory holds %s, %+.1f MiB/day since %s", human(cur.Bytes), perDay/(1<<20), prev.At.Format(time.RFC3339))
	growth.Status = OK
	if perDay > 0 {
		left := float64(free) / perDay
		growth.Detail += fmt.Sprintf(": full in %.0f days", left)
		fix := "check the outbox is draining (vendsync doctor: outbox) and the disk is large enough; central: set a raw-event retention"
		switch {
		case left < FullFailDays:
			growth.Status, growth.Fix = Fail, fix
		case left < FullWarnDays:
			growth.Status, growth.Fix = Warn, fix
		}
	}
	return []Result{space, growth}
}

func human(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func checkDatabase(ctx context.Context, cfg Config) Result {
	res := Result{Check: "database"}
	path := filepath.Join(cfg.Dir, cfg.DBFile)
	if _, err := os.Stat(path); err != nil {
		res.Status, res.Detail, res.Fix = Fail, err.Error(), "is --dir the data directory? A site is made by `vendsync provision site` or `vendsync edge init`"
		return res
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		res.Status, res.Detail = Fail, err.Error()
		return res
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "PRAGMA quick_check")
	if err != nil {
		res.Status, res.Detail, res.Fix = Fail, "quick_check: "+err.Error(), "stop the service and restore "+cfg.DBFile+" from a backup"
		return res
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			break
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		msgs = append(msgs, err.Error())
	}
	if len(msgs) == 1 && msgs[0] == "ok" {
		res.Status, res.Detail = OK, cfg.DBFile+": quick_check ok"
		return res
	}
	res.Status = Fail
	res.Detail = fmt.Sprintf("%s: quick_check: %s", cfg.DBFile, strings.Join(msgs[:min(len(msgs), 3)], "; "))
	res.Fix = "stop the service and restore " + cfg.DBFile + " from a backup"
	return res
}

// secret reports whether a file's contents must stay with its owner: keys,
// seeds, credentials and databases (with their WAL files).
func secret(name string) bool {
	for _, suf := range []string{".key", ".seed", ".nk", ".creds", ".db", ".db-wal", ".db-shm", ".db-intake", "-journal"} {
		if strings.HasSuffix(name, suf) {
			return true
		}
	}
	return strings.Contains(name, "credentials") || name == "vendsync.yaml"
}

func checkFileModes(cfg Config) Result {
	res := Result{Check: "file modes"}
	var bad, fixes []string
	n := 0
	_ = filepath.WalkDir(cfg.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			bad = append(bad, err.Error())
			return nil
		}
		fi, err := d.Info()
		if err != nil || fi.Mode()&fs.ModeSymlink != 0 {
			return nil
		}
		perm := fi.Mode().Perm()
		switch {
		case fi.IsDir() && perm&0o077 != 0:
			bad = append(bad, fmt.Sprintf("directory %s is %04o, want 0700", p, perm))
			fixes = append(fixes, "chmod 700 "+p)
		case fi.Mode().IsRegular() && secret(d.Name()) && perm&0o077 != 0:
			bad = append(bad, fmt.Sprintf("%s is %04o: readable by others, want 0600", p, perm))
			fixes = append(fixes, "chmod 600 "+p)
		}
		n++
		return nil
	})
	if len(bad) == 0 {
		res.Status, res.Detail = OK, fmt.Sprintf("%d files and directories: keys, seeds, credentials and databases 0600, directories 0700", n)
		return res
	}
	res.Status, res.Detail = Fail, strings.Join(bad, "; ")
	res.Fix = strings.Join(fixes, " && ")
	if res.Fix != "" {
		res.Fix += " (and rotate any key others may have read: vendsync edge rotate-key, provision site --rotate)"
	}
	return res
}

func checkCerts(cfg Config) Result {
	res := Result{Check: "certificates"}
	now := cfg.Now()
	var found, problems []string
	worst := OK
	_ = filepath.WalkDir(cfg.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".crt") || strings.HasSuffix(p, ".pem")) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
			if block.Type != "CERTIFICATE" {
				continue
			}
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", p, err))
				worst = Fail
				continue
			}
			rel, _ := filepath.Rel(cfg.Dir, p)
			left := c.NotAfter.Sub(now)
			switch {
			case left <= 0:
				problems = append(problems, fmt.Sprintf("%s expired %s", rel, c.NotAfter.Format(time.DateOnly)))
				worst = Fail
			case now.Before(c.NotBefore):
				problems = append(problems, fmt.Sprintf("%s not valid before %s (is the clock right?)", rel, c.NotBefore.Format(time.RFC3339)))
				worst = Fail
			case left < CertWarn:
				problems = append(problems, fmt.Sprintf("%s expires in %d days", rel, int(left.Hours()/24)))
				if worst == OK {
					worst = Warn
				}
			default:
				found = append(found, fmt.Sprintf("%s until %s", rel, c.NotAfter.Format(time.DateOnly)))
			}
		}
		return nil
	})
	res.Status = worst
	switch {
	case len(problems) > 0:
		res.Detail = strings.Join(problems, "; ")
		res.Fix = "renew: at a site `vendsync provision site … --out DIR` again (it fetches a new certificate from central's fleet CA); at central restart the node to renew its own"
	case len(found) == 0:
		res.Status, res.Detail = Warn, "no certificates in the data directory (TLS off?)"
		res.Fix = "run with TLS (the default); --insecure-http / --insecure-leaf are for development"
	default:
		res.Detail = strings.Join(found, ", ")
	}
	return res
}

func checkSite(ctx context.Context, cfg Config) []Result {
	link := Result{Check: "link"}
	outbox := Result{Check: "outbox"}
	version := Result{Check: "version"}
	if cfg.Site == nil {
		for _, r := range []*Result{&link, &outbox, &version} {
			r.Status, r.Detail, r.Fix = Fail, "the site's API was not asked", "give --edge https://127.0.0.1:8080 (the site's --http)"
		}
		return []Result{link, outbox, version}
	}
	st, err := cfg.Site.Sync(ctx)
	if err != nil {
		for _, r := range []*Result{&link, &outbox, &version} {
			r.Status, r.Detail, r.Fix = Fail, "the site does not answer: "+err.Error(), "systemctl status vendsync-edge; journalctl -u vendsync-edge -n 50"
		}
		return []Result{link, outbox, version}
	}
	u := st.Uplink
	switch {
	case !u.Configured:
		link.Status, link.Detail = OK, "no central configured: the site runs standalone"
	case u.Connected:
		link.Status, link.Detail = OK, "leaf link to central connected"
	default:
		link.Status, link.Detail = Warn, "leaf link to central down: the site sells offline and its outbox grows"
		link.Fix = "check the network to central's leaf port (the hub URL in vendsync.yaml) and central's logs; the outbox drains by itself once the link is back"
	}
	now := cfg.Now()
	switch {
	case st.Outbox.Depth == 0 || st.Outbox.Oldest == nil:
		outbox.Status, outbox.Detail = OK, fmt.Sprintf("empty: central has everything up to %d", st.Outbox.AckedSeq)
	default:
		age := now.Sub(*st.Outbox.Oldest)
		outbox.Detail = fmt.Sprintf("%d events not yet at central, the oldest from %s ago", st.Outbox.Depth, age.Round(time.Second))
		fix := "see the link and version checks: the outbox drains once central is reachable and reads this site's version"
		switch {
		case age >= OutboxFailAge:
			outbox.Status, outbox.Fix = Fail, fix
		case age >= OutboxWarnAge:
			outbox.Status, outbox.Fix = Warn, fix
		default:
			outbox.Status = OK
		}
	}
	version.Detail = fmt.Sprintf("binary %s, envelope %d", or(u.BinaryVersion, "?"), u.EnvelopeVersion)
	switch {
	case !u.Configured:
		version.Status = OK
	case u.WaitingForCentral:
		version.Status = Fail
		version.Detail += fmt.Sprintf("; central reads envelopes up to %d only: the site keeps its outbox", u.CentralReads)
		version.Fix = "upgrade central first (every node), then the sites; this site drains by itself"
	case u.CentralReads == 0:
		version.Status = Warn
		version.Detail += "; central's version not known yet (not heard from central)"
		version.Fix = "see the link check"
	case u.CentralReads > u.EnvelopeVersion:
		version.Status = Warn
		version.Detail += fmt.Sprintf("; central reads up to %d: this site is older", u.CentralReads)
		version.Fix = "upgrade this site (central still reads its version)"
	default:
		version.Status = OK
		version.Detail += fmt.Sprintf("; central reads up to %d", u.CentralReads)
	}
	return []Result{link, outbox, version}
}

func checkFleetVersions(ctx context.Context, cfg Config) Result {
	res := Result{Check: "version"}
	if cfg.HQ == nil {
		res.Status, res.Detail, res.Fix = Warn, fmt.Sprintf("this node reads envelopes %d..%d; the sites' versions were not asked", envelope.MinVersion, envelope.Version),
			"give --central https://127.0.0.1:9080 (this node's --http)"
		return res
	}
	sites, err := cfg.HQ.Sites(ctx)
	if err != nil {
		res.Status, res.Detail, res.Fix = Fail, "this node does not answer: "+err.Error(), "systemctl status vendsync-central; journalctl -u vendsync-central -n 50"
		return res
	}
	var newer, older []string
	for _, s := range sites {
		switch {
		case s.EnvelopeVersion > envelope.Version:
			newer = append(newer, fmt.Sprintf("%s (%d)", s.SiteID, s.EnvelopeVersion))
		case s.EnvelopeVersion != 0 && s.EnvelopeVersion < envelope.Version:
			older = append(older, fmt.Sprintf("%s (%d)", s.SiteID, s.EnvelopeVersion))
		}
	}
	res.Detail = fmt.Sprintf("this node reads envelopes %d..%d; %d sites", envelope.MinVersion, envelope.Version, len(sites))
	switch {
	case len(newer) > 0:
		res.Status = Fail
		res.Detail += "; newer sites waiting for this node: " + strings.Join(newer, ", ")
		res.Fix = "upgrade every central node: those sites keep their outboxes until then"
	case len(older) > 0:
		res.Status = Warn
		res.Detail += "; older sites: " + strings.Join(older, ", ")
		res.Fix = "upgrade those sites (this node still reads them)"
	default:
		res.Status = OK
	}
	return res
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
