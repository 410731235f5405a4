package tui

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/secfile"
	"github.com/vendsync/vendsync/internal/tlsca"
)

// RouteFile is the one file a driver's app reads for a whole day over many
// sites (`vendsync hq driver add` writes it, 0600): central and its CA, the
// driver's HQ DRIVER credential (the route at central), and per site of the
// route the edge's URL and a DRIVER credential that only that site's edge
// accepts (central sent its hash to that site alone over the downlink).
type RouteFile struct {
	Driver  string             `json:"driver"`
	Central string             `json:"central"`
	CAPEM   string             `json:"caPem,omitempty"`
	HQ      client.Credentials `json:"hq"`
	Sites   []RouteSite        `json:"sites"`
	// VanID is the driver's van (optional): every restock the app sends
	// names it, so central deducts the van's units when the restock
	// reaches it.
	VanID string `json:"vanId,omitempty"`
}

// RouteSite is one site of a route file.
type RouteSite struct {
	SiteID  string             `json:"siteId"`
	EdgeURL string             `json:"edgeUrl"`
	Creds   client.Credentials `json:"credentials"`
	// Lat and Lng are the site's coordinates from central's registry (the
	// route order needs them; nil when the site has none).
	Lat *float64 `json:"lat,omitempty"`
	Lng *float64 `json:"lng,omitempty"`
}

// Validate names the first bad field.
func (f RouteFile) Validate() error {
	if f.Central != "" {
		if _, err := client.BaseURL(f.Central); err != nil {
			return fmt.Errorf("central: %w", err)
		}
		if f.HQ.ClientID == "" || f.HQ.ClientSecret == "" {
			return errors.New("hq: client_id and client_secret are required with a central URL")
		}
	}
	if len(f.Sites) == 0 {
		return errors.New("sites: the route has no site")
	}
	seen := map[string]bool{}
	for i, s := range f.Sites {
		if s.SiteID == "" {
			return fmt.Errorf("sites[%d].siteId: required", i)
		}
		if seen[s.SiteID] {
			return fmt.Errorf("sites[%d].siteId: %q is listed twice", i, s.SiteID)
		}
		seen[s.SiteID] = true
		if _, err := client.BaseURL(s.EdgeURL); err != nil {
			return fmt.Errorf("sites[%d].edgeUrl (%s): %w", i, s.SiteID, err)
		}
		if s.Creds.ClientID == "" || s.Creds.ClientSecret == "" {
			return fmt.Errorf("sites[%d].credentials (%s): client_id and client_secret are required", i, s.SiteID)
		}
	}
	if f.CAPEM != "" {
		if _, err := tlsca.Pool([]byte(f.CAPEM)); err != nil {
			return fmt.Errorf("caPem: %w", err)
		}
	}
	return nil
}

// TLS is the client TLS configuration pinning the file's CA (nil: the
// system's roots).
func (f RouteFile) TLS() *tls.Config {
	if f.CAPEM == "" {
		return nil
	}
	p, err := tlsca.Pool([]byte(f.CAPEM))
	if err != nil {
		return nil
	}
	return &tls.Config{RootCAs: p, MinVersion: tls.VersionTLS12}
}

// Site is the route's site id, nil if it is not on the route.
func (f *RouteFile) Site(id string) *RouteSite {
	for i := range f.Sites {
		if f.Sites[i].SiteID == id {
			return &f.Sites[i]
		}
	}
	return nil
}

// ReadRouteFile reads and validates a route file. It refuses a file other
// users can read (it holds secrets).
func ReadRouteFile(path string) (RouteFile, error) {
	var f RouteFile
	if err := secfile.Check(path); err != nil {
		return f, fmt.Errorf("route file: %w", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return f, fmt.Errorf("read route file: %w", err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("read route file %s: %w", path, err)
	}
	if err := f.Validate(); err != nil {
		return f, fmt.Errorf("route file %s: %w", path, err)
	}
	return f, nil
}

// WriteRouteFile writes f to path, readable by its owner only.
func WriteRouteFile(path string, f RouteFile) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("route file: %w", err)
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encode route file: %w", err)
	}
	return secfile.Write(path, append(b, '\n'))
}

// edgeCacheFile is the cache file of one edge: each site of a route keeps
// its own, so every site works offline after the app has seen it once.
func edgeCacheFile(edgeURL string) string {
	if edgeURL == "" {
		return edgeFile
	}
	h := sha256.Sum256([]byte(strings.TrimRight(edgeURL, "/")))
	return "edge-" + hex.EncodeToString(h[:6]) + ".json"
}
