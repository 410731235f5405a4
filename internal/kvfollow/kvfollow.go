// Package kvfollow keeps a process in line with a JetStream key-value
// bucket: it watches the bucket, hands every entry to a function, and starts
// the watch again whenever it cannot start or ends while it is still wanted.
//
// A node that follows a bucket (its NATS users, the site registry, the token
// signing key) must not stop following it because one consumer creation went
// unanswered (a new cluster electing its leaders under load) or because the
// server dropped the watch: a revocation made after that moment would never
// be applied on that node. A watch started again delivers every key's latest
// entry again, so what was missed while it was down is applied then; Apply
// must therefore be idempotent.
package kvfollow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Config is what Run follows and what it does with each entry.
type Config struct {
	// Watch starts the watch (kv.WatchAll, kv.Watch of a key…). Its
	// context ends the watch when it ends, as jetstream's watches do.
	Watch func(ctx context.Context) (jetstream.KeyWatcher, error)
	// Apply is called with every entry, in the bucket's order, on Run's
	// goroutine.
	Apply func(jetstream.KeyValueEntry)
	// Ready, if set, is called once: after the first watch to start has
	// delivered the bucket's current entries.
	Ready func()
	// Restart, if set, is told why the watch is being started again (to
	// log it).
	Restart func(error)
	// StartTimeout bounds each attempt to start the watch (default 5 s): a
	// request a cluster without a leader leaves unanswered is given up and
	// tried again.
	StartTimeout time.Duration
	// MaxBackoff is the longest wait between attempts (default 1 s); the
	// first wait is 50 ms and each failed attempt doubles it.
	MaxBackoff time.Duration
	// Conn, if set, is the connection the bucket is reached through: when
	// it reconnects, the watch is started again at once. (A watch whose
	// server restarted notices only after its heartbeats have been missed
	// for a while: ~20 s with nats.go's watches.)
	Conn *nats.Conn
}

// ErrReconnected is the reason given to Restart for a watch started again
// because Conn reconnected.
var ErrReconnected = errors.New("the connection reconnected")

// ErrStartTimeout is the reason given to Restart for an attempt that did
// not start within StartTimeout.
var ErrStartTimeout = errors.New("watch did not start in time")

// Run follows the bucket until ctx ends, and then returns nil. It returns
// an error only for a Config without Watch or Apply.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Watch == nil || cfg.Apply == nil {
		return errors.New("kvfollow: Watch and Apply are required")
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 5 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Second
	}
	const firstWait = 50 * time.Millisecond
	wait := firstWait
	ready := cfg.Ready
	for {
		err := follow(ctx, cfg, &ready)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil || errors.Is(err, ErrReconnected) {
			wait = firstWait // it ran: start again after the shortest wait
		}
		if err == nil {
			err = errors.New("watch ended")
		}
		if cfg.Restart != nil {
			cfg.Restart(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, cfg.MaxBackoff)
	}
}

// follow starts one watch and applies its entries until it ends. It returns
// the error of a watch that did not start, nil for one that ran.
func follow(ctx context.Context, cfg Config, ready *func()) error {
	var reconnected chan nats.Status // nil: never ready
	if cfg.Conn != nil {
		reconnected = cfg.Conn.StatusChanged(nats.CONNECTED)
		defer cfg.Conn.RemoveStatusListener(reconnected)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the watch
	timer := time.AfterFunc(cfg.StartTimeout, cancel)
	w, err := cfg.Watch(wctx)
	if !timer.Stop() {
		// The attempt was cancelled: whatever it returned is unusable.
		if err == nil {
			_ = w.Stop()
		}
		return fmt.Errorf("%w (%s)", ErrStartTimeout, cfg.StartTimeout)
	}
	if err != nil {
		return err
	}
	defer func() { _ = w.Stop() }()
	updates := w.Updates()
	for {
		select {
		case <-reconnected:
			return ErrReconnected
		case e, ok := <-updates:
			if !ok {
				return nil
			}
			if e == nil { // the end of the current entries
				if *ready != nil {
					(*ready)()
					*ready = nil
				}
				continue
			}
			cfg.Apply(e)
		}
	}
}
