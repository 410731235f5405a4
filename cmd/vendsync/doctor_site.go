//go:build site

package main

import (
	"errors"

	"github.com/vendsync/vendsync/internal/doctor"
)

// centralDoctor: the site build carries no central code.
func centralDoctor(*doctor.Config, string, string, string, string) error {
	return errors.New("--role central: this is the site build of vendsync (no central code); run the full vendsync binary on central nodes")
}
