//go:build !linux

package sqlite

import "os"

// Fdatasync makes f's data durable.
func Fdatasync(f *os.File) error { return f.Sync() }
