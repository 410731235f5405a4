package hqlog

import (
	"context"

	"github.com/vendsync/vendsync/internal/errs"
)

// Sync waits until this node has applied every entry the log held when Sync
// was called, so a check that reads central-owned state at the node taking
// a request (a purchase order's supplier) sees every write another node
// has already answered. It answers Unavailable HQ_LOG_BEHIND when that
// takes longer than Config.Wait.
func (l *Log) Sync(ctx context.Context) error {
	st, err := l.cfg.JS.Stream(ctx, Stream)
	if err != nil {
		return errs.Errorf(errs.Unavailable, "HQ_LOG_UNAVAILABLE", "", "central could not read its write log (%v); try again", err)
	}
	last := st.CachedInfo().State.LastSeq // Stream reads the info afresh
	wctx, cancel := context.WithTimeout(ctx, l.cfg.Wait)
	defer cancel()
	for {
		l.mu.Lock()
		ch := l.changed
		l.mu.Unlock()
		if l.applied.Load() >= last {
			return nil
		}
		if p := l.stuck.Load(); p != nil {
			return errs.Errorf(errs.Unavailable, "HQ_LOG_STOPPED", "", "this node cannot apply central's writes (%v)", *p)
		}
		select {
		case <-ch:
		case <-wctx.Done():
			return errs.Errorf(errs.Unavailable, "HQ_LOG_BEHIND", "", "this node has applied central's writes up to %d of %d; try again", l.applied.Load(), last)
		}
	}
}
