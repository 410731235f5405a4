package ingest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/vendsync/vendsync/internal/secfile"
	"github.com/vendsync/vendsync/internal/sqlite"
)

// The intake log (Fsync "log" mode). A request submitted with a record
// (SubmitLogged: what it needs to run again, e.g. a sale's body) is made
// durable by appending that record to a small preallocated file and
// fdatasyncing it, instead of fsyncing the SQLite WAL pages its
// transaction dirtied (tens of pages for one sale, against a few hundred
// bytes here). The transaction itself commits with synchronous=NORMAL.
//
// Recovery: every transaction that ran logged requests stores its log
// sequence number (LSN) in sync_state.intake_lsn, in the same commit. On
// open, the records with an LSN above the stored one are exactly the
// transactions the database lost (a prefix of commits survives a crash,
// and the stored LSN is part of it): they run again, in order, each with
// its transaction's clock, through the functions registered with
// OnReplay, and give the same results, because the rules are
// deterministic over the store and the clock. What makes this exact:
//   - a transaction with any request that has no record is made durable
//     the old way (an fsync of the WAL, which also covers every commit
//     before it), and no request after it is answered before that fsync;
//     so the lost commits are only logged ones (and unanswered others at
//     the very end), and each logged one runs again on the state it first
//     ran on;
//   - after such a WAL fsync everything in the log is in the database, so
//     the log starts again at offset 0; records keep increasing LSNs, and
//     reading stops at the first record that is torn, or whose LSN does
//     not increase (the older records after a restart).
//
// Record layout (little endian): length of the whole record (4), CRC-32C
// of what follows it (4), LSN (8), the transaction's clock in Unix
// nanoseconds (8), kind (1), data.

const (
	intakeSize   = 4 << 20 // preallocated; a full log is emptied by a WAL fsync
	intakeHeader = 25
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// intakeRecord is one logged request as read back.
type intakeRecord struct {
	lsn  uint64
	now  time.Time
	kind byte
	data []byte
}

// intake is the open log file. Only the syncer goroutine appends to it
// (the writer's goroutine while replaying at Open, before the syncer runs).
type intake struct {
	f    *os.File
	path string
	off  int64 // where the next group of records goes
}

// appendRecord appends one record to buf.
func appendRecord(buf []byte, lsn uint64, now time.Time, kind byte, data []byte) []byte {
	n := intakeHeader + len(data)
	start := len(buf)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(n))
	buf = binary.LittleEndian.AppendUint32(buf, 0) // the CRC, below
	buf = binary.LittleEndian.AppendUint64(buf, lsn)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(now.UnixNano()))
	buf = append(buf, kind)
	buf = append(buf, data...)
	binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(buf[start+8:], crcTable))
	return buf
}

// parseRecords returns the valid records at the start of b: it stops at
// the first torn one, or the first whose LSN is not above the one before.
// more: it stopped only because b ended inside a record.
func parseRecords(b []byte) (recs []intakeRecord, more bool) {
	var last uint64
	for {
		if len(b) < intakeHeader {
			return recs, len(b) > 0
		}
		n := int(binary.LittleEndian.Uint32(b))
		if n < intakeHeader {
			return recs, false
		}
		if n > len(b) {
			return recs, n <= intakeSize
		}
		if crc32.Checksum(b[8:n], crcTable) != binary.LittleEndian.Uint32(b[4:]) {
			return recs, false
		}
		lsn := binary.LittleEndian.Uint64(b[8:])
		if lsn < last || lsn == 0 {
			return recs, false // an older record, left from before the log started again
		}
		last = lsn
		recs = append(recs, intakeRecord{lsn: lsn, now: time.Unix(0, int64(binary.LittleEndian.Uint64(b[16:]))), kind: b[24], data: b[intakeHeader:n]})
		b = b[n:]
	}
}

// firstRead is how much of the log open reads first: after a clean close
// the log is empty, and a cold start should not read megabytes.
const firstRead = 64 << 10

// openIntake opens (creating and preallocating) the log at path and
// returns it with its valid records.
func openIntake(path string) (*intake, []intakeRecord, error) {
	if err := secfile.Check(path); err != nil {
		return nil, nil, fmt.Errorf("open intake log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	created := false
	if errors.Is(err, fs.ErrNotExist) {
		f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		created = true
	}
	if err != nil {
		return nil, nil, fmt.Errorf("open intake log: %w", err)
	}
	l := &intake{f: f, path: path}
	if created {
		if err := preallocate(f, intakeSize); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("preallocate intake log %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("sync intake log %s: %w", path, err)
		}
		return l, nil, nil
	}
	b := make([]byte, firstRead)
	n, err := f.ReadAt(b, 0)
	if err != nil && err != io.EOF {
		f.Close()
		return nil, nil, fmt.Errorf("read intake log %s: %w", path, err)
	}
	recs, more := parseRecords(b[:n])
	if more && n == len(b) {
		if b, err = io.ReadAll(io.NewSectionReader(f, 0, intakeSize)); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("read intake log %s: %w", path, err)
		}
		recs, _ = parseRecords(b)
	}
	return l, recs, nil
}

// write appends recs (whole records) and makes them durable. It returns
// false, writing nothing, when they do not fit: the caller then makes
// them durable with a WAL fsync and calls restart.
func (l *intake) write(recs []byte) (bool, error) {
	if l.off+int64(len(recs))+intakeHeader > intakeSize {
		return false, nil
	}
	if _, err := l.f.WriteAt(recs, l.off); err != nil {
		return false, fmt.Errorf("write intake log: %w", err)
	}
	sqlite.TrackWrite(l.path, l.off, recs)
	if err := sqlite.Fdatasync(l.f); err != nil {
		return false, fmt.Errorf("sync intake log: %w", err)
	}
	l.off += int64(len(recs))
	return true, nil
}

// restart starts the log again at offset 0: call it only once everything
// it holds is durable in the database.
func (l *intake) restart() { l.off = 0 }

// clear restarts the log and marks it empty on disk, so that the next
// open reads nothing (a clean close).
func (l *intake) clear() error {
	l.off = 0
	empty := make([]byte, intakeHeader)
	if _, err := l.f.WriteAt(empty, 0); err != nil {
		return fmt.Errorf("clear intake log: %w", err)
	}
	sqlite.TrackWrite(l.path, 0, empty)
	if err := sqlite.Fdatasync(l.f); err != nil {
		return fmt.Errorf("clear intake log: %w", err)
	}
	return nil
}

func (l *intake) close() error { return l.f.Close() }
