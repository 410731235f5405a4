package ingest

import (
	"context"
	"testing"
	"time"
)

// The writer does not write sync_state at each commit: the next sequence
// after a restart comes from the outbox, and from sync_state.last_seq for
// the sequences the uplink trimmed. No sequence is numbered twice, whether
// nothing, part or all of the outbox was trimmed.
func TestSequence_RecoveredFromOutboxAndTrims(t *testing.T) {
	ctx := context.Background()
	w, v := openWriter(t)
	st := w.Store()
	note := func(w *Writer, v *auditView, want uint64) {
		t.Helper()
		seq, err := Submit(ctx, w, func(t *Tx) (uint64, error) { return v.note(t, "x") })
		if err != nil {
			t.Fatal(err)
		}
		if seq != want {
			t.Fatalf("sequence %d, want %d", seq, want)
		}
	}
	reopen := func() (*Writer, *auditView) {
		t.Helper()
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		w2, err := New(st, DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		v2 := &auditView{}
		w2.Register(v2)
		if err := w2.Open(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w2.Close() })
		return w2, v2
	}
	check := func(last, trimmed uint64) {
		t.Helper()
		got, err := st.LastSeq(ctx)
		if err != nil {
			t.Fatal(err)
		}
		stats, err := st.OutboxStats(ctx, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if raw := count(t, w, `SELECT last_seq FROM sync_state`); got != last || stats.LastSeq != last || raw != int64(trimmed) {
			t.Fatalf("last sequence %d (stats %d), sync_state.last_seq %d; want %d, %d", got, stats.LastSeq, raw, last, trimmed)
		}
	}
	for i := range uint64(5) {
		note(w, v, i+1)
	}
	check(5, 0) // nothing trimmed: sync_state not written
	w, v = reopen()
	note(w, v, 6)
	note(w, v, 7)
	if err := st.Trim(ctx, 6); err != nil {
		t.Fatal(err)
	}
	check(7, 6)
	w, v = reopen()
	note(w, v, 8)
	if err := st.Trim(ctx, 8); err != nil {
		t.Fatal(err)
	}
	check(8, 8) // the outbox is empty
	// A late, lower watermark moves nothing back.
	if err := st.Trim(ctx, 3); err != nil {
		t.Fatal(err)
	}
	check(8, 8)
	w, v = reopen()
	note(w, v, 9)
	check(9, 8)
}
