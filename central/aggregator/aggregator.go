// Package aggregator feeds a central node's read model from the FLEET ingest
// stream: a durable JetStream pull consumer per node fetches site batches,
// applies the batches waiting at the time (up to MaxGroup of them) in one
// read-model transaction and acknowledges each only after that commit, then
// tells each site its new watermark. One commit per group rather than per
// batch is what lets a node that fell behind catch up on a backlog of the
// small batches live traffic makes.
//
// Exactly-once in effect comes from the read model's keys, not from the
// stream: a redelivered batch changes nothing and is acknowledged again.
package aggregator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/sync/envelope"
)

// Config is what an Aggregator needs. JS, NC, Store and Durable are
// required; the rest have defaults.
type Config struct {
	// JS is central's JetStream (domain "hub").
	JS jetstream.JetStream
	// NC carries watermark pushes and answers watermark requests.
	NC *nats.Conn
	// Store is this node's read model.
	Store *readmodel.Store
	// Durable is this node's consumer name, derived from its server name.
	Durable string
	// Logger is derived per component; the zero value discards.
	Logger zerolog.Logger

	// Stream defaults to envelope.StreamIngest.
	Stream string
	// FetchBatch is how many messages one fetch asks for (default 64).
	FetchBatch int
	// FetchWait is how long one fetch waits for messages (default 1s).
	FetchWait time.Duration
	// AckWait is how long the server waits for an ack before redelivering
	// (default 30s).
	AckWait time.Duration
	// MaxGroup is the most batches applied in one read-model transaction
	// (default FetchBatch); MaxGroupEvents caps the events in one (default
	// 10,000), so a group of large batches holds the writer briefly.
	MaxGroup       int
	MaxGroupEvents int
	// RetryDelay is how long a batch that failed to apply for a storage
	// reason waits before redelivery (default 1s).
	RetryDelay time.Duration
	// Registerer, when set, receives the aggregator's metrics.
	Registerer prometheus.Registerer
}

// Validate names the first missing or bad field.
func (c Config) Validate() error {
	switch {
	case c.JS == nil:
		return errors.New("aggregator config: JS is required")
	case c.NC == nil:
		return errors.New("aggregator config: NC is required")
	case c.Store == nil:
		return errors.New("aggregator config: Store is required")
	case c.Durable == "" || strings.ContainsAny(c.Durable, ".*> \t"):
		return fmt.Errorf("aggregator config: Durable %q must be a non-empty name without '.', '*', '>' or spaces", c.Durable)
	case c.FetchBatch < 0 || c.FetchWait < 0 || c.AckWait < 0 || c.RetryDelay < 0 || c.MaxGroup < 0 || c.MaxGroupEvents < 0:
		return errors.New("aggregator config: FetchBatch, FetchWait, AckWait, RetryDelay, MaxGroup and MaxGroupEvents must not be negative")
	}
	return nil
}

// Aggregator consumes the ingest stream into a read model. New → Open →
// Close.
type Aggregator struct {
	cfg     Config
	log     zerolog.Logger
	metrics *metrics

	mu     sync.Mutex
	cancel context.CancelFunc
	g      *errgroup.Group
	sub    *nats.Subscription

	// Catching up: target is the stream's last sequence when Open ran;
	// caughtUp latches once every message up to it is settled; behind is
	// how many messages of that backlog were unsettled at the last look.
	target   atomic.Uint64
	caughtUp atomic.Bool
	behind   atomic.Uint64
}

// New checks cfg, fills its defaults and registers the metrics (when
// cfg.Registerer is set). It returns an error naming a bad field.
func New(cfg Config) (*Aggregator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Stream == "" {
		cfg.Stream = envelope.StreamIngest
	}
	if cfg.FetchBatch == 0 {
		cfg.FetchBatch = 64
	}
	if cfg.MaxGroup == 0 {
		cfg.MaxGroup = cfg.FetchBatch
	}
	if cfg.MaxGroupEvents == 0 {
		cfg.MaxGroupEvents = 10000
	}
	if cfg.FetchWait == 0 {
		cfg.FetchWait = time.Second
	}
	if cfg.AckWait == 0 {
		cfg.AckWait = 30 * time.Second
	}
	if cfg.RetryDelay == 0 {
		cfg.RetryDelay = time.Second
	}
	m := newMetrics(cfg.Durable)
	if cfg.Registerer != nil {
		if err := m.register(cfg.Registerer); err != nil {
			return nil, fmt.Errorf("register aggregator metrics: %w", err)
		}
	}
	return &Aggregator{
		cfg:     cfg,
		log:     cfg.Logger.With().Str("component", "aggregator").Str("durable", cfg.Durable).Logger(),
		metrics: m,
	}, nil
}

// Open makes sure the durable consumer exists and starts where the read
// model left off, starts answering watermark requests, and starts the fetch
// loop. It returns an error when the stream or consumer cannot be reached.
func (a *Aggregator) Open(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cancel != nil {
		return errors.New("open aggregator: already open")
	}
	cons, err := a.consumer(ctx)
	if err != nil {
		return fmt.Errorf("open aggregator: %w", err)
	}
	stream, err := a.cfg.JS.Stream(ctx, a.cfg.Stream)
	if err != nil {
		return fmt.Errorf("open aggregator: stream %s: %w", a.cfg.Stream, err)
	}
	si, err := stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("open aggregator: stream %s info: %w", a.cfg.Stream, err)
	}
	a.target.Store(si.State.LastSeq)
	a.behind.Store(si.State.LastSeq)
	// Nothing to catch up on (a new stream, or a read model at its end): ready at once.
	ci, err := cons.Info(ctx)
	a.caughtUp.Store(si.State.LastSeq == 0 || err == nil && ci.AckFloor.Stream >= si.State.LastSeq)
	// Any node can answer: each answers from its own committed read model.
	sub, err := a.cfg.NC.QueueSubscribe(envelope.SubjectWatermarkRequestAll, "vendsync-watermark", a.answerWatermark)
	if err != nil {
		return fmt.Errorf("open aggregator: subscribe watermark requests: %w", err)
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	g, gctx := errgroup.WithContext(loopCtx)
	g.Go(func() error { return a.run(gctx, cons) })
	g.Go(func() error { return a.watchCatchUp(gctx, cons) })
	a.cancel, a.g, a.sub = cancel, g, sub
	a.log.Info().Str("stream", a.cfg.Stream).Msg("aggregator started")
	return nil
}

// Close stops fetching, waits for the batch in progress to commit (or roll
// back) and stops answering watermark requests. Unacknowledged messages are
// redelivered to the next Open.
func (a *Aggregator) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cancel == nil {
		return nil
	}
	a.cancel()
	err := a.g.Wait()
	uerr := a.sub.Unsubscribe()
	a.cancel, a.g, a.sub = nil, nil, nil
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("close aggregator: %w", err)
	}
	if uerr != nil && !errors.Is(uerr, nats.ErrConnectionClosed) {
		return fmt.Errorf("close aggregator: unsubscribe: %w", uerr)
	}
	return nil
}

// CatchUpPoll is how often an aggregator that is catching up asks its
// consumer how far it has come.
const CatchUpPoll = 200 * time.Millisecond

// ErrBehind is returned by CaughtUp (wrapped, with how far behind) while the
// read model has not yet applied the backlog the stream held at Open.
var ErrBehind = errors.New("read model is catching up")

// CaughtUp returns nil once the read model has settled every message the
// stream held when Open ran (and stays nil from then on: later traffic is
// normal work, not a backlog), or an error wrapping ErrBehind saying how
// many messages are still unsettled. A node that answers before it has
// caught up serves totals older than its peers'.
func (a *Aggregator) CaughtUp(context.Context) error {
	if a.caughtUp.Load() {
		return nil
	}
	return fmt.Errorf("%w: %d messages of the stream not yet applied (backlog up to stream sequence %d)", ErrBehind, a.behind.Load(), a.target.Load())
}

// Behind reports how many messages the read model still has to apply while
// it catches up after Open, and whether it is still catching up.
func (a *Aggregator) Behind() (uint64, bool) {
	if a.caughtUp.Load() {
		return 0, false
	}
	return a.behind.Load(), true
}

// watchCatchUp polls the consumer until every message up to the Open-time
// target is settled (acknowledged or terminated), then latches caughtUp.
func (a *Aggregator) watchCatchUp(ctx context.Context, cons jetstream.Consumer) error {
	if a.caughtUp.Load() {
		return nil
	}
	target := a.target.Load()
	t := time.NewTicker(CatchUpPoll)
	defer t.Stop()
	for {
		ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
		info, err := cons.Info(ictx)
		cancel()
		if err == nil {
			floor := info.AckFloor.Stream
			if floor >= target {
				a.behind.Store(0)
				a.caughtUp.Store(true)
				a.log.Info().Uint64("stream_seq", floor).Msg("read model caught up")
				return nil
			}
			a.behind.Store(target - floor)
		} else if ctx.Err() == nil {
			a.log.Debug().Err(err).Msg("consumer info failed; retrying")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// consumer returns the durable consumer, creating it to start just after the
// read model's recorded stream position. A consumer that has acknowledged
// more than the read model holds (the read model file is new or was
// restored from an older copy) is recreated from the read model's position:
// redelivery is harmless, skipping is not.
func (a *Aggregator) consumer(ctx context.Context) (jetstream.Consumer, error) {
	pos, err := a.cfg.Store.Position(ctx)
	if err != nil {
		return nil, err
	}
	cons, err := a.cfg.JS.Consumer(ctx, a.cfg.Stream, a.cfg.Durable)
	switch {
	case err == nil:
		info, err := cons.Info(ctx)
		if err != nil {
			return nil, fmt.Errorf("consumer %s info: %w", a.cfg.Durable, err)
		}
		if info.AckFloor.Stream <= pos {
			return cons, nil
		}
		a.log.Warn().Uint64("consumer_ack_floor", info.AckFloor.Stream).Uint64("read_model_position", pos).
			Msg("read model is behind its consumer: recreating the consumer from the read model's position")
		if err := a.cfg.JS.DeleteConsumer(ctx, a.cfg.Stream, a.cfg.Durable); err != nil {
			return nil, fmt.Errorf("delete consumer %s: %w", a.cfg.Durable, err)
		}
	case !errors.Is(err, jetstream.ErrConsumerNotFound):
		return nil, fmt.Errorf("consumer %s: %w", a.cfg.Durable, err)
	}
	cc := jetstream.ConsumerConfig{
		Durable:       a.cfg.Durable,
		Description:   "vendsync read model of node " + a.cfg.Durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       a.cfg.AckWait,
		MaxAckPending: 4 * a.cfg.FetchBatch,
		FilterSubject: envelope.SubjectBatchAll,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	if pos > 0 {
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, pos+1
	}
	cons, err = a.cfg.JS.CreateConsumer(ctx, a.cfg.Stream, cc)
	if err != nil {
		return nil, fmt.Errorf("create consumer %s: %w", a.cfg.Durable, err)
	}
	return cons, nil
}

// TooNewDelay is how long a batch newer than this binary reads waits before
// it is delivered again (to this node, or to its upgraded successor).
const TooNewDelay = 30 * time.Second

// item is a fetched message ready to apply.
type item struct {
	msg  jetstream.Msg
	seq  uint64
	prep *readmodel.Prepared
}

// run fetches and applies until ctx ends, as a two-stage pipeline: one
// goroutine fetches, decodes and prepares (CPU work that needs no database),
// the other applies in stream order, so both cores work during a catch-up.
// The applier takes every item waiting when it is free (up to MaxGroup and
// MaxGroupEvents) as one group: under live traffic a group is one batch, as
// before; during a catch-up it is many, with one commit for all.
func (a *Aggregator) run(ctx context.Context, cons jetstream.Consumer) error {
	items := make(chan item, a.cfg.FetchBatch)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(items)
		return a.fetch(ctx, cons, items)
	})
	g.Go(func() error {
		group := make([]item, 0, a.cfg.MaxGroup)
		for it := range items {
			group = a.gather(append(group[:0], it), items)
			if ctx.Err() != nil {
				// Closing: hand the rest back at once rather than after AckWait.
				for _, it := range group {
					_ = it.msg.Nak()
				}
				continue
			}
			a.applyGroup(ctx, group)
		}
		return nil
	})
	return g.Wait()
}

// fetch feeds items until ctx ends. Fetch errors (a leader election, a lost
// connection) are logged and retried; they never end the loop.
//
// A fetch is bounded by the server's expiry of the pull request
// (FetchMaxWait), not by a context: a fetch whose context ends stops reading
// at once, and the messages the server had already delivered to it are
// dropped unacknowledged, to come back only after AckWait (a 30 s stall of
// the whole catch-up when the applier was busy and the fetch waited on it).
// The server ends the request after the last message it sends, so nothing
// delivered is dropped; on Close, a fetch ends within FetchWait and what it
// still returns is handed back with Nak.
func (a *Aggregator) fetch(ctx context.Context, cons jetstream.Consumer, items chan<- item) error {
	for ctx.Err() == nil {
		batch, err := cons.Fetch(a.cfg.FetchBatch, jetstream.FetchMaxWait(a.cfg.FetchWait))
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			a.metrics.fetchErrors.Inc()
			a.log.Warn().Err(err).Msg("fetch failed; retrying")
			a.sleep(ctx, a.cfg.RetryDelay)
			continue
		}
		for msg := range batch.Messages() {
			if ctx.Err() != nil {
				_ = msg.Nak()
				continue
			}
			it, ok := a.prepare(msg)
			if !ok {
				continue
			}
			select {
			case items <- it:
			case <-ctx.Done():
				_ = msg.Nak()
			}
		}
		if err := batch.Error(); err != nil && ctx.Err() == nil &&
			!errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) {
			a.metrics.fetchErrors.Inc()
			a.log.Warn().Err(err).Msg("fetch ended with an error; retrying")
			a.sleep(ctx, a.cfg.RetryDelay)
		}
	}
	return ctx.Err()
}

func (a *Aggregator) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// prepare decodes and prepares one message. A message that can never apply
// is terminated here and ok is false.
func (a *Aggregator) prepare(msg jetstream.Msg) (item, bool) {
	meta, err := msg.Metadata()
	if err != nil {
		a.terminate(msg, "no metadata", err)
		return item{}, false
	}
	a.metrics.lag.Set(float64(meta.NumPending))
	f, err := envelope.ParseFrame(msg.Data())
	if err != nil {
		a.terminate(msg, "malformed batch", err)
		return item{}, false
	}
	if err := envelope.CheckVersion("batch", f.V); errors.Is(err, envelope.ErrTooNew) {
		// Written by a newer binary (a site that heard from an upgraded
		// node during a roll-out): not poison. Keep it in the stream for
		// this node's upgraded successor; the site keeps it in its outbox
		// until a watermark covers it.
		a.metrics.batches.WithLabelValues("too_new").Inc()
		a.log.Warn().Err(err).Str("subject", msg.Subject()).Msg("batch too new for this node; keeping it for an upgraded node")
		if nerr := msg.NakWithDelay(TooNewDelay); nerr != nil {
			a.log.Warn().Err(nerr).Msg("nak failed")
		}
		return item{}, false
	}
	// A site may publish only under fleet.<its site>.>: a batch naming
	// another site is refused.
	if site := subjectSite(msg.Subject()); site != f.Site {
		a.terminate(msg, "batch site does not match subject", fmt.Errorf("subject %s carries site %q", msg.Subject(), f.Site))
		return item{}, false
	}
	p, err := a.cfg.Store.Prepare(f)
	if err != nil {
		a.terminate(msg, "invalid batch", err)
		return item{}, false
	}
	return item{msg: msg, seq: meta.Sequence.Stream, prep: p}, true
}

// gather adds to group the items already waiting in items, without
// waiting for more, up to MaxGroup items and MaxGroupEvents events.
func (a *Aggregator) gather(group []item, items <-chan item) []item {
	n := group[0].prep.Events()
	for len(group) < a.cfg.MaxGroup && n < a.cfg.MaxGroupEvents {
		select {
		case it, ok := <-items:
			if !ok {
				return group
			}
			group = append(group, it)
			n += it.prep.Events()
		default:
			return group
		}
	}
	return group
}

// applyGroup commits a group of prepared messages in one transaction and
// settles each: Ack after the commit, Term for one the store refused as
// invalid. When the group's transaction fails, each message is applied on
// its own, so one that keeps failing delays only itself.
func (a *Aggregator) applyGroup(ctx context.Context, group []item) {
	if len(group) == 1 {
		a.apply(ctx, group[0])
		return
	}
	start := time.Now()
	gi := make([]readmodel.GroupItem, len(group))
	for i, it := range group {
		gi[i] = readmodel.GroupItem{StreamSeq: it.seq, Prepared: it.prep}
	}
	// Not cancelled by Close: Close waits for the group in progress instead.
	res, err := a.cfg.Store.ApplyGroup(context.WithoutCancel(ctx), gi)
	if err != nil {
		a.log.Warn().Err(err).Int("batches", len(group)).Uint64("stream_seq", group[0].seq).
			Msg("group apply failed; applying its batches one by one")
		for _, it := range group {
			a.apply(ctx, it)
		}
		return
	}
	a.metrics.applySeconds.Observe(time.Since(start).Seconds())
	for i, it := range group {
		if res[i].Err != nil {
			a.terminate(it.msg, "invalid batch", res[i].Err)
			continue
		}
		a.settle(it, res[i].Result)
	}
}

// apply commits one prepared message and settles it: Ack after commit,
// NakWithDelay when the store failed.
func (a *Aggregator) apply(ctx context.Context, it item) {
	start := time.Now()
	// Not cancelled by Close: Close waits for the batch in progress instead.
	res, err := a.cfg.Store.ApplyPrepared(context.WithoutCancel(ctx), it.seq, it.prep)
	switch {
	case errors.Is(err, readmodel.ErrInvalidBatch):
		a.terminate(it.msg, "invalid batch", err)
		return
	case err != nil:
		a.metrics.batches.WithLabelValues("retry").Inc()
		a.log.Error().Err(err).Uint64("stream_seq", it.seq).Msg("apply failed; redelivering")
		if nerr := it.msg.NakWithDelay(a.cfg.RetryDelay); nerr != nil {
			a.log.Warn().Err(nerr).Msg("nak failed")
		}
		return
	}
	a.metrics.applySeconds.Observe(time.Since(start).Seconds())
	a.settle(it, res)
}

// settle acknowledges a committed message, counts it and pushes its site's
// watermark.
func (a *Aggregator) settle(it item, res readmodel.Result) {
	// Ack only now that the read model committed. A lost ack means a
	// redelivery, which changes nothing.
	if err := it.msg.Ack(); err != nil {
		a.log.Warn().Err(err).Uint64("stream_seq", it.seq).Msg("ack failed; the batch will be redelivered")
	}
	a.metrics.batches.WithLabelValues("applied").Inc()
	a.metrics.events.WithLabelValues("applied").Add(float64(res.Applied))
	a.metrics.events.WithLabelValues("duplicate").Add(float64(res.Duplicates))
	a.metrics.events.WithLabelValues("skipped").Add(float64(res.Skipped))
	a.pushWatermark(res.Watermark)
}

func (a *Aggregator) terminate(msg jetstream.Msg, reason string, err error) {
	a.metrics.batches.WithLabelValues("terminated").Inc()
	a.log.Error().Err(err).Str("subject", msg.Subject()).Str("reason", reason).Msg("terminating message")
	if terr := msg.TermWithReason(reason); terr != nil {
		a.log.Warn().Err(terr).Msg("term failed")
	}
}

func (a *Aggregator) pushWatermark(w readmodel.Watermark) {
	data, err := json.Marshal(toWire(w))
	if err != nil {
		return // a struct of strings, integers and a time always marshals
	}
	if err := a.cfg.NC.Publish(envelope.SubjectWatermarkPush(w.Site), data); err != nil {
		a.log.Warn().Err(err).Str("site", w.Site).Msg("push watermark failed")
	}
}

// answerWatermark replies to fleet.<site>.wm with the site's Watermark.
func (a *Aggregator) answerWatermark(m *nats.Msg) {
	site := subjectSite(m.Subject)
	if err := envelope.ValidateSiteID(site); err != nil || m.Reply == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w, err := a.cfg.Store.Watermark(ctx, site)
	if err != nil {
		a.log.Error().Err(err).Str("site", site).Msg("read watermark failed")
		return // the site asks again
	}
	data, err := json.Marshal(toWire(w))
	if err != nil {
		return
	}
	if err := m.Respond(data); err != nil {
		a.log.Warn().Err(err).Str("site", site).Msg("answer watermark failed")
	}
}

// toWire is w as sites read it, with the range of envelope versions this
// node reads: a site newer than that waits instead of sending.
func toWire(w readmodel.Watermark) envelope.Watermark {
	return envelope.Watermark{Site: w.Site, Contiguous: w.Contiguous, MaxSeen: w.MaxSeen, At: time.Now().UTC(),
		MinVersion: envelope.MinVersion, MaxVersion: envelope.Version}
}

// subjectSite returns the <site> token of fleet.<site>.<...>, or "".
func subjectSite(subject string) string {
	rest, ok := strings.CutPrefix(subject, "fleet.")
	if !ok {
		return ""
	}
	site, _, ok := strings.Cut(rest, ".")
	if !ok {
		return ""
	}
	return site
}
