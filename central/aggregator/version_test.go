package aggregator

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/sync/envelope"
)

// A batch written by a newer binary is neither applied nor terminated: it
// stays in the stream, unacknowledged, for an upgraded node, and the
// batches around it apply as usual. Both framings of the previous and the
// current version apply.
func TestAggregator_KeepsBatchesTooNewToRead(t *testing.T) {
	h := startHub(t)
	s := openStore(t, filepath.Join(t.TempDir(), "rm.db"))
	defer s.Close()
	ctx := context.Background()
	newer, older := sites[0], sites[1]

	b := mkBatch(t, newer, 1, 3)
	b.V = envelope.Version + 1
	f, err := b.Frame()
	if err != nil {
		t.Fatal(err)
	}
	data, err := f.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.js.Publish(ctx, envelope.SubjectBatch(newer.id), data); err != nil {
		t.Fatal(err)
	}
	prev := mkBatch(t, older, 1, 2)
	prev.V = envelope.Version - 1
	publish(t, h, prev)
	publish(t, h, mkBatch(t, older, 3, 2))

	reg := prometheus.NewRegistry()
	a := startAggregator(t, h, s, reg)
	defer a.Close()
	waitWatermark(t, s, older.id, 4)
	testkit.CheckFor(t, 10*time.Second, func() error {
		if got := metricValue(t, reg, "vendsync_aggregator_batches_total", "too_new"); got < 1 {
			return fmt.Errorf("too_new = %v, want at least 1", got)
		}
		return nil
	})
	if got := metricValue(t, reg, "vendsync_aggregator_batches_total", "terminated"); got > 0 { // -1: never counted
		t.Fatalf("terminated = %v, want 0: a newer batch is not poison", got)
	}
	cons, err := h.js.Consumer(ctx, envelope.StreamIngest, "central-1")
	if err != nil {
		t.Fatal(err)
	}
	// The applied batches' acks reach the server after their watermark is
	// written: wait for them, then the newer batch alone stays pending.
	testkit.CheckFor(t, 10*time.Second, func() error {
		info, err := cons.Info(ctx)
		if err != nil {
			return err
		}
		if info.AckFloor.Stream != 0 || info.NumAckPending != 1 {
			return fmt.Errorf("consumer ack floor %d, ack pending %d: want the newer batch (stream seq 1) kept unacknowledged", info.AckFloor.Stream, info.NumAckPending)
		}
		return nil
	})
	if tx, _ := siteTotal(t, s, newer.id); tx != 0 {
		t.Fatalf("a batch too new was applied: %d sales", tx)
	}
	// Watermarks name the versions this node reads.
	msg, err := h.nc.Request(envelope.SubjectWatermarkRequest(older.id), nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var w envelope.Watermark
	if err := json.Unmarshal(msg.Data, &w); err != nil {
		t.Fatal(err)
	}
	if w.Contiguous != 4 || w.MinVersion != envelope.MinVersion || w.MaxVersion != envelope.Version {
		t.Fatalf("watermark %+v: want contiguous 4, versions %d..%d", w, envelope.MinVersion, envelope.Version)
	}
}
