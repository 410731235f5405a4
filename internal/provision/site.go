// Package provision sets up sites and machines the way an installer does:
// a site is registered at central (which issues its leaf key) and its data
// directory is prepared so that `vendsync edge run --config DIR/vendsync.yaml`
// just works; machines are registered at a site and get MACHINE
// credentials. Every step is safe to re-run, and no secret is ever logged:
// seeds and secrets go to 0600 files (a machine's secret is returned once
// for the caller to show).
package provision

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/hqapi"
	"github.com/vendsync/vendsync/internal/tlsca"
	"github.com/vendsync/vendsync/sync/envelope"
)

// Files ProvisionSite writes into a site's directory (besides the
// database and edge.CredentialsFile).
const (
	// LeafSeedFile holds the site's leaf NKEY seed (0600).
	LeafSeedFile = "leaf.seed"
	// ConfigFile holds the settings of `vendsync edge run --config`.
	ConfigFile = "vendsync.yaml"
)

// FieldError is a bad setting: Field is its name (the flag's, without
// dashes) and Reason what is wrong with it.
type FieldError struct {
	Field, Reason string
}

// Error names the field and what is wrong with it.
func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

func bad(field, format string, a ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, a...)}
}

// Site is what ProvisionSite is asked to set up.
type Site struct {
	// Central is central's HQ API (http://host:port or host:port) and
	// Credentials an HQ ADMIN credentials file.
	Central, Credentials string
	// Dir is the site's data directory (created).
	Dir string
	// ID, Name, City and Timezone describe the site; Lat and Lng, when
	// set, where it is.
	ID, Name, City, Timezone string
	Lat, Lng                 *float64
	// Hubs are central's leaf URLs as the site reaches them.
	Hubs []string
	// HTTP is the host:port the site's edge API will listen on.
	HTTP string
	// Rotate issues a new leaf key for a site central already knows.
	Rotate bool
	// Replace sets up a new box for a site central already knows, whose
	// old box is gone: a new leaf key (the old one is refused at once) and
	// a database rebuilt from what central holds (RestoreFromCentral). Dir
	// must hold no site; City and Timezone come from central's registry.
	Replace bool
	// Settle is RestoreFromCentral's wait with Replace (0: DefaultSettle).
	Settle time.Duration
	// CA is the fleet CA certificate file to pin for an https:// Central
	// (empty: the system's roots).
	CA string
	// TLSHosts are extra names machines reach the site by, for its
	// certificate (HTTP's host and localhost are always in it).
	TLSHosts []string
	// InsecureLeaf configures the site's leaf link without TLS (for a
	// central run with --insecure-leaf).
	InsecureLeaf bool
}

// Validate returns a *FieldError naming the first bad setting.
func (s Site) Validate() error {
	switch {
	case s.Central == "":
		return bad("central", "required: central's HQ API URL, e.g. http://central.example:9080")
	case s.Credentials == "":
		return bad("credentials", "required: an HQ ADMIN credentials file (central's DIR/admin-credentials.json)")
	case s.Dir == "":
		return bad("out", "required: the site's data directory to create")
	case s.ID == "":
		return bad("site", "required: the site id, e.g. blr-techpark")
	case s.City == "" && !s.Replace:
		return bad("city", "required")
	case s.Timezone == "" && !s.Replace:
		return bad("timezone", "required: the site's IANA timezone, e.g. Asia/Kolkata")
	case s.Replace && s.Rotate:
		return bad("replace", "give --replace or --rotate, not both")
	case len(s.Hubs) == 0:
		return bad("hub", "required: central's leaf URL, nats-leaf://host:7422")
	case (s.Lat == nil) != (s.Lng == nil):
		return bad("lat", "give --lat and --lng together")
	}
	if err := envelope.ValidateSiteID(s.ID); err != nil {
		return bad("site", "%v", err)
	}
	if _, err := time.LoadLocation(s.Timezone); (err != nil || s.Timezone == "Local") && !(s.Replace && s.Timezone == "") {
		return bad("timezone", "%q is not a known IANA timezone (e.g. Asia/Kolkata)", s.Timezone)
	}
	if s.Lat != nil && (math.IsNaN(*s.Lat) || *s.Lat < -90 || *s.Lat > 90) {
		return bad("lat", "%v: must be between -90 and 90", *s.Lat)
	}
	if s.Lng != nil && (math.IsNaN(*s.Lng) || *s.Lng < -180 || *s.Lng > 180) {
		return bad("lng", "%v: must be between -180 and 180", *s.Lng)
	}
	if _, err := client.BaseURL(s.Central); err != nil {
		return bad("central", "%v", err)
	}
	for _, h := range s.Hubs {
		if _, err := LeafURL(h); err != nil {
			return bad("hub", "%v", err)
		}
	}
	if _, _, err := net.SplitHostPort(s.HTTP); err != nil {
		return bad("http", "%q: not host:port", s.HTTP)
	}
	return nil
}

// LeafURL turns what a user typed for central's leaf listener into a URL:
// nats-leaf:// and tls:// URLs are kept, and a bare host:port gets
// nats-leaf://. Anything else is an error saying what is wrong.
func LeafURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "://") {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return "", fmt.Errorf("%q: want nats-leaf://host:port or host:port", s)
		}
		return "nats-leaf://" + s, nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "nats-leaf" && u.Scheme != "tls") || u.Host == "" {
		return "", fmt.Errorf("%q: want nats-leaf://host:port", s)
	}
	return s, nil
}

// SiteOutcome says what ProvisionSite did.
type SiteOutcome int

// What ProvisionSite did.
const (
	// Provisioned: the site was registered and its directory prepared.
	Provisioned SiteOutcome = iota
	// AlreadyProvisioned: the directory held the site and its seed; nothing
	// was done.
	AlreadyProvisioned
	// ConfigRewritten: the site was provisioned but its config file was
	// missing; only that was written.
	ConfigRewritten
)

// SiteResult is what ProvisionSite did and where the files are.
type SiteResult struct {
	Outcome SiteOutcome
	// ConfigPath, SeedPath and AdminCredentials are the files in Dir.
	ConfigPath, SeedPath, AdminCredentials string
	// PublicKey is the site's leaf key as central registered it (empty
	// when nothing was registered).
	PublicKey string
	// Restored is what Replace rebuilt from central (nil without Replace).
	Restored *RestoreResult
}

// ErrSiteExists is wrapped by ProvisionSite's error when central knows the
// site but Dir holds no seed for it (a reinstall): Rotate is needed.
var ErrSiteExists = errors.New("site already registered at central")

// ProvisionSite registers s at central and prepares s.Dir:
//
//	DIR/site.db                 the site's database (as `vendsync edge init`)
//	DIR/admin-credentials.json  the site's first ADMIN client (0600)
//	DIR/leaf.seed               the NKEY seed of its leaf connection (0600)
//	DIR/vendsync.yaml           settings for `vendsync edge run --config`
//
// If Dir already holds the site and its seed, nothing is done (the config
// file is rewritten if missing). step, if set, is told each step as it
// starts. It returns a *FieldError for a bad setting, an error wrapping
// ErrSiteExists when central knows the site and Dir has no seed (re-run
// with Rotate), and an error wrapping the API's *client.Error when
// central refuses.
func ProvisionSite(ctx context.Context, s Site, step func(string)) (SiteResult, error) {
	if step == nil {
		step = func(string) {}
	}
	if err := s.Validate(); err != nil {
		return SiteResult{}, err
	}
	hubs := make([]string, len(s.Hubs))
	for i, h := range s.Hubs {
		hubs[i], _ = LeafURL(h) // checked by Validate
	}
	s.Hubs = hubs
	res := SiteResult{
		ConfigPath: filepath.Join(s.Dir, ConfigFile), SeedPath: filepath.Join(s.Dir, LeafSeedFile),
		AdminCredentials: filepath.Join(s.Dir, edge.CredentialsFile),
	}
	haveDB := exists(filepath.Join(s.Dir, store.DBFile))
	if s.Replace {
		if haveDB {
			return res, bad("out", "%s already holds a site database: --replace prepares a new box, give it an empty directory", s.Dir)
		}
		return replaceSite(ctx, s, res, step)
	}
	if haveDB {
		st, err := store.Open(ctx, s.Dir)
		if err != nil {
			return res, fmt.Errorf("open %s: %w", s.Dir, err)
		}
		id := st.Site.ID
		st.Close()
		if id != s.ID {
			return res, bad("out", "%s already holds site %q, not %q: choose another directory", s.Dir, id, s.ID)
		}
		if exists(res.SeedPath) && !s.Rotate && !exists(filepath.Join(s.Dir, tlsca.TLSDir, tlsca.CertFile)) {
			// Provisioned before sites had certificates: get one.
			hq, err := s.hqClient()
			if err != nil {
				return res, err
			}
			step("getting the site's certificate from central's fleet CA")
			if err := provisionCert(ctx, hq, s); err != nil {
				return res, err
			}
			res.Outcome = ConfigRewritten
			return res, writeSiteConfig(res.ConfigPath, s)
		}
		if exists(res.SeedPath) && !s.Rotate {
			res.Outcome = AlreadyProvisioned
			if !exists(res.ConfigPath) {
				res.Outcome = ConfigRewritten
				return res, writeSiteConfig(res.ConfigPath, s)
			}
			return res, nil
		}
	}
	hq, err := s.hqClient()
	if err != nil {
		return res, err
	}
	step(fmt.Sprintf("registering site %s at %s", s.ID, hq.URL()))
	site, err := hq.RegisterSite(ctx, hqapi.NewSite{SiteID: s.ID, Name: s.Name, City: s.City, Timezone: s.Timezone, Lat: s.Lat, Lng: s.Lng, Rotate: s.Rotate})
	if client.HasCode(err, "SITE_EXISTS") {
		return res, fmt.Errorf("site %s: %w but %s holds no seed for it; re-run with --rotate to issue a new key (the old one stops working)", s.ID, ErrSiteExists, res.SeedPath)
	}
	if err != nil {
		return res, fmt.Errorf("register site: %w", err)
	}
	res.PublicKey = site.PublicKey
	if !haveDB {
		step("creating the site database in " + s.Dir)
		if _, err := edge.Init(ctx, s.Dir, store.SiteInit{ID: s.ID, Name: s.Name, City: s.City, Timezone: s.Timezone}); err != nil {
			return res, err
		}
	}
	step("writing " + res.SeedPath)
	if err := writeSecret(res.SeedPath, []byte(site.Seed+"\n")); err != nil {
		return res, err
	}
	step("getting the site's certificate from central's fleet CA")
	if err := provisionCert(ctx, hq, s); err != nil {
		return res, err
	}
	return res, writeSiteConfig(res.ConfigPath, s)
}

// replaceSite is ProvisionSite with Replace: check that central knows the
// site, give it a new key (which disconnects and refuses the old box), then
// rebuild its database from central and write the seed, certificate and
// config as for a new site.
func replaceSite(ctx context.Context, s Site, res SiteResult, step func(string)) (SiteResult, error) {
	hq, err := s.hqClient()
	if err != nil {
		return res, err
	}
	reg, err := hq.Registry(ctx)
	if err != nil {
		return res, fmt.Errorf("read the site registry: %w", err)
	}
	i := slices.IndexFunc(reg, func(r hqapi.Site) bool { return r.ID == s.ID })
	if i < 0 {
		return res, bad("site", "%s is not registered at central: nothing to replace (provision it without --replace)", s.ID)
	}
	step(fmt.Sprintf("issuing a new key for site %s at %s; the old box's key stops working", s.ID, hq.URL()))
	site, err := hq.RegisterSite(ctx, hqapi.NewSite{SiteID: s.ID, Name: s.Name, City: s.City, Timezone: s.Timezone, Lat: s.Lat, Lng: s.Lng, Rotate: true})
	if err != nil {
		return res, fmt.Errorf("issue a new key: %w", err)
	}
	res.PublicKey = site.PublicKey
	r, err := restoreFrom(ctx, hq, Restore{Dir: s.Dir, ID: s.ID, Settle: s.Settle}, step)
	if err != nil {
		return res, err
	}
	res.Restored = &r
	step("writing " + res.SeedPath)
	if err := writeSecret(res.SeedPath, []byte(site.Seed+"\n")); err != nil {
		return res, err
	}
	step("getting the site's certificate from central's fleet CA")
	if err := provisionCert(ctx, hq, s); err != nil {
		return res, err
	}
	return res, writeSiteConfig(res.ConfigPath, s)
}

// hqClient is the client of s.Central, pinning s.CA.
func (s Site) hqClient() (*client.HQ, error) {
	creds, err := client.ReadCredentials(s.Credentials)
	if err != nil {
		return nil, bad("credentials", "%v", err)
	}
	o := client.Options{}
	if s.CA != "" {
		if o.TLS, err = tlsca.ClientConfig(s.CA); err != nil {
			return nil, bad("ca", "%v", err)
		}
	}
	hq, err := client.NewHQ(s.Central, creds, o)
	if err != nil {
		return nil, bad("central", "%v", err)
	}
	return hq, nil
}

// provisionCert has central's fleet CA sign a certificate for the site's
// API and leaf link: the key is made here and never sent, only a request
// for the HTTP host, localhost and TLSHosts names.
func provisionCert(ctx context.Context, hq *client.HQ, s Site) error {
	csr, key, err := tlsca.NewCSR(s.ID, append(tlsca.DefaultHosts(s.HTTP), s.TLSHosts...))
	if err != nil {
		return err
	}
	var ans struct {
		Certificate string `json:"certificate"`
		CA          string `json:"ca"`
	}
	if err := hq.Do(ctx, http.MethodPost, "/sites/"+s.ID+"/certificate", map[string]string{"csr": string(csr)}, &ans); err != nil {
		return fmt.Errorf("site certificate: %w", err)
	}
	return tlsca.WriteSite(s.Dir, []byte(ans.Certificate), key, []byte(ans.CA))
}

func writeSiteConfig(path string, s Site) error {
	header := fmt.Sprintf(`vendsync edge settings for site %s, written by 'vendsync provision site'.
Run: vendsync edge run --config %s
Keys are 'vendsync edge run' flag names; flags and VENDSYNC_* override them.
Relative paths are relative to this file.`, s.ID, path)
	settings := map[string]any{
		"dir": ".", "http": s.HTTP, "hub": s.Hubs, "leaf-seed": LeafSeedFile,
		"tls-cert": filepath.Join(tlsca.TLSDir, tlsca.CertFile), "tls-key": filepath.Join(tlsca.TLSDir, tlsca.KeyFile),
		"hub-ca": filepath.Join(tlsca.TLSDir, tlsca.CAFile),
	}
	if s.InsecureLeaf {
		delete(settings, "hub-ca")
		settings["insecure-leaf"] = true
	}
	b, err := yaml.Marshal(settings)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	var out strings.Builder
	for _, l := range strings.Split(header, "\n") {
		out.WriteString("# " + l + "\n")
	}
	out.Write(b)
	return writeSecret(path, []byte(out.String()))
}

// writeSecret writes data to path (0600) through a temporary file.
func writeSecret(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
