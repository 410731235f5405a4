package hqapi

// NewDriverRequest is the body of POST /drivers: a restock driver and the
// sites of their route.
type NewDriverRequest struct {
	Name  string   `json:"name"`
	Sites []string `json:"sites"`
}

// SiteCredential is a driver's credential for one site's edge. It works
// only at that site: central sends only its secret's hash, and only to
// that site, over the downlink.
type SiteCredential struct {
	SiteID       string `json:"siteId"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	// Revision is the downlink revision that carries it to the site; the
	// site takes it when its leaf is connected.
	Revision uint64 `json:"revision"`
}

// NewDriver is the answer of POST /drivers, the only time the secrets are
// shown: the driver's HQ DRIVER client (the route at central) and one edge
// credential per site of the route.
type NewDriver struct {
	Name         string           `json:"name"`
	ClientID     string           `json:"client_id"`
	ClientSecret string           `json:"client_secret"`
	Sites        []SiteCredential `json:"sites"`
}
