package ingest

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/vendsync/vendsync/internal/errs"
	vsqlite "github.com/vendsync/vendsync/internal/sqlite"
)

// CodeStorageFull is the code of the error every write gets while the
// site's disk (or the database's size limit) is full.
const CodeStorageFull = "STORAGE_FULL"

// ErrStorageFull is the domain error (kind Unavailable) a write returns,
// wrapping the store's own error, when it failed because the storage is
// full: nothing was written, and the same request may succeed once space is
// freed.
var ErrStorageFull = errs.Errorf(errs.Unavailable, CodeStorageFull, "",
	"the site's storage is full: nothing was recorded; retry later")

// storageFull reports whether err says the storage is full: SQLITE_FULL
// from SQLite, or ENOSPC from the file system (a write or an fsync).
func storageFull(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL {
		return true
	}
	var re *vsqlite.Error // the writer's own statements (sqlite.DB.Write)
	if errors.As(err, &re) && re.Code&0xff == sqlite3.SQLITE_FULL {
		return true
	}
	return errors.Is(err, syscall.ENOSPC)
}

// classify turns a failed transaction's error into what its requests get:
// ErrStorageFull (wrapping err) when the storage is full, else err.
func classify(err error) error {
	if storageFull(err) {
		return fmt.Errorf("%w: %w", ErrStorageFull, err)
	}
	return err
}

// StorageFull reports whether the last write transaction failed because
// the storage is full (and none has committed since): the edge is not ready.
func (w *Writer) StorageFull() bool { return w.full.Load() }

// noteFull records whether the storage is full after a transaction and logs
// only the changes of that state, not every failed request.
func (w *Writer) noteFull(full bool, err error) {
	if w.full.Swap(full) == full {
		return
	}
	if full {
		w.log.Error().Err(err).Msg("storage full: writes answer 503 STORAGE_FULL until space is freed")
	} else {
		w.log.Info().Msg("storage no longer full: writes accepted again")
	}
}

// probeBytes is how much a storage probe tries to allocate: room for a few
// group commits.
const probeBytes = 256 << 10

// Ready returns nil unless the storage is full or an fsync of the WAL
// failed (an error wrapping ErrSyncFailed). While the storage is full, Ready probes
// for room (allocating a few hundred KiB in a transaction it rolls back)
// and, when there is room again, clears the state, so readiness recovers
// even when nothing else writes. It returns an error wrapping
// ErrStorageFull while the storage stays full.
//
// The probe sees a database size limit at once; a full disk is seen by the
// next real write, since a rolled-back transaction this small never leaves
// SQLite's page cache.
func (w *Writer) Ready(ctx context.Context) error {
	if perr := w.syncErr.Load(); perr != nil {
		return fmt.Errorf("%w: %w", ErrSyncFailed, *perr)
	}
	if !w.full.Load() {
		return nil
	}
	err := w.probe(ctx)
	switch {
	case err == nil:
		w.noteFull(false, nil)
		return nil
	case storageFull(err):
		return fmt.Errorf("%w: %w", ErrStorageFull, err)
	default:
		return fmt.Errorf("probe storage: %w", err)
	}
}

// probe allocates probeBytes on the writer connection and rolls back.
func (w *Writer) probe(ctx context.Context) error {
	conn, err := w.st.DB.W.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return err
	}
	// Not ctx: the rollback must run even when the caller has gone.
	defer func() { _, _ = conn.ExecContext(context.Background(), `ROLLBACK`) }()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE vs_storage_probe (b BLOB)`); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, `INSERT INTO vs_storage_probe VALUES (zeroblob(?))`, probeBytes)
	return err
}
