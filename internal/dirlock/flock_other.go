//go:build !unix

package dirlock

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("would block")

// lockFile does not lock where flock is missing: the directory is not
// protected there.
func lockFile(*os.File) error { return nil }
