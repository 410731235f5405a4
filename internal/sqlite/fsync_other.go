//go:build !linux

package sqlite

import "os"

// Fdatasync makes f's data durable.
func Fdatasync(f *os.File) error { return f.Sync() }

// canDatasync: outside Linux a WAL syncs the unix VFS's way (walSync).
const canDatasync = false

func datasync(int32) error { return nil }
