package ingest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// IntakePath is the intake log's file for the database at dbPath.
func IntakePath(dbPath string) string { return dbPath + "-intake" }

// OnReplay registers how a logged request of kind runs again from its
// record's data (SubmitLogged): fn must do what the request's function
// did, deciding only from the store, the Tx and data. Call it before
// Open. kind 0 is reserved.
func (w *Writer) OnReplay(kind byte, fn func(*Tx, []byte) error) {
	if w.opened {
		panic("ingest: OnReplay after Open")
	}
	if kind == 0 {
		panic("ingest: OnReplay kind 0 is reserved")
	}
	if _, dup := w.replays[kind]; dup {
		panic(fmt.Sprintf("ingest: OnReplay kind %d registered twice", kind))
	}
	w.replays[kind] = fn
}

// SubmitLogged is Submit for a request that can run again from data (see
// OnReplay for kind): in FsyncLog mode it is made durable by its intake
// log record. fn and the function registered for kind must give the same
// result on the same store; data must hold everything fn decides from
// besides the store and the Tx's clock.
func SubmitLogged[T any](ctx context.Context, w *Writer, kind byte, data []byte, fn func(*Tx) (T, error)) (T, error) {
	return submit(w, &request{ctx: ctx, kind: kind, data: data, done: make(chan struct{})}, fn)
}

// recover runs again the transactions the intake log holds that the
// database lost (intake.go), then empties the log. In FsyncLog mode it
// keeps the log open for the writer; in another mode it removes a log a
// log-mode run left.
func (w *Writer) recover(ctx context.Context) error {
	path := IntakePath(w.st.DB.Path())
	if w.cfg.Fsync != FsyncLog {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
	}
	l, recs, err := openIntake(path)
	if err != nil {
		return err
	}
	keep := false
	defer func() {
		if !keep {
			l.close()
		}
	}()
	var applied uint64
	if err := w.st.DB.W.QueryRowContext(ctx, `SELECT intake_lsn FROM sync_state WHERE id = 1`).Scan(&applied); err != nil {
		return fmt.Errorf("read intake log position: %w", err)
	}
	last, ran := applied, 0
	for i := 0; i < len(recs); {
		j := i + 1
		for j < len(recs) && recs[j].lsn == recs[i].lsn {
			j++
		}
		if recs[i].lsn > applied {
			if err := w.replay(recs[i:j]); err != nil {
				return fmt.Errorf("intake log %s: transaction %d: %w", path, recs[i].lsn, err)
			}
			ran += j - i
		}
		last = max(last, recs[i].lsn)
		i = j
	}
	if ran > 0 {
		if err := w.st.DB.SyncWAL(); err != nil {
			return err
		}
		w.log.Warn().Int("requests", ran).Str("log", path).Msg("ran again the requests the database lost in a crash, from the intake log")
	}
	if len(recs) > 0 {
		if err := l.clear(); err != nil {
			return err
		}
	}
	// Records left after a torn one were never answered; their LSNs must
	// never be taken for new ones: start well above any the file can hold.
	w.lsn = last + intakeSize
	if w.cfg.Fsync != FsyncLog {
		if err := l.close(); err != nil {
			return err
		}
		keep = true
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("remove intake log: %w", err)
		}
		return nil
	}
	w.intake, keep = l, true
	return nil
}

// replay runs one logged transaction again, with its clock and LSN.
func (w *Writer) replay(recs []intakeRecord) error {
	batch := make([]*request, len(recs))
	for i, rec := range recs {
		fn, ok := w.replays[rec.kind]
		if !ok {
			return fmt.Errorf("record of unknown kind %d (written by a newer vendsync?): start that version, or move the file away to drop these requests", rec.kind)
		}
		data := rec.data
		batch[i] = &request{ctx: context.Background(), done: make(chan struct{}), fn: func(t *Tx) error { return fn(t, data) }}
	}
	w.replaying = &recs[0]
	defer func() { w.replaying = nil }()
	err := w.runTx(&batch)
	if err != nil {
		if lerr := w.load(context.Background()); lerr != nil {
			err = errors.Join(err, lerr)
		}
		return err
	}
	return nil
}
