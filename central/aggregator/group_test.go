package aggregator

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/sync/envelope"
)

// startGrouping starts an aggregator that fetches and groups up to 32
// messages. AckWait is long so that a loaded machine (race detector, shared
// cores) does not redeliver messages waiting in the pipeline, which would
// be harmless but would make the metrics inexact.
func startGrouping(t *testing.T, h *hub, s *readmodel.Store, reg prometheus.Registerer) *Aggregator {
	t.Helper()
	a, err := New(Config{
		JS: h.js, NC: h.nc, Store: s, Durable: "central-1", Logger: zerolog.Nop(),
		FetchBatch: 32, FetchWait: 200 * time.Millisecond, AckWait: time.Minute, RetryDelay: 100 * time.Millisecond,
		Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	return a
}

// histogramCount is how many observations the histogram name holds.
func histogramCount(t *testing.T, reg *prometheus.Registry, name string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// waitSettled waits until the consumer has settled every one of n messages.
func waitSettled(t *testing.T, h *hub, n uint64) {
	t.Helper()
	ctx := context.Background()
	testkit.CheckFor(t, 30*time.Second, func() error {
		cons, err := h.js.Consumer(ctx, envelope.StreamIngest, "central-1")
		if err != nil {
			return err
		}
		info, err := cons.Info(ctx)
		if err != nil {
			return err
		}
		if info.NumAckPending != 0 || info.NumPending != 0 || info.AckFloor.Stream != n {
			return fmt.Errorf("consumer pending %d ack pending %d ack floor %d, want ack floor %d", info.NumPending, info.NumAckPending, info.AckFloor.Stream, n)
		}
		return nil
	})
}

// A node that was down while three sites sent many small batches catches up
// on the backlog in groups: exact totals and watermarks, every message
// acknowledged, redelivered batches changing nothing, and fewer read-model
// transactions than batches.
func TestAggregator_CatchesUpOnBacklogOfSmallBatches(t *testing.T) {
	h := startHub(t)
	s := openStore(t, filepath.Join(t.TempDir(), "rm.db"))
	defer s.Close()
	ctx := context.Background()
	const perSite, per = 60, 3 // batches per site, events per batch
	msgs := uint64(0)
	for i := range perSite {
		for _, st := range sites {
			publish(t, h, mkBatch(t, st, uint64(i*per)+1, per))
			msgs++
		}
	}
	// A forwarder that resent after a lost ack, past the dedup window: the
	// same events in a new message.
	data, err := json.Marshal(mkBatch(t, sites[0], 4, 2*per))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.js.Publish(ctx, envelope.SubjectBatch(sites[0].id), data); err != nil {
		t.Fatal(err)
	}
	msgs++

	reg := prometheus.NewRegistry()
	a := startGrouping(t, h, s, reg)
	defer a.Close()
	waitSettled(t, h, msgs)
	for _, st := range sites {
		waitWatermark(t, s, st.id, perSite*per)
		tx, cents := siteTotal(t, s, st.id)
		if wtx, wcents := wantTotal(perSite * per); tx != wtx || cents != wcents {
			t.Errorf("%s: %d sales worth %d, want %d worth %d", st.id, tx, cents, wtx, wcents)
		}
	}
	// CaughtUp latches at its next look at the consumer.
	testkit.CheckFor(t, 10*time.Second, func() error { return a.CaughtUp(ctx) })
	if got, want := metricValue(t, reg, "vendsync_aggregator_batches_total", "applied"), float64(msgs); got != want {
		t.Errorf("batches applied = %v, want %v", got, want)
	}
	if got, want := metricValue(t, reg, "vendsync_aggregator_events_total", "applied"), float64(len(sites)*perSite*per); got != want {
		t.Errorf("events applied = %v, want %v", got, want)
	}
	if got, want := metricValue(t, reg, "vendsync_aggregator_events_total", "duplicate"), float64(2*per); got != want {
		t.Errorf("events duplicate = %v, want %v", got, want)
	}
	if txs := histogramCount(t, reg, "vendsync_aggregator_apply_seconds"); txs >= msgs {
		t.Errorf("%d read-model transactions for %d batches: no group commit", txs, msgs)
	}
	if pos, err := s.Position(ctx); err != nil || pos != msgs {
		t.Errorf("position = %d, %v; want %d", pos, err, msgs)
	}
}

// A group that holds messages the store refuses (one malformed, one whose
// site's stored timezone is unknown) terminates those and applies the rest.
func TestAggregator_InvalidBatchInGroupDoesNotStopTheRest(t *testing.T) {
	h := startHub(t)
	path := filepath.Join(t.TempDir(), "rm.db")
	ctx := context.Background()
	bad := site{"bad-1", "Europe/Berlin", "Berlin"}
	// The bad site is known with a timezone this binary cannot load (a
	// zone database older than the one that stored it), so a batch without
	// its own zone is refused when applied.
	s := openStore(t, path)
	if _, err := s.Apply(ctx, 0, mkBatch(t, bad, 1, 2)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE sites SET tz = 'Nowhere/Atlantis' WHERE site = ?`, bad.id); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s = openStore(t, path)
	defer s.Close()

	st := sites[0]
	noZone := mkBatch(t, bad, 3, 2)
	noZone.TZ = ""
	publish(t, h, mkBatch(t, st, 1, 3))
	publish(t, h, noZone)
	publish(t, h, mkBatch(t, st, 4, 3))
	if _, err := h.js.Publish(ctx, envelope.SubjectBatch(st.id), []byte("{nope")); err != nil {
		t.Fatal(err)
	}
	publish(t, h, mkBatch(t, st, 7, 3))

	reg := prometheus.NewRegistry()
	a := startGrouping(t, h, s, reg)
	defer a.Close()
	waitSettled(t, h, 5)
	waitWatermark(t, s, st.id, 9)
	if tx, cents := siteTotal(t, s, st.id); tx != 9 || cents != 45 {
		t.Fatalf("%s: %d sales worth %d, want 9 worth 45", st.id, tx, cents)
	}
	if got := metricValue(t, reg, "vendsync_aggregator_batches_total", "terminated"); got != 2 {
		t.Fatalf("terminated = %v, want 2", got)
	}
	if got := metricValue(t, reg, "vendsync_aggregator_batches_total", "applied"); got != 3 {
		t.Fatalf("applied = %v, want 3", got)
	}
	if w, err := s.Watermark(ctx, bad.id); err != nil || w.Contiguous != 2 || w.MaxSeen != 2 {
		t.Fatalf("%s watermark = %+v, %v; want 2/2 (refused batch changed nothing)", bad.id, w, err)
	}
	if tx, _ := siteTotal(t, s, bad.id); tx != 2 {
		t.Fatalf("%s: %d sales, want 2", bad.id, tx)
	}
}
