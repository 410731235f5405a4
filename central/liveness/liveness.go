// Package liveness tells which sites are connected to central: each site
// heartbeats over its leaf link (envelope.SubjectHeartbeat), every central
// node hears every heartbeat (core NATS interest crosses the cluster's
// routes), and a site whose heartbeats stop for Timeout is disconnected,
// since its last heartbeat. Changes of state go to a Recorder (the read
// model), which puts them in every freshness answer.
//
// A heartbeat also carries the site's binary and envelope versions
// (envelope.Heartbeat; a version 1 heartbeat, a bare timestamp, carries
// none): they are recorded when they change, so GET /sites shows a
// roll-out's progress. A heartbeat newer than this binary reads still
// counts as a sign of life and still names the site's versions.
package liveness

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/sync/envelope"
)

// DefaultTimeout is how long without a heartbeat makes a site disconnected:
// three of the edge's default 5 s heartbeats.
const DefaultTimeout = 15 * time.Second

// Recorder keeps each site's liveness. *readmodel.Store is one.
type Recorder interface {
	// SetLiveness records that site is connected (or not) since since.
	SetLiveness(ctx context.Context, site string, connected bool, since time.Time) error
	// Liveness returns what was recorded before this start, per site.
	Liveness() map[string]readmodel.Freshness
	// SetVersion records the versions site reported at at.
	SetVersion(ctx context.Context, site, binary string, envelope int, at time.Time) error
}

var _ Recorder = (*readmodel.Store)(nil)

// Config configures a Tracker.
type Config struct {
	// Conn hears the heartbeats; required.
	Conn *nats.Conn
	// Recorder keeps the liveness; required.
	Recorder Recorder
	// Timeout without a heartbeat makes a site disconnected (0:
	// DefaultTimeout).
	Timeout time.Duration
	// Now is the clock (nil: time.Now).
	Now    func() time.Time
	Logger zerolog.Logger
}

type site struct {
	connected bool
	last      time.Time // last heartbeat, or when this node started listening
	binary    string    // versions as last recorded
	envelope  int
}

// Tracker follows every site's heartbeats. New → Open → Close.
type Tracker struct {
	cfg Config
	log zerolog.Logger

	mu    sync.Mutex
	sites map[string]*site

	sub    *nats.Subscription
	cancel context.CancelFunc
	g      *errgroup.Group
}

// New validates cfg and returns an unopened Tracker.
func New(cfg Config) (*Tracker, error) {
	if cfg.Conn == nil || cfg.Recorder == nil {
		return nil, errors.New("liveness: conn and recorder are required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Tracker{cfg: cfg, log: cfg.Logger.With().Str("component", "liveness").Logger(), sites: map[string]*site{}}, nil
}

// Open starts listening. A site recorded connected before this start counts
// as connected until Timeout passes without a heartbeat; it is then
// disconnected since this start, the last moment this node can vouch for.
func (t *Tracker) Open(ctx context.Context) error {
	start := t.cfg.Now()
	for id, f := range t.cfg.Recorder.Liveness() {
		if f.Connected {
			t.sites[id] = &site{connected: true, last: start, binary: f.Binary, envelope: f.Envelope}
		} else if f.Envelope != 0 {
			t.sites[id] = &site{last: start, binary: f.Binary, envelope: f.Envelope}
		}
	}
	sub, err := t.cfg.Conn.Subscribe(envelope.SubjectHeartbeatAll, func(m *nats.Msg) {
		if id, ok := siteOf(m.Subject); ok {
			t.beat(id)
			// A heartbeat newer than this node still names its versions.
			if hb, err := envelope.ParseHeartbeat(m.Data); (err == nil || errors.Is(err, envelope.ErrTooNew)) && hb.V >= 2 {
				t.version(id, hb)
			}
		}
	})
	if err != nil {
		return fmt.Errorf("liveness: subscribe: %w", err)
	}
	// Every node must hear heartbeats before it answers for them. Flush
	// needs a deadline; Open's caller may not have set one.
	fctx, fcancel := context.WithTimeout(ctx, 10*time.Second)
	defer fcancel()
	if err := t.cfg.Conn.FlushWithContext(fctx); err != nil {
		_ = sub.Unsubscribe()
		return fmt.Errorf("liveness: subscribe: %w", err)
	}
	t.sub = sub
	bg, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	t.g, bg = errgroup.WithContext(bg)
	t.g.Go(func() error { return t.sweep(bg) })
	return nil
}

// Close stops listening and waits for the sweeper.
func (t *Tracker) Close() error {
	if t.sub != nil {
		_ = t.sub.Unsubscribe()
	}
	if t.cancel != nil {
		t.cancel()
		return t.g.Wait()
	}
	return nil
}

// siteOf returns the site of fleet.<site>.hb.
func siteOf(subject string) (string, bool) {
	rest, ok := strings.CutPrefix(subject, "fleet.")
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, ".hb")
	return id, ok && id != "" && !strings.Contains(id, ".")
}

// beat notes a heartbeat of id; the first after a silence connects it.
func (t *Tracker) beat(id string) {
	now := t.cfg.Now()
	t.mu.Lock()
	s, ok := t.sites[id]
	if !ok {
		s = &site{}
		t.sites[id] = s
	}
	s.last = now
	changed := !s.connected
	s.connected = true
	t.mu.Unlock()
	if changed && !t.record(id, true, now) {
		t.mu.Lock()
		s.connected = false // the next heartbeat tries again
		t.mu.Unlock()
	}
}

// version records the versions a heartbeat of id carries when they changed.
func (t *Tracker) version(id string, hb envelope.Heartbeat) {
	t.mu.Lock()
	s := t.sites[id] // beat made it
	changed := s.binary != hb.Binary || s.envelope != hb.V
	t.mu.Unlock()
	if !changed {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := t.cfg.Recorder.SetVersion(ctx, id, hb.Binary, hb.V, t.cfg.Now()); err != nil {
		t.log.Error().Err(err).Str("site", id).Msg("record site version")
		return // the next heartbeat tries again
	}
	t.mu.Lock()
	s.binary, s.envelope = hb.Binary, hb.V
	t.mu.Unlock()
	t.log.Info().Str("site", id).Str("binary", hb.Binary).Int("envelope", hb.V).Msg("site version")
}

// sweep disconnects the sites whose heartbeats stopped.
func (t *Tracker) sweep(ctx context.Context) error {
	tick := time.NewTicker(max(t.cfg.Timeout/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		now := t.cfg.Now()
		type change struct {
			id    string
			since time.Time
		}
		var gone []change
		t.mu.Lock()
		for id, s := range t.sites {
			if s.connected && now.Sub(s.last) > t.cfg.Timeout {
				s.connected = false
				gone = append(gone, change{id, s.last})
			}
		}
		t.mu.Unlock()
		for _, c := range gone {
			if !t.record(c.id, false, c.since) {
				t.mu.Lock()
				if s := t.sites[c.id]; s.last.Equal(c.since) {
					s.connected = true // the next sweep tries again
				}
				t.mu.Unlock()
			}
		}
	}
}

// record hands a change of state to the Recorder and logs it: once per
// change, not per heartbeat. It reports whether the change was recorded.
func (t *Tracker) record(id string, connected bool, since time.Time) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := t.cfg.Recorder.SetLiveness(ctx, id, connected, since); err != nil {
		t.log.Error().Err(err).Str("site", id).Msg("record liveness")
		return false
	}
	state := "disconnected"
	if connected {
		state = "connected"
	}
	t.log.Info().Str("site", id).Time("since", since).Msg("site " + state)
	return true
}
