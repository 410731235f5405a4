package sqlite

import (
	"os"
	"syscall"
)

// Fdatasync makes f's data durable. fdatasync flushes the data and the
// metadata needed to read it back (the size of a grown WAL), not the
// timestamps: half an fsync's cost on a growing file (BENCHMARKS.md,
// BenchmarkDiskSync).
func Fdatasync(f *os.File) error {
	if err := datasync(int32(f.Fd())); err != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
	}
	if lossyOn {
		lossySyncedPath(f.Name())
	}
	return nil
}

// canDatasync: a WAL is synced with datasync (walSync).
const canDatasync = true

// datasync fdatasyncs descriptor fd, retrying on EINTR.
func datasync(fd int32) error {
	for {
		err := syscall.Fdatasync(int(fd))
		if err != syscall.EINTR {
			return err
		}
	}
}
