// Package hqlog replicates central's own writes to every node.
//
// Sites' facts reach every central node through the FLEET stream, and each
// node folds them into its own read model, so any node answers any query.
// Writes that start at central (depots, vans, transfers, suppliers,
// purchase orders, pre-orders, …) must reach every node the same way, or a
// depot made through one node would be missing on the others. Such a write
// is an Entry on the replicated HQ_LOG stream: the node that takes the
// request publishes it, every node (that one included) applies the entries
// in stream order through the handler registered for their kind, each in
// one read-model transaction with its outcome and the log position
// (readmodel.Store.ApplyHQ), and the taking node answers the request with
// the outcome its own read model recorded.
//
// Handlers must be deterministic: the same read-model state and the same
// entry give the same outcome on every node. So an entry carries every
// value a handler would otherwise make up (ids, the time: Entry.At, which
// readmodel.Store.Clock returns inside a handler), and a handler refuses
// only on state that the HQ log itself orders (a purchase order's status,
// a depot that exists), never on state the FLEET stream changes, whose
// interleaving with the log differs between nodes (a van's stock after a
// site's restock): such checks belong before Do, at the taking node.
package hqlog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/errs"
)

// Stream and Subject of the HQ log.
const (
	Stream  = "HQ_LOG"
	Subject = "hq.log"
)

// Version is the entry format this binary writes.
const Version = 1

// Entry is one central write.
type Entry struct {
	V    int             `json:"v"`
	Kind string          `json:"kind"`
	By   string          `json:"by,omitempty"`
	At   time.Time       `json:"at"`
	Data json.RawMessage `json:"data"`
}

// Handler applies an entry to the read model and returns its result (any
// JSON value) or a refusal (*errs.Error of a kind other than Internal).
// It runs inside the entry's transaction: write through
// readmodel.Store.WriteTx and read the time from readmodel.Store.Clock.
type Handler func(ctx context.Context, e Entry) (any, error)

// Config configures a Log.
type Config struct {
	JS       jetstream.JetStream
	Store    *readmodel.Store
	Replicas int // 1, or 3 in a cluster
	Logger   zerolog.Logger
	// Wait bounds how long Do waits for this node to apply its entry
	// (default 15s).
	Wait time.Duration
	// Now is the clock of Entry.At (default time.Now).
	Now func() time.Time
}

// Log publishes and applies HQ log entries.
type Log struct {
	cfg      Config
	log      zerolog.Logger
	handlers map[string]Handler

	applied atomic.Uint64
	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever applied moves
	stuck   atomic.Pointer[error]

	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a Log; register handlers, then Open it.
func New(cfg Config) *Log {
	if cfg.Wait <= 0 {
		cfg.Wait = 15 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Replicas < 1 {
		cfg.Replicas = 1
	}
	return &Log{cfg: cfg, log: cfg.Logger.With().Str("component", "hqlog").Logger(),
		handlers: map[string]Handler{}, changed: make(chan struct{})}
}

// Handle registers the handler of kind. Call it before Open.
func (l *Log) Handle(kind string, h Handler) {
	if _, dup := l.handlers[kind]; dup {
		panic("hqlog: kind " + kind + " registered twice")
	}
	l.handlers[kind] = h
}

// StreamConfig is HQ_LOG's configuration: kept forever (it is the record of
// central's writes; a rebuilt read model replays it), deduplicated by
// message id for an hour.
func StreamConfig(replicas int) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:       Stream,
		Subjects:   []string{Subject},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		Replicas:   replicas,
		Duplicates: time.Hour,
	}
}

// Open makes sure the stream exists and starts applying entries after the
// read model's position.
func (l *Log) Open(ctx context.Context) error {
	if _, err := l.cfg.JS.CreateOrUpdateStream(ctx, StreamConfig(l.cfg.Replicas)); err != nil {
		return fmt.Errorf("open hq log: stream %s: %w", Stream, err)
	}
	pos, err := l.cfg.Store.HQPosition(ctx)
	if err != nil {
		return fmt.Errorf("open hq log: %w", err)
	}
	l.applied.Store(pos)
	run, cancel := context.WithCancel(context.Background())
	l.cancel, l.done = cancel, make(chan struct{})
	go func() {
		defer close(l.done)
		l.run(run)
	}()
	return nil
}

// Close stops applying; an entry being applied commits or rolls back first.
func (l *Log) Close() {
	if l.cancel != nil {
		l.cancel()
		<-l.done
	}
}

// Position is the sequence of the last entry this node applied.
func (l *Log) Position() uint64 { return l.applied.Load() }

// run applies entries until ctx is done, re-creating the consumer after a
// failure (a cluster failover) from the position reached.
func (l *Log) run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := l.consume(ctx)
		if ctx.Err() != nil {
			return
		}
		l.log.Warn().Err(err).Stringer("retry", backoff).Msg("hq log consumer stopped; starting again")
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (l *Log) consume(ctx context.Context) error {
	cons, err := l.cfg.JS.OrderedConsumer(ctx, Stream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: l.applied.Load() + 1})
	if err != nil {
		return fmt.Errorf("ordered consumer: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("messages: %w", err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	for {
		msg, err := it.Next()
		if err != nil {
			return err
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("metadata: %w", err)
		}
		if err := l.apply(ctx, meta.Sequence.Stream, msg.Data()); err != nil {
			return err
		}
	}
}

// apply applies entry seq; an entry this binary cannot read stops the log
// (order matters: nothing after it may be applied before it).
func (l *Log) apply(ctx context.Context, seq uint64, data []byte) error {
	if seq <= l.applied.Load() {
		return nil
	}
	var e Entry
	if err := json.Unmarshal(data, &e); err != nil {
		return l.halt(seq, fmt.Errorf("entry %d is not an HQ log entry: %w", seq, err))
	}
	h, ok := l.handlers[e.Kind]
	if !ok || e.V > Version {
		return l.halt(seq, fmt.Errorf("entry %d has kind %q version %d, which this binary cannot apply: upgrade this node", seq, e.Kind, e.V))
	}
	err := l.cfg.Store.ApplyHQ(ctx, seq, e.Kind, e.At, func(ctx context.Context) ([]byte, error) {
		res, err := h(ctx, e)
		if err != nil {
			return nil, err
		}
		return json.Marshal(res)
	})
	if err != nil {
		return err
	}
	l.stuck.Store(nil)
	l.advance(seq)
	return nil
}

// halt records why the log cannot go on and waits for a restart.
func (l *Log) halt(seq uint64, err error) error {
	l.stuck.Store(&err)
	l.log.Error().Err(err).Uint64("seq", seq).Msg("hq log stopped")
	l.mu.Lock()
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
	return err
}

func (l *Log) advance(seq uint64) {
	l.applied.Store(seq)
	l.mu.Lock()
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// ErrNotApplied is returned by Do when this node did not apply the entry in
// time; the entry is in the log and will be applied (by every node): the
// caller may retry with the same key to read its outcome.
var ErrNotApplied = errors.New("the write is recorded but this node has not applied it yet")

// Do publishes an entry of kind with data, by whom, deduplicated by key (a
// retry with the same key within an hour is the same entry; "" makes one),
// waits until this node has applied it, and decodes its result into out
// (nil: ignored). A refusal comes back as the handler's *errs.Error.
func (l *Log) Do(ctx context.Context, kind, by, key string, data, out any) error {
	if _, ok := l.handlers[kind]; !ok {
		return fmt.Errorf("hq log: no handler for kind %q", kind)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("hq log: encode %s: %w", kind, err)
	}
	b, err := json.Marshal(Entry{V: Version, Kind: kind, By: by, At: l.cfg.Now().UTC().Truncate(time.Millisecond), Data: raw})
	if err != nil {
		return fmt.Errorf("hq log: encode %s: %w", kind, err)
	}
	if key == "" {
		var k [16]byte
		_, _ = rand.Read(k[:])
		key = hex.EncodeToString(k[:])
	}
	msg := nats.NewMsg(Subject)
	msg.Data = b
	msg.Header.Set(jetstream.MsgIDHeader, kind+":"+key)
	ack, err := l.cfg.JS.PublishMsg(ctx, msg)
	if err != nil {
		return errs.Errorf(errs.Unavailable, "HQ_LOG_UNAVAILABLE", "", "central could not record the write (%v); nothing was changed, try again", err)
	}
	wctx, cancel := context.WithTimeout(ctx, l.cfg.Wait)
	defer cancel()
	for {
		l.mu.Lock()
		ch := l.changed
		l.mu.Unlock()
		if l.applied.Load() >= ack.Sequence {
			break
		}
		if p := l.stuck.Load(); p != nil {
			return errs.Errorf(errs.Unavailable, "HQ_LOG_STOPPED", "", "this node cannot apply central's writes (%v); the write is recorded", *p)
		}
		select {
		case <-ch:
		case <-wctx.Done():
			return errs.Errorf(errs.Unavailable, "HQ_LOG_BEHIND", "", "%v (entry %d, applied up to %d); retry with the same key", ErrNotApplied, ack.Sequence, l.applied.Load())
		}
	}
	res, err := l.cfg.Store.HQOutcome(ctx, ack.Sequence)
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(res, out); err != nil {
			return fmt.Errorf("hq log: decode %s result: %w", kind, err)
		}
	}
	return nil
}
