package simulate

import (
	"net/http"
	"time"

	"github.com/vendsync/vendsync/internal/client"
)

// ErrAuth is returned (wrapped) by Run when the edge refuses the client
// credentials. It is client.ErrAuth.
var ErrAuth = client.ErrAuth

// newClient is the edge client of a run: it refreshes its token before
// expiry and on a 401, and resends transient failures with back-off,
// telling retried about each. Resending is safe because every write the
// simulator makes is idempotent (sales and faults carry an Idempotency-Key,
// PATCH sets an absolute value).
func newClient(cfg *Config, retried func(string)) (*client.Edge, error) {
	hc := cfg.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = cfg.Concurrency
		hc = &http.Client{Timeout: 15 * time.Second, Transport: tr}
	}
	return client.NewEdge(cfg.EdgeURL, client.Credentials{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret},
		client.Options{HTTP: hc, MaxAttempts: cfg.MaxAttempts, Backoff: cfg.RetryBackoff, OnRetry: retried})
}
