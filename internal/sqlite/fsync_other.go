//go:build !linux

package sqlite

import "os"

// flush makes f's data durable.
func flush(f *os.File) error { return f.Sync() }
