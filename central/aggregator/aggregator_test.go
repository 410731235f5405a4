package aggregator

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/sync/bucket"
	"github.com/vendsync/vendsync/sync/envelope"
)

// hub is an embedded central nats-server with the FLEET stream.
type hub struct {
	srv *server.Server
	nc  *nats.Conn
	js  jetstream.JetStream
}

func startHub(t *testing.T) *hub {
	t.Helper()
	return startHubTB(t)
}

func startHubTB(t testing.TB) *hub {
	t.Helper()
	srv := testkit.StartServer(t, envelope.HubDomain)
	nc := testkit.Connect(t, srv)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: envelope.StreamIngest, Subjects: []string{envelope.SubjectBatchAll}, Duplicates: time.Minute,
	}); err != nil {
		t.Fatal(err)
	}
	return &hub{srv: srv, nc: nc, js: js}
}

func openStore(t *testing.T, path string) *readmodel.Store {
	t.Helper()
	s, err := readmodel.Open(context.Background(), path, readmodel.WithConsumer("central-1"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func startAggregator(t *testing.T, h *hub, s *readmodel.Store, reg prometheus.Registerer) *Aggregator {
	t.Helper()
	a, err := New(Config{
		JS: h.js, NC: h.nc, Store: s, Durable: "central-1", Logger: zerolog.Nop(),
		FetchBatch: 4, FetchWait: 200 * time.Millisecond, AckWait: 2 * time.Second, RetryDelay: 100 * time.Millisecond,
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

type site struct{ id, tz, city string }

var sites = []site{
	{"berlin-1", "Europe/Berlin", "Berlin"},
	{"blr-1", "Asia/Kolkata", "Bangalore"},
	{"nyc-1", "America/New_York", "New York"},
}

// mkBatch makes site's batch first..first+n-1 of sales worth seq cents each.
func mkBatch(t *testing.T, st site, first uint64, n int) *envelope.Batch {
	t.Helper()
	b := &envelope.Batch{V: envelope.Version, Site: st.id, TZ: st.tz, First: first, Last: first + uint64(n) - 1}
	at := time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)
	for i := range n {
		seq := first + uint64(i)
		data, err := json.Marshal(envelope.Sale{TransactionID: fmt.Sprintf("%s-%d", st.id, seq), MachineID: st.id + "-m1",
			ProductID: "p1", Quantity: 1, AmountCents: int64(seq), PaymentMethod: "CARD", City: st.city})
		if err != nil {
			t.Fatal(err)
		}
		b.Events = append(b.Events, envelope.Event{V: envelope.Version, Site: st.id, Seq: seq, Kind: envelope.KindSale,
			Time: at.Add(time.Duration(seq) * time.Minute), Data: data})
	}
	return b
}

func publish(t *testing.T, h *hub, b *envelope.Batch) {
	t.Helper()
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.js.Publish(context.Background(), envelope.SubjectBatch(b.Site), data, jetstream.WithMsgID(b.MsgID())); err != nil {
		t.Fatal(err)
	}
}

// siteTotal is a site's all-time transaction count and revenue per the read model.
func siteTotal(t *testing.T, s *readmodel.Store, id string) (tx, cents int64) {
	t.Helper()
	res, err := s.Sales(context.Background(), readmodel.SalesQuery{GroupBy: readmodel.BySite, Window: bucket.Month,
		From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Site: id})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Rows {
		tx += r.TxCount
		cents += r.RevenueCents
	}
	return tx, cents
}

// wantTotal is the count and revenue of sales 1..n (sale seq is worth seq cents).
func wantTotal(n uint64) (int64, int64) { return int64(n), int64(n * (n + 1) / 2) }

func waitWatermark(t *testing.T, s *readmodel.Store, id string, want uint64) {
	t.Helper()
	testkit.CheckFor(t, 20*time.Second, func() error {
		w, err := s.Watermark(context.Background(), id)
		if err != nil {
			return err
		}
		if w.Contiguous != want {
			return fmt.Errorf("site %s watermark %d, want %d", id, w.Contiguous, want)
		}
		return nil
	})
}

func TestAggregator_AppliesBatchesAndPushesWatermarks(t *testing.T) {
	h := startHub(t)
	s := openStore(t, filepath.Join(t.TempDir(), "rm.db"))
	defer s.Close()

	var mu sync.Mutex
	pushed := map[string]envelope.Watermark{}
	sub, err := h.nc.Subscribe(envelope.SubjectWatermarkPushAll, func(m *nats.Msg) {
		var w envelope.Watermark
		if err := json.Unmarshal(m.Data, &w); err != nil {
			t.Errorf("watermark push %q: %v", m.Data, err)
			return
		}
		if m.Subject != envelope.SubjectWatermarkPush(w.Site) {
			t.Errorf("watermark for %s pushed on %s", w.Site, m.Subject)
		}
		mu.Lock()
		if w.Contiguous > pushed[w.Site].Contiguous {
			pushed[w.Site] = w
		}
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	reg := prometheus.NewRegistry()
	a := startAggregator(t, h, s, reg)
	defer a.Close()
	for i := range 5 {
		for _, st := range sites {
			publish(t, h, mkBatch(t, st, uint64(i*10+1), 10))
		}
	}
	for _, st := range sites {
		waitWatermark(t, s, st.id, 50)
		tx, cents := siteTotal(t, s, st.id)
		if wtx, wc := wantTotal(50); tx != wtx || cents != wc {
			t.Fatalf("%s: %d tx %d cents, want %d tx %d cents", st.id, tx, cents, wtx, wc)
		}
	}
	testkit.CheckFor(t, 5*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		for _, st := range sites {
			if w := pushed[st.id]; w.Contiguous != 50 || w.MaxSeen != 50 || w.At.IsZero() {
				return fmt.Errorf("last push for %s = %+v, want 50/50 with a time", st.id, w)
			}
		}
		return nil
	})

	// Request/reply: a site asks for its watermark; an unknown site gets zero.
	for _, tt := range []struct {
		site string
		want uint64
	}{{"blr-1", 50}, {"never-seen", 0}} {
		m, err := h.nc.Request(envelope.SubjectWatermarkRequest(tt.site), nil, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var w envelope.Watermark
		if err := json.Unmarshal(m.Data, &w); err != nil {
			t.Fatal(err)
		}
		if w.Site != tt.site || w.Contiguous != tt.want || w.MaxSeen != tt.want {
			t.Fatalf("watermark reply for %s = %+v, want %d/%d", tt.site, w, tt.want, tt.want)
		}
	}

	if got, want := metricValue(t, reg, "vendsync_aggregator_events_total", "applied"), float64(150); got != want {
		t.Fatalf("events applied metric = %v, want %v", got, want)
	}
	if got, want := metricValue(t, reg, "vendsync_aggregator_batches_total", "applied"), float64(15); got != want {
		t.Fatalf("batches applied metric = %v, want %v", got, want)
	}
	if got, want := metricValue(t, reg, "vendsync_aggregator_lag_messages", ""), float64(0); got != want {
		t.Fatalf("lag = %v, want %v", got, want)
	}
}

func TestAggregator_RestartOnSameFileIsExactlyOnce(t *testing.T) {
	h := startHub(t)
	path := filepath.Join(t.TempDir(), "rm.db")
	st := sites[0]
	const batches, per = 60, 5
	for i := range batches / 2 {
		publish(t, h, mkBatch(t, st, uint64(i*per+1), per))
	}

	s := openStore(t, path)
	a := startAggregator(t, h, s, nil)
	// Stop mid-stream: some but not all of the first half applied.
	testkit.CheckFor(t, 20*time.Second, func() error {
		w, err := s.Watermark(context.Background(), st.id)
		if err != nil {
			return err
		}
		if w.Contiguous < 5*per {
			return fmt.Errorf("watermark %d, want at least %d", w.Contiguous, 5*per)
		}
		return nil
	})
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	stopped, err := s.Watermark(context.Background(), st.id)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped at watermark %d of %d", stopped.Contiguous, batches/2*per)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// While it is down: the rest, plus a resend that overlaps what central
	// already has (a site resending from an old watermark, new msg ids).
	for i := batches / 2; i < batches; i++ {
		publish(t, h, mkBatch(t, st, uint64(i*per+1), per))
	}
	publish(t, h, mkBatch(t, st, 3, 2*per))

	s = openStore(t, path)
	defer s.Close()
	a = startAggregator(t, h, s, nil)
	defer a.Close()
	waitWatermark(t, s, st.id, batches*per)
	// Wait for the stream to drain so that the overlapping resend (published
	// last) has been applied too before the totals are checked.
	testkit.CheckFor(t, 20*time.Second, func() error {
		info, err := h.js.Stream(context.Background(), envelope.StreamIngest)
		if err != nil {
			return err
		}
		pos, err := s.Position(context.Background())
		if err != nil {
			return err
		}
		if last := info.CachedInfo().State.LastSeq; pos != last {
			return fmt.Errorf("read model at stream position %d, stream at %d", pos, last)
		}
		return nil
	})
	tx, cents := siteTotal(t, s, st.id)
	if wtx, wc := wantTotal(batches * per); tx != wtx || cents != wc {
		t.Fatalf("after restart: %d tx %d cents, want %d tx %d cents", tx, cents, wtx, wc)
	}
}

func TestAggregator_NewReadModelFileReplaysFromStart(t *testing.T) {
	h := startHub(t)
	st := sites[1]
	for i := range 4 {
		publish(t, h, mkBatch(t, st, uint64(i*10+1), 10))
	}
	dir := t.TempDir()
	s := openStore(t, filepath.Join(dir, "a.db"))
	a := startAggregator(t, h, s, nil)
	waitWatermark(t, s, st.id, 40)
	a.Close()
	s.Close()

	// The node's read model is lost; the durable consumer has acked
	// everything. The new file must still get every event.
	s = openStore(t, filepath.Join(dir, "b.db"))
	defer s.Close()
	a = startAggregator(t, h, s, nil)
	defer a.Close()
	waitWatermark(t, s, st.id, 40)
	tx, cents := siteTotal(t, s, st.id)
	if wtx, wc := wantTotal(40); tx != wtx || cents != wc {
		t.Fatalf("new file: %d tx %d cents, want %d tx %d cents", tx, cents, wtx, wc)
	}
}

func TestAggregator_MalformedMessagesDoNotBlock(t *testing.T) {
	h := startHub(t)
	s := openStore(t, filepath.Join(t.TempDir(), "rm.db"))
	defer s.Close()
	st := sites[2]
	ctx := context.Background()

	bad := []struct {
		name    string
		subject string
		data    func() []byte
	}{
		{"not json", envelope.SubjectBatch(st.id), func() []byte { return []byte("{nope") }},
		{"other site's subject", envelope.SubjectBatch("blr-1"), func() []byte {
			d, _ := json.Marshal(mkBatch(t, st, 1, 3))
			return d
		}},
		{"not contiguous", envelope.SubjectBatch(st.id), func() []byte {
			b := mkBatch(t, st, 1, 3)
			b.Last = 9
			d, _ := json.Marshal(b)
			return d
		}},
		{"unknown timezone", envelope.SubjectBatch(st.id), func() []byte {
			b := mkBatch(t, st, 1, 3)
			b.TZ = "Nowhere/Void"
			d, _ := json.Marshal(b)
			return d
		}},
	}
	for _, tt := range bad {
		if _, err := h.js.Publish(ctx, tt.subject, tt.data()); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
	}
	publish(t, h, mkBatch(t, st, 1, 3))

	reg := prometheus.NewRegistry()
	a := startAggregator(t, h, s, reg)
	defer a.Close()
	waitWatermark(t, s, st.id, 3)
	if got, want := metricValue(t, reg, "vendsync_aggregator_batches_total", "terminated"), float64(len(bad)); got != want {
		t.Fatalf("terminated = %v, want %v", got, want)
	}
	// Nothing stays pending or comes back.
	testkit.CheckFor(t, 10*time.Second, func() error {
		cons, err := h.js.Consumer(ctx, envelope.StreamIngest, "central-1")
		if err != nil {
			return err
		}
		info, err := cons.Info(ctx)
		if err != nil {
			return err
		}
		if info.NumAckPending != 0 || info.NumPending != 0 || info.AckFloor.Stream != uint64(len(bad)+1) {
			return fmt.Errorf("consumer pending %d ack pending %d ack floor %d", info.NumPending, info.NumAckPending, info.AckFloor.Stream)
		}
		return nil
	})
	tx, _ := siteTotal(t, s, st.id)
	if tx != 3 {
		t.Fatalf("tx = %d, want 3", tx)
	}
	// Another site's events never landed under the site that forged them.
	if _, err := s.Site(ctx, "blr-1"); err == nil {
		t.Fatal("forged batch created site blr-1")
	}
}

func TestConfig_Validate(t *testing.T) {
	h := startHub(t)
	s := openStore(t, filepath.Join(t.TempDir(), "rm.db"))
	defer s.Close()
	good := Config{JS: h.js, NC: h.nc, Store: s, Durable: "central-1"}
	tests := []struct {
		name   string
		change func(*Config)
	}{
		{"no JS", func(c *Config) { c.JS = nil }},
		{"no NC", func(c *Config) { c.NC = nil }},
		{"no store", func(c *Config) { c.Store = nil }},
		{"no durable", func(c *Config) { c.Durable = "" }},
		{"durable with dot", func(c *Config) { c.Durable = "a.b" }},
		{"negative batch", func(c *Config) { c.FetchBatch = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.change(&c)
			if _, err := New(c); err == nil {
				t.Fatal("New accepted a bad config")
			}
		})
	}
	if _, err := New(good); err != nil {
		t.Fatal(err)
	}
}

// metricValue reads a counter or gauge from reg; result selects the "result"
// label ("" for an unlabelled metric). Missing means -1.
func metricValue(t *testing.T, reg *prometheus.Registry, name, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := result == ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					match = true
				}
			}
			if !match {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return -1
}

// A backlog written by an older forwarder (version 1: one JSON object) and
// batches of the current framing (version 2) apply alike.
func TestAggregator_ReadsBothFramings(t *testing.T) {
	h := startHub(t)
	s := openStore(t, filepath.Join(t.TempDir(), "rm.db"))
	defer s.Close()
	a := startAggregator(t, h, s, nil)
	defer a.Close()

	st := sites[0]
	old := mkBatch(t, st, 1, 5)
	old.V = 1
	for i := range old.Events {
		old.Events[i].V = 1
	}
	publish(t, h, old)
	f, err := mkBatch(t, st, 6, 5).Frame()
	if err != nil {
		t.Fatal(err)
	}
	data, err := f.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.js.Publish(context.Background(), envelope.SubjectBatch(st.id), data, jetstream.WithMsgID(f.MsgID())); err != nil {
		t.Fatal(err)
	}
	waitWatermark(t, s, st.id, 10)
	wantTx, wantCents := wantTotal(10)
	if tx, cents := siteTotal(t, s, st.id); tx != wantTx || cents != wantCents {
		t.Fatalf("total = %d tx %d cents, want %d tx %d cents", tx, cents, wantTx, wantCents)
	}
}
