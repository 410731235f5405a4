// Package forward is a site's uplink: it reads the outbox in order, publishes
// contiguous batches of events to central's ingest stream over the leaf
// connection, and trims the outbox only below the watermark central's read
// model reports, never on a stream acknowledgement alone.
//
// A batch is an envelope.Frame: a header line and each event's JSON exactly
// as the outbox stored it. The forwarder never decodes an event.
//
// # Watermark protocol
//
// Central publishes an envelope.Watermark on envelope.SubjectWatermarkPush
// after each commit and answers requests on envelope.SubjectWatermarkRequest.
// The forwarder
//   - trims the outbox to Contiguous;
//   - resends from Contiguous+1 when MaxSeen > Contiguous (central saw a gap),
//     or when every batch is acknowledged by the stream but the watermark does
//     not reach them within StallTimeout;
//   - after a failed publish (offline, hub down), backs off with jitter, then
//     asks for the watermark and resends from Contiguous+1.
//
// # Versions
//
// Every watermark names the envelope versions central reads
// (Watermark.MaxVersion). A site whose envelope.Version is newer than that
// sends nothing: it keeps its outbox (sales are still acknowledged locally)
// and asks again every PollInterval, so it drains on its own once central is
// upgraded. Until it has heard from central it sends only what every central
// reads (envelope.BaseVersion).
//
// # Message ids
//
// A batch's Nats-Msg-Id is <site>:<first>-<last>/<nonce>, so a retried
// publish of the same batch is dropped by the stream's duplicate window. The
// nonce is random, chosen when the forwarder opens and never sent anywhere
// but in the ids: the duplicate window is shared by every site, and another
// site that could predict this site's ids could publish them first (on its
// own subject) and have this site's real batches dropped as duplicates. A
// resend because central lost something must not be dropped, so every resend
// epoch n (counted from 1 since the forwarder opened) appends "r<n>":
// <site>:<first>-<last>/<nonce>r<n>. Central's read model deduplicates by
// event sequence, so a batch that arrives twice (after a restart, say)
// changes nothing.
package forward

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/vendsync/vendsync/sync/envelope"
)

// Outbox is the site's durable queue of events, implemented by the edge store.
type Outbox interface {
	// ReadAfter returns up to max events with Seq > after, ascending and
	// gap-free, as stored: the forwarder sends their JSON unchanged.
	ReadAfter(ctx context.Context, after uint64, max int) ([]envelope.Record, error)
	// Trim drops events with Seq <= upTo and remembers upTo as central's
	// watermark.
	Trim(ctx context.Context, upTo uint64) error
	// Acked returns the last watermark passed to Trim (0 if none).
	Acked(ctx context.Context) (uint64, error)
}

// Config configures a Forwarder.
type Config struct {
	Site   string     // the site id
	TZ     string     // the site's IANA timezone, carried in every batch
	Conn   *nats.Conn // a connection to the site's server with inbox prefix envelope.InboxPrefix(Site)
	Outbox Outbox

	BatchSize    int           // events per batch; default 500
	MaxInFlight  int           // batches awaiting a stream ack; default 4
	AckTimeout   time.Duration // wait for one stream ack; default 5s
	StallTimeout time.Duration // wait for the watermark to cover acked batches before resending; default 30s
	PollInterval time.Duration // look at the outbox this often even without Poke; default 1s
	MinBackoff   time.Duration // first pause after a failure; default 250ms
	MaxBackoff   time.Duration // longest pause; default 30s

	// Registerer, if set, receives the forwarder's metrics.
	Registerer prometheus.Registerer
	Logger     zerolog.Logger
}

func (c *Config) setDefaults() {
	if c.BatchSize == 0 {
		c.BatchSize = 500
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 4
	}
	if c.AckTimeout == 0 {
		c.AckTimeout = 5 * time.Second
	}
	if c.StallTimeout == 0 {
		c.StallTimeout = 30 * time.Second
	}
	if c.PollInterval == 0 {
		c.PollInterval = time.Second
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = 250 * time.Millisecond
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 30 * time.Second
	}
}

// Validate names the first bad field.
func (c Config) Validate() error {
	if err := envelope.ValidateSiteID(c.Site); err != nil {
		return fmt.Errorf("forward config: Site: %w", err)
	}
	switch {
	case c.Conn == nil:
		return errors.New("forward config: Conn is required")
	case c.Outbox == nil:
		return errors.New("forward config: Outbox is required")
	case c.BatchSize < 1:
		return fmt.Errorf("forward config: BatchSize must be positive, not %d", c.BatchSize)
	case c.MaxInFlight < 1:
		return fmt.Errorf("forward config: MaxInFlight must be positive, not %d", c.MaxInFlight)
	case c.MinBackoff > c.MaxBackoff:
		return errors.New("forward config: MinBackoff is above MaxBackoff")
	}
	return nil
}

// Forwarder drains a site's outbox to central. Create it with New, start it
// with Open and stop it with Close.
type Forwarder struct {
	cfg Config
	log zerolog.Logger
	js  jetstream.JetStream
	m   *metrics

	poke chan struct{}
	wmCh chan envelope.Watermark

	// full is whether the last Trim failed because the site's storage is
	// full; only its changes are logged, not every retry.
	full atomic.Bool

	mu      sync.Mutex
	last    envelope.Watermark
	waiting bool // the last watermark said central cannot read this site's version
	cancel  context.CancelFunc
	g       *errgroup.Group
	sub     *nats.Subscription
}

// New checks cfg and prepares a forwarder; it starts nothing. It returns an
// error for a bad config or if the metrics cannot be registered.
func New(cfg Config) (*Forwarder, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	js, err := jetstream.New(cfg.Conn,
		// Futures of a dropped window still count as pending until they
		// resolve, so leave room for a few windows.
		jetstream.WithPublishAsyncMaxPending(4*cfg.MaxInFlight),
		jetstream.WithPublishAsyncTimeout(cfg.AckTimeout))
	if err != nil {
		return nil, fmt.Errorf("new forwarder: %w", err)
	}
	m := newMetrics(cfg.Site)
	if cfg.Registerer != nil {
		if err := m.register(cfg.Registerer); err != nil {
			return nil, fmt.Errorf("new forwarder: metrics: %w", err)
		}
	}
	return &Forwarder{
		cfg:  cfg,
		log:  cfg.Logger.With().Str("component", "forwarder").Str("site", cfg.Site).Logger(),
		js:   js,
		m:    m,
		poke: make(chan struct{}, 1),
		wmCh: make(chan envelope.Watermark, 64),
	}, nil
}

// Open subscribes to the site's watermark pushes and starts the forwarding
// loop. It returns an error if the subscription fails.
func (f *Forwarder) Open(ctx context.Context) error {
	sub, err := f.cfg.Conn.Subscribe(envelope.SubjectWatermarkPush(f.cfg.Site), func(m *nats.Msg) {
		var w envelope.Watermark
		if err := json.Unmarshal(m.Data, &w); err != nil || w.Site != f.cfg.Site {
			return
		}
		select {
		case f.wmCh <- w:
		default: // the loop is behind; a later push or request carries the same news
		}
	})
	if err != nil {
		return fmt.Errorf("open forwarder: subscribe watermark: %w", err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	g, ctx := errgroup.WithContext(ctx)
	f.mu.Lock()
	f.sub, f.cancel, f.g = sub, cancel, g
	f.mu.Unlock()
	g.Go(func() error { return f.run(ctx) })
	return nil
}

// Close stops the loop and waits for it. Unacknowledged batches stay in the
// outbox and are sent again by the next forwarder. It returns the loop's error,
// if it stopped on one.
func (f *Forwarder) Close() error {
	f.mu.Lock()
	cancel, g, sub := f.cancel, f.g, f.sub
	f.cancel, f.g, f.sub = nil, nil, nil
	f.mu.Unlock()
	if sub != nil {
		_ = sub.Unsubscribe()
	}
	if cancel == nil {
		return nil
	}
	cancel()
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// Poke tells the forwarder that new rows are in the outbox. It never blocks.
func (f *Forwarder) Poke() {
	select {
	case f.poke <- struct{}{}:
	default:
	}
}

// Watermark returns the last watermark received from central.
func (f *Forwarder) Watermark() envelope.Watermark {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// WaitingForCentral reports whether the forwarder holds its outbox back
// because central does not read this site's envelope version yet, and the
// newest version central reads (0: not heard from central yet).
func (f *Forwarder) WaitingForCentral() (waiting bool, centralReads int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last.Site != "" {
		centralReads = f.last.CentralReads()
	}
	return f.waiting, centralReads
}

// inflight is one published batch awaiting its stream ack.
type inflight struct {
	first, last uint64
	fut         jetstream.PubAckFuture
}

// loop state, owned by run.
type state struct {
	next       uint64 // next sequence to publish
	trimmed    uint64 // outbox trimmed up to here (central's contiguous watermark)
	maxRead    uint64 // highest sequence read from the outbox
	epoch      int    // resend epoch; 0 = first sends
	nonce      string // this run's secret part of every message id
	window     []inflight
	progress   time.Time // last time the watermark moved or the sent frontier was behind nothing
	resentFrom uint64    // the first sequence of the last resend (0 = none), to resend once per gap
	failures   int
	central    int // newest envelope version central reads; 0 = not heard yet
}

// canSend reports whether central reads this binary's batches: as it last
// said, or, before it said anything, if they are of a version every central
// reads.
func (st *state) canSend() bool {
	if st.central == 0 {
		return envelope.Version <= envelope.BaseVersion
	}
	return envelope.Version <= st.central
}

func (f *Forwarder) run(ctx context.Context) error {
	var st *state
	for st == nil {
		acked, err := f.cfg.Outbox.Acked(ctx)
		if err != nil {
			if err := f.pause(ctx, fmt.Errorf("read acked watermark: %w", err)); err != nil {
				return err
			}
			continue
		}
		st = &state{next: acked + 1, trimmed: acked, progress: time.Now(), nonce: newNonce()}
	}
	f.m.watermark.Set(float64(st.trimmed))
	f.refreshOldest(ctx, st)
	// Ask where central is; if the link is down, start from our own record.
	if w, err := f.requestWatermark(ctx); err == nil {
		if err := f.applyWatermark(ctx, st, w); err != nil {
			f.log.Warn().Err(err).Msg("apply watermark")
		}
	}

	poll := time.NewTicker(f.cfg.PollInterval)
	defer poll.Stop()
	for {
		err := f.step(ctx, st, poll.C)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			// The outbox failed (a busy or full disk, say): nothing is lost
			// by waiting and reading again from the last acknowledged point.
			st.window = nil
			st.next = st.trimmed + 1
			if err := f.pause(ctx, err); err != nil {
				return err
			}
		}
	}
}

// pause logs an outbox error and waits before the loop tries again.
func (f *Forwarder) pause(ctx context.Context, cause error) error {
	f.m.failures.Inc()
	if storageFull(cause) {
		// noteFull said so once; every retry while it lasts is noise.
		f.log.Debug().Err(cause).Msg("outbox error; retrying")
	} else {
		f.log.Error().Err(cause).Msg("outbox error; retrying")
	}
	t := time.NewTimer(backoff(f.cfg.MinBackoff, f.cfg.MaxBackoff, 4))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// step fills the window and handles one event: a poke, a tick, a watermark
// or the oldest in-flight batch's ack. It returns outbox errors.
func (f *Forwarder) step(ctx context.Context, st *state, tick <-chan time.Time) error {
	if err := f.fill(ctx, st); err != nil {
		return err
	}
	var ackCh <-chan *jetstream.PubAck
	var errCh <-chan error
	if len(st.window) > 0 {
		ackCh, errCh = st.window[0].fut.Ok(), st.window[0].fut.Err()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-f.poke:
	case <-tick:
		if !st.canSend() || st.central == 0 {
			// Waiting for central's upgrade, or central's versions not
			// known yet (nothing sent since the start): ask. Offline, the
			// next tick asks again.
			if w, err := f.requestWatermark(ctx); err == nil {
				return f.applyWatermark(ctx, st, w)
			}
			return nil
		}
		return f.checkStall(ctx, st)
	case w := <-f.wmCh:
		return f.applyWatermark(ctx, st, w)
	case <-ackCh:
		st.window = st.window[1:]
		st.failures = 0
		f.m.batches.Inc()
	case err := <-errCh:
		f.m.failures.Inc()
		return f.recover(ctx, st, err)
	}
	return nil
}

// fill publishes batches until the window is full or the outbox is drained.
func (f *Forwarder) fill(ctx context.Context, st *state) error {
	for len(st.window) < f.cfg.MaxInFlight && st.canSend() {
		recs, err := f.cfg.Outbox.ReadAfter(ctx, st.next-1, f.cfg.BatchSize)
		if err != nil {
			return fmt.Errorf("forwarder: read outbox: %w", err)
		}
		if len(recs) == 0 {
			return nil
		}
		data, h, err := f.frame(st.next, recs)
		if err != nil {
			return err
		}
		id := MsgID(&h, st.nonce, st.epoch)
		msg := nats.NewMsg(envelope.SubjectBatch(f.cfg.Site))
		msg.Data = data
		fut, err := f.js.PublishMsgAsync(msg, jetstream.WithMsgID(id),
			jetstream.WithExpectStream(envelope.StreamIngest), jetstream.WithRetryAttempts(0))
		if err != nil {
			f.m.failures.Inc()
			if err := f.recover(ctx, st, err); err != nil {
				return err
			}
			continue
		}
		st.window = append(st.window, inflight{first: h.First, last: h.Last, fut: fut})
		st.next = h.Last + 1
		if h.Last > st.maxRead {
			st.maxRead = h.Last
		}
		f.m.depth.Set(float64(st.maxRead - st.trimmed))
	}
	return nil
}

// frame builds the batch message of recs, which must start at next and be
// contiguous: the stored JSON of each event, framed (envelope.Frame), not
// decoded and encoded again.
func (f *Forwarder) frame(next uint64, recs []envelope.Record) ([]byte, envelope.Header, error) {
	h := envelope.Header{V: envelope.Version, Site: f.cfg.Site, TZ: f.cfg.TZ, First: recs[0].Seq, Last: recs[len(recs)-1].Seq}
	fr := envelope.Frame{Header: h, Events: make([][]byte, len(recs))}
	size := 128
	for i := range recs {
		if recs[i].Seq != next+uint64(i) {
			return nil, h, fmt.Errorf("forwarder: outbox returned seq %d after %d, want %d", recs[i].Seq, next-1, next+uint64(i))
		}
		fr.Events[i] = recs[i].JSON
		size += len(recs[i].JSON) + 1
	}
	data, err := fr.Append(make([]byte, 0, size))
	if err != nil {
		return nil, h, fmt.Errorf("forwarder: %w", err)
	}
	return data, h, nil
}

// MsgID is the Nats-Msg-Id of the batch h heads, sent by the forwarder run
// with nonce in resend epoch n: h.MsgID()+"/<nonce>" for n == 0,
// h.MsgID()+"/<nonce>r<n>" after.
func MsgID(h *envelope.Header, nonce string, n int) string {
	if n == 0 {
		return h.MsgID() + "/" + nonce
	}
	return fmt.Sprintf("%s/%sr%d", h.MsgID(), nonce, n)
}

// newNonce returns 96 random bits, hex-encoded: beyond guessing.
func newNonce() string {
	var b [12]byte
	_, _ = crand.Read(b[:]) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b[:])
}

// recover handles a failed publish: drop the window, back off with jitter,
// then restart from central's watermark if it answers, else from the oldest
// unacknowledged batch.
func (f *Forwarder) recover(ctx context.Context, st *state, cause error) error {
	from := st.next
	if len(st.window) > 0 {
		from = st.window[0].first
	}
	st.window = nil
	st.failures++
	d := backoff(f.cfg.MinBackoff, f.cfg.MaxBackoff, st.failures)
	if st.failures == 1 || st.failures%20 == 0 {
		f.log.Warn().Err(cause).Uint64("from", from).Stringer("retry_in", d.Round(time.Millisecond)).Int("failures", st.failures).Msg("uplink publish failed")
	}
	t := time.NewTimer(d)
	defer t.Stop()
	// With no route to central (the link is down: nothing was sent), the
	// backoff grows to MaxBackoff during an outage; once central answers a
	// watermark request the link is back, so the wait ends there rather
	// than up to MaxBackoff later. Asking is local while the link is down.
	var probe <-chan time.Time
	if linkDown(cause) && d > f.cfg.PollInterval {
		pt := time.NewTicker(f.cfg.PollInterval)
		defer pt.Stop()
		probe = pt.C
	}
wait:
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case w := <-f.wmCh:
			if err := f.applyWatermark(ctx, st, w); err != nil {
				return err
			}
		case <-probe:
			if _, err := f.requestWatermark(ctx); err == nil {
				f.log.Info().Int("failures", st.failures).Msg("uplink: central answers again")
				st.failures = 0
				break wait
			}
		case <-t.C:
			break wait
		}
	}
	st.next = max(from, st.trimmed+1)
	if w, err := f.requestWatermark(ctx); err == nil {
		if err := f.applyWatermark(ctx, st, w); err != nil {
			return err
		}
		st.next = max(w.Contiguous, st.trimmed) + 1
	}
	st.progress = time.Now()
	return nil
}

// linkDown reports whether a publish failed because nothing in reach
// serves the stream (the site's link to central is down), as opposed to a
// publish that may have been sent (an ack timeout, a refusal).
func linkDown(err error) bool {
	return errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders)
}

// applyWatermark trims the outbox to w.Contiguous and starts a resend when w
// shows a gap.
func (f *Forwarder) applyWatermark(ctx context.Context, st *state, w envelope.Watermark) error {
	if w.Site != f.cfg.Site {
		return nil
	}
	st.central = w.CentralReads()
	waiting := !st.canSend()
	f.mu.Lock()
	f.last = w
	was := f.waiting
	f.waiting = waiting
	f.mu.Unlock()
	switch {
	case waiting && !was:
		f.log.Warn().Int("site_version", envelope.Version).Int("central_reads", st.central).
			Msg("central does not read this site's envelope version yet: keeping the outbox until central is upgraded")
		// What is in flight stays in the outbox; a too-new batch that
		// reached central is kept there, not applied.
		st.window = nil
		st.next = max(w.Contiguous, st.trimmed) + 1
	case !waiting && was:
		f.log.Info().Int("site_version", envelope.Version).Int("central_reads", st.central).Msg("central reads this site's envelope version: sending")
		f.Poke()
	}
	if w.Contiguous > st.trimmed {
		if err := f.cfg.Outbox.Trim(ctx, w.Contiguous); err != nil {
			err = fmt.Errorf("forwarder: trim outbox to %d: %w", w.Contiguous, err)
			if storageFull(err) {
				f.noteFull(true, err)
			}
			return err
		}
		f.noteFull(false, nil)
		st.trimmed = w.Contiguous
		st.progress = time.Now()
		f.m.watermark.Set(float64(w.Contiguous))
		f.m.depth.Set(float64(max(st.maxRead, st.trimmed) - st.trimmed))
		f.refreshOldest(ctx, st)
	}
	if st.next <= w.Contiguous {
		// Central has more than we sent (another forwarder before a restart).
		st.window = nil
		st.next = w.Contiguous + 1
	}
	// A gap below what is trimmed is a central node still catching up on
	// the stream (a restarted one; another node's watermark trimmed those
	// rows): the stream fills it, and the outbox no longer holds it, so a
	// resend from there would only fail and stall the uplink.
	if w.Gap() && w.Contiguous >= st.trimmed && w.Contiguous < st.next-1 && w.Contiguous+1 != st.resentFrom {
		f.resend(st, w.Contiguous, "gap")
	}
	return nil
}

// checkStall resends from the watermark when acked batches have not been
// covered by it for StallTimeout.
func (f *Forwarder) checkStall(ctx context.Context, st *state) error {
	sentUpTo := st.next - 1
	if len(st.window) > 0 {
		sentUpTo = st.window[0].first - 1
	}
	if sentUpTo <= st.trimmed {
		st.progress = time.Now()
		return nil
	}
	if time.Since(st.progress) < f.cfg.StallTimeout {
		return nil
	}
	w, err := f.requestWatermark(ctx)
	if err != nil {
		// Nobody answers: the link or central's aggregator is down. Resending
		// would only pile copies into the stream; wait for another period.
		f.log.Debug().Err(err).Msg("watermark stalled and unavailable")
		st.progress = time.Now()
		return nil
	}
	before := st.trimmed
	if err := f.applyWatermark(ctx, st, w); err != nil {
		return err
	}
	if st.trimmed > before || st.resentFrom != 0 && st.progress.After(time.Now().Add(-f.cfg.StallTimeout)) {
		return nil // moving, or a gap resend just started
	}
	f.resend(st, st.trimmed, "stall")
	return nil
}

// resend restarts publishing at contiguous+1 in a new epoch.
func (f *Forwarder) resend(st *state, contiguous uint64, why string) {
	st.epoch++
	f.m.resends.Inc()
	st.resentFrom = contiguous + 1
	st.window = nil
	st.next = contiguous + 1
	st.progress = time.Now()
	f.log.Info().Str("why", why).Uint64("from", st.next).Int("epoch", st.epoch).Msg("resending")
}

// requestWatermark asks central for the site's watermark.
func (f *Forwarder) requestWatermark(ctx context.Context) (envelope.Watermark, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	msg, err := f.cfg.Conn.RequestWithContext(ctx, envelope.SubjectWatermarkRequest(f.cfg.Site), nil)
	if err != nil {
		return envelope.Watermark{}, fmt.Errorf("request watermark: %w", err)
	}
	var w envelope.Watermark
	if err := json.Unmarshal(msg.Data, &w); err != nil {
		return envelope.Watermark{}, fmt.Errorf("decode watermark: %w", err)
	}
	if w.Site != f.cfg.Site {
		return envelope.Watermark{}, fmt.Errorf("watermark for site %q, want %q", w.Site, f.cfg.Site)
	}
	return w, nil
}

// refreshOldest sets the oldest-unsynced gauge from the first row above the
// watermark.
func (f *Forwarder) refreshOldest(ctx context.Context, st *state) {
	recs, err := f.cfg.Outbox.ReadAfter(ctx, st.trimmed, 1)
	if err != nil || len(recs) == 0 {
		f.m.oldest.Set(0)
		return
	}
	f.m.oldest.Set(float64(recs[0].Time.Unix()))
	if recs[0].Seq > st.maxRead {
		st.maxRead = recs[0].Seq
	}
}

// backoff returns an exponential pause with full jitter in [d/2, d].
func backoff(minD, maxD time.Duration, failures int) time.Duration {
	d := minD
	for i := 1; i < failures && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	return d/2 + rand.N(d/2+1)
}

// noteFull records whether the storage is full after a Trim and logs only
// the changes of that state, not every retry.
func (f *Forwarder) noteFull(full bool, err error) {
	if f.full.Swap(full) == full {
		return
	}
	if full {
		f.log.Error().Err(err).Msg("storage full: the outbox cannot be trimmed until space is freed; retrying")
	} else {
		f.log.Info().Msg("storage no longer full: outbox trimmed again")
	}
}

// storageFull reports whether err says the site's storage is full: SQLite's
// SQLITE_FULL (an error with that Code, as modernc.org/sqlite's) or ENOSPC
// from the file system.
func storageFull(err error) bool {
	const sqliteFull = 13
	var coded interface{ Code() int }
	if errors.As(err, &coded) && coded.Code()&0xff == sqliteFull {
		return true
	}
	return errors.Is(err, syscall.ENOSPC)
}
