package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/provision"
	"github.com/vendsync/vendsync/internal/tlsca"
)

// hqClient is a client of central's HQ API at --central, signing in with
// the --credentials file; for an https:// URL it trusts only the CA
// certificate in caFile (the system's roots when caFile is empty).
func hqClient(base, credsFile, caFile string) (*client.HQ, error) {
	if base == "" {
		return nil, errors.New("--central is required (e.g. https://127.0.0.1:9080)")
	}
	if credsFile == "" {
		return nil, errors.New(`--credentials is required (the {"client_id","client_secret"} file, e.g. central's DIR/admin-credentials.json)`)
	}
	creds, err := client.ReadCredentials(credsFile)
	if err != nil {
		return nil, fmt.Errorf("--credentials: %w", err)
	}
	o := client.Options{}
	if caFile != "" {
		if o.TLS, err = tlsca.ClientConfig(caFile); err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
	}
	c, err := client.NewHQ(base, creds, o)
	if err != nil {
		return nil, fmt.Errorf("--central: %w", err)
	}
	return c, nil
}

// flagError names the flag of a setting a package refused.
func flagError(err error) error {
	var fe *provision.FieldError
	if errors.As(err, &fe) {
		return fmt.Errorf("--%s: %s", fe.Field, fe.Reason)
	}
	return err
}

// caFlag is the root's --ca: the CA certificate clients pin for https://.
func caFlag(cmd *cobra.Command) string {
	ca, _ := cmd.Flags().GetString("ca")
	return ca
}

// httpClient is an HTTP client with timeout that, for https:// URLs,
// trusts only the CA certificate in caFile (the system's roots when empty).
func httpClient(caFile string, timeout time.Duration) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		cfg, err := tlsca.ClientConfig(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		tr.TLSClientConfig = cfg
	}
	return &http.Client{Timeout: timeout, Transport: tr}, nil
}

// fileExists reports whether path exists.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
