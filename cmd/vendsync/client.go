package main

import (
	"errors"
	"fmt"

	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/provision"
)

// hqClient is a client of central's HQ API at --central, signing in with
// the --credentials file.
func hqClient(base, credsFile string) (*client.HQ, error) {
	if base == "" {
		return nil, errors.New("--central is required (e.g. http://127.0.0.1:9080)")
	}
	if credsFile == "" {
		return nil, errors.New(`--credentials is required (the {"client_id","client_secret"} file, e.g. central's DIR/admin-credentials.json)`)
	}
	creds, err := client.ReadCredentials(credsFile)
	if err != nil {
		return nil, fmt.Errorf("--credentials: %w", err)
	}
	c, err := client.NewHQ(base, creds, client.Options{})
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
