package ingest

import (
	"errors"
	"fmt"
)

// ErrSyncFailed is what every write gets after an fsync of the WAL failed:
// the commits it should have covered may not be on disk, and the kernel
// may have dropped them from its cache, so a later fsync that succeeds
// would prove nothing about them. The writer stops writing (and Ready
// reports it) until the edge is restarted, which fsyncs the WAL again
// before it reads it.
var ErrSyncFailed = errors.New("fsync of the site database failed: writes stopped until restart")

// synced is a transaction handed to the syncer: its requests, answered
// after an fsync that began after the transaction ended.
type synced struct {
	reqs []*request
	seq  uint64 // the writer's outbox sequence after the transaction
	txn  uint64 // the transaction's number (Writer.txns)
	// recs are the transaction's intake log records; wal: it needs a WAL
	// fsync (FsyncPipelined, or a request without a record).
	recs []byte
	wal  bool
}

// handOff gives a finished transaction's requests to the syncer. It blocks
// while the syncer is len(syncq) transactions behind: the writer never
// runs further ahead of the disk than that.
func (w *Writer) handOff(batch []*request, committed bool) {
	var p *synced
	select {
	case p = <-w.free:
	default:
		p = &synced{}
	}
	p.reqs = append(p.reqs[:0], batch...)
	p.seq, p.txn = w.lastSeq, w.txns
	p.recs, p.wal = p.recs[:0], true
	if w.cfg.Fsync == FsyncLog && committed {
		p.recs, p.wal = append(p.recs, w.txLog...), w.txWAL
	}
	w.syncq <- p
}

// syncer answers the writer's transactions in pipelined mode: it takes
// every transaction handed off so far, fsyncs the WAL once for all of
// them (they all ended before the fsync began), then moves DurableSeq,
// pokes the uplink and answers their requests. Meanwhile the writer runs
// the next batches. It returns when the loop closes syncq.
func (w *Writer) syncer() {
	defer w.wg.Done()
	var group []*synced
	for p := range w.syncq {
		group = append(group[:0], p)
	drain:
		for {
			select {
			case q, ok := <-w.syncq:
				if !ok {
					break drain
				}
				group = append(group, q)
			default:
				break drain
			}
		}
		last := group[len(group)-1]
		w.syncBusy.Store(true)
		err := w.syncGroup(group)
		if err != nil {
			w.failSync(err)
		} else if last.seq > w.durable.Load() {
			w.durable.Store(last.seq)
			w.poke()
		}
		for _, p := range group {
			for _, r := range p.reqs {
				if err != nil && r.err == nil {
					r.err = fmt.Errorf("%w: %w", ErrSyncFailed, err)
				}
				close(r.done)
			}
			clear(p.reqs)
			select {
			case w.free <- p:
			default:
			}
		}
		w.syncBusy.Store(false)
		select {
		case w.syncIdle <- struct{}{}:
		default:
		}
	}
}

// syncGroup makes a group of handed-off transactions durable: by their
// intake log records alone when none needs more and they fit in the log,
// else by a WAL fsync, which also covers every record in the log, so the
// log starts again.
func (w *Writer) syncGroup(group []*synced) error {
	if w.intake != nil {
		wal := false
		w.groupRecs = w.groupRecs[:0]
		for _, p := range group {
			wal = wal || p.wal
			w.groupRecs = append(w.groupRecs, p.recs...)
		}
		if !wal {
			ok, err := w.intake.write(w.groupRecs)
			if err != nil || ok {
				w.logged.Inc()
				return err
			}
		}
		if err := w.fsync(); err != nil {
			return err
		}
		w.intake.restart()
		return nil
	}
	return w.fsync()
}

// fsync makes every commit so far durable, through the test hook when set.
func (w *Writer) fsync() error {
	w.fsyncs.Inc()
	if w.cfg.SyncHook != nil {
		return w.cfg.SyncHook(w.st.DB.SyncWAL)
	}
	return w.st.DB.SyncWAL()
}

// failSync records the first failed fsync: from then on the writer
// refuses every write (run) and the edge is not ready.
func (w *Writer) failSync(err error) {
	if w.syncErr.CompareAndSwap(nil, &err) {
		w.log.Error().Err(err).Msg("fsync of the WAL failed: refusing writes until restart")
	}
}

// poke signals Appended without blocking.
func (w *Writer) poke() {
	select {
	case w.appended <- struct{}{}:
	default:
	}
}

// DurableSeq is the highest outbox sequence known to be on disk: every
// event up to it survives a power cut. The uplink forwards nothing above
// it, so that central never holds an event the site could lose (and then
// number another event with the same sequence).
func (w *Writer) DurableSeq() uint64 { return w.durable.Load() }
