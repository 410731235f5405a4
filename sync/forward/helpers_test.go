package forward_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	_ "modernc.org/sqlite"

	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/sync/envelope"
)

// sqliteOutbox is a minimal outbox table, the shape the edge store has.
type sqliteOutbox struct {
	db   *sql.DB
	site string
	mu   sync.Mutex
	last uint64
	// onTrim, if set, is called before each trim and may veto it.
	onTrim func(upTo uint64) error
}

func newOutbox(t *testing.T, site string) *sqliteOutbox {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "edge.db")+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`
CREATE TABLE outbox (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, time TEXT NOT NULL, data BLOB NOT NULL);
CREATE TABLE outbox_acked (id INTEGER PRIMARY KEY CHECK (id = 1), up_to INTEGER NOT NULL);
INSERT INTO outbox_acked VALUES (1, 0);`); err != nil {
		t.Fatal(err)
	}
	return &sqliteOutbox{db: db, site: site}
}

// Append adds n sale events and returns the last sequence.
func (o *sqliteOutbox) Append(t *testing.T, n int) uint64 {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	tx, err := o.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	now := time.Now().UTC()
	for i := 0; i < n; i++ {
		o.last++
		data, _ := json.Marshal(envelope.Sale{TransactionID: fmt.Sprintf("tx-%d", o.last), MachineID: "m1", ProductID: "p1", Quantity: 1, AmountCents: int64(o.last)})
		if _, err := tx.Exec(`INSERT INTO outbox (seq, kind, time, data) VALUES (?, ?, ?, ?)`, o.last, string(envelope.KindSale), now.Format(time.RFC3339Nano), data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return o.last
}

func (o *sqliteOutbox) ReadAfter(ctx context.Context, after uint64, max int) ([]envelope.Record, error) {
	rows, err := o.db.QueryContext(ctx, `SELECT seq, kind, time, data FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?`, after, max)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []envelope.Record
	for rows.Next() {
		var e envelope.Event
		var ts string
		var kind string
		if err := rows.Scan(&e.Seq, &kind, &ts, &e.Data); err != nil {
			return nil, err
		}
		e.V, e.Site, e.Kind = envelope.Version, o.site, envelope.Kind(kind)
		if e.Time, err = time.Parse(time.RFC3339Nano, ts); err != nil {
			return nil, err
		}
		b, err := e.AppendJSON(nil)
		if err != nil {
			return nil, err
		}
		out = append(out, envelope.Record{Seq: e.Seq, Time: e.Time, JSON: b})
	}
	return out, rows.Err()
}

func (o *sqliteOutbox) Trim(ctx context.Context, upTo uint64) error {
	if o.onTrim != nil {
		if err := o.onTrim(upTo); err != nil {
			return err
		}
	}
	tx, err := o.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE seq <= ?`, upTo); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE outbox_acked SET up_to = max(up_to, ?)`, upTo); err != nil {
		return err
	}
	return tx.Commit()
}

func (o *sqliteOutbox) Acked(ctx context.Context) (uint64, error) {
	var n uint64
	err := o.db.QueryRowContext(ctx, `SELECT up_to FROM outbox_acked`).Scan(&n)
	return n, err
}

func (o *sqliteOutbox) Count(t *testing.T) int {
	t.Helper()
	var n int
	if err := o.db.QueryRow(`SELECT count(*) FROM outbox`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// aggregator is a tiny stand-in for central's aggregator: it consumes FLEET in
// order, keeps every event by sequence (its "read model", which survives hub
// restarts), and publishes watermarks per the protocol.
type aggregator struct {
	site string

	mu         sync.Mutex
	events     map[uint64]envelope.Event
	contiguous uint64
	maxSeen    uint64
	streamSeq  uint64 // last FLEET sequence consumed
	batches    int
	maxVersion int // the newest envelope version it says it reads (0: says nothing, as before negotiation)

	cc  jetstream.ConsumeContext
	sub *nats.Subscription
}

func newAggregator(site string) *aggregator {
	return &aggregator{site: site, events: map[uint64]envelope.Event{}}
}

// Attach starts consuming FLEET on nc after the last consumed sequence.
func (a *aggregator) Attach(t *testing.T, nc *nats.Conn) {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a.mu.Lock()
	start := a.streamSeq + 1
	a.mu.Unlock()
	var cons jetstream.Consumer
	testkit.CheckFor(t, 30*time.Second, func() error {
		var err error
		cons, err = js.OrderedConsumer(ctx, envelope.StreamIngest, jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{envelope.SubjectBatch(a.site)},
			DeliverPolicy:  jetstream.DeliverByStartSequencePolicy, OptStartSeq: start,
		})
		return err
	})
	cc, err := cons.Consume(func(m jetstream.Msg) {
		md, err := m.Metadata()
		if err != nil {
			return
		}
		f, err := envelope.ParseFrame(m.Data())
		if err != nil || f.Validate() != nil {
			return
		}
		evs := make([]envelope.Event, len(f.Events))
		for i, raw := range f.Events {
			if evs[i], err = envelope.DecodeEvent(raw); err != nil || evs[i].Seq != f.First+uint64(i) {
				return
			}
		}
		a.mu.Lock()
		a.streamSeq = md.Sequence.Stream
		a.batches++
		for _, e := range evs {
			if _, ok := a.events[e.Seq]; !ok {
				a.events[e.Seq] = e
			}
			a.maxSeen = max(a.maxSeen, e.Seq)
		}
		for {
			if _, ok := a.events[a.contiguous+1]; !ok {
				break
			}
			a.contiguous++
		}
		w := a.watermarkLocked()
		a.mu.Unlock()
		data, _ := json.Marshal(w)
		_ = nc.Publish(envelope.SubjectWatermarkPush(a.site), data)
	})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := nc.Subscribe(envelope.SubjectWatermarkRequest(a.site), func(m *nats.Msg) {
		a.mu.Lock()
		w := a.watermarkLocked()
		a.mu.Unlock()
		data, _ := json.Marshal(w)
		_ = m.Respond(data)
	})
	if err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	a.cc, a.sub = cc, sub
	a.mu.Unlock()
}

// Detach stops consuming (the read model is kept).
func (a *aggregator) Detach() {
	a.mu.Lock()
	cc, sub := a.cc, a.sub
	a.cc, a.sub = nil, nil
	a.mu.Unlock()
	if cc != nil {
		cc.Stop()
	}
	if sub != nil {
		_ = sub.Unsubscribe()
	}
}

func (a *aggregator) watermarkLocked() envelope.Watermark {
	w := envelope.Watermark{Site: a.site, Contiguous: a.contiguous, MaxSeen: a.maxSeen, At: time.Now().UTC()}
	if a.maxVersion != 0 {
		w.MinVersion, w.MaxVersion = envelope.MinVersion, a.maxVersion
	}
	return w
}

// SetMaxVersion makes the aggregator say it reads envelope versions up to v
// (an upgrade or an older central).
func (a *aggregator) SetMaxVersion(v int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.maxVersion = v
}

// Batches is how many batches the aggregator consumed.
func (a *aggregator) Batches() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.batches
}

func (a *aggregator) Contiguous() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.contiguous
}

// Verify checks that events 1..n all arrived with the data the outbox wrote.
func (a *aggregator) Verify(t *testing.T, n uint64) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.contiguous != n || a.maxSeen != n {
		t.Fatalf("aggregator contiguous=%d maxSeen=%d, want %d", a.contiguous, a.maxSeen, n)
	}
	for seq := uint64(1); seq <= n; seq++ {
		e, ok := a.events[seq]
		if !ok {
			t.Fatalf("event %d missing", seq)
		}
		var s envelope.Sale
		if err := json.Unmarshal(e.Data, &s); err != nil {
			t.Fatal(err)
		}
		if got, want := s.TransactionID, fmt.Sprintf("tx-%d", seq); got != want || e.Site != a.site {
			t.Fatalf("event %d is %s/%s, want %s/%s", seq, e.Site, got, a.site, want)
		}
	}
}
