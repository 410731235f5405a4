//go:build !site

package main

import (
	"path/filepath"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/internal/doctor"
)

// centralDoctor fills the checks of a central node's directory.
func centralDoctor(cfg *doctor.Config, dir, ca, creds, centralURL string) error {
	cfg.DBFile = central.ReadModelFile
	if ca == "" {
		ca = filepath.Join(dir, central.CAFile)
	}
	if creds == "" {
		creds = filepath.Join(dir, central.CredentialsFile)
	}
	if centralURL != "" {
		c, err := hqClient(centralURL, creds, existing(ca))
		if err != nil {
			return err
		}
		cfg.HQ = c
	}
	return nil
}
