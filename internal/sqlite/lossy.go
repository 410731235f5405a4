package sqlite

// DurableSuffix names, beside each file the lossy disk tracks, the file as
// it would be after a power cut: only what was synced (lossy_on.go).
const DurableSuffix = ".durable"

// TrackWrite tells the lossy disk that b was written to the file at path
// at off, outside SQLite (the edge's intake log); the next Fdatasync of
// that file makes it durable. It does nothing unless the binary was built
// with the tag lossydisk and runs with VENDSYNC_LOSSY_DISK=1.
func TrackWrite(path string, off int64, b []byte) {
	if lossyOn {
		trackWrite(path, off, b)
	}
}
