package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Delivery is one notification waiting to be sent.
type Delivery struct {
	ID             string
	SubscriptionID string
	URL            string
	Secret         string
	Event          string // the Vendsync-Event header, e.g. "alert"
	Payload        []byte
	Attempts       int // attempts already made
}

// Outcome is what one attempt did. Exactly one of Delivered, Failed (gave
// up) or a later NextAt holds.
type Outcome struct {
	DeliveryID string
	Attempt    int // 1 for the first
	At         time.Time
	StatusCode int // 0 when no answer came
	Err        string
	Duration   time.Duration
	Delivered  bool
	Failed     bool
	NextAt     time.Time
}

// Queue holds the deliveries: central's read model implements it.
type Queue interface {
	// Due returns up to limit pending deliveries whose next attempt is at
	// or before now, oldest first.
	Due(ctx context.Context, now time.Time, limit int) ([]Delivery, error)
	// Record logs an attempt and moves its delivery on (delivered, failed,
	// or pending until NextAt).
	Record(ctx context.Context, o Outcome) error
}

// Config tunes a Dispatcher. Zero values take the defaults below.
type Config struct {
	Queue  Queue
	Client *http.Client // default NewClient(Timeout, AllowPrivate)
	// AllowPrivate lets deliveries reach loopback and private addresses
	// (tests, a receiver on the operator's own network).
	AllowPrivate bool
	Timeout      time.Duration // per request; default 10 s
	Interval     time.Duration // how often due deliveries are looked for; default 1 s
	BaseDelay    time.Duration // back-off after the first failure; default 5 s
	MaxDelay     time.Duration // back-off cap; default 1 h
	MaxAttempts  int           // attempts before a delivery is FAILED; default 10
	Now          func() time.Time
	Logger       zerolog.Logger
	// Active says whether this dispatcher delivers now (nil: always). In
	// a cluster every node holds the same subscriptions and deliveries,
	// and only one of them may send: central answers true on the node
	// that leads the HQ_LOG stream.
	Active func(ctx context.Context) bool
}

// Dispatcher sends due deliveries in the background.
type Dispatcher struct {
	cfg    Config
	log    zerolog.Logger
	wake   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a Dispatcher; Open starts it. It panics without a Queue (a
// wiring mistake).
func New(cfg Config) *Dispatcher {
	if cfg.Queue == nil {
		panic("webhook: Queue is required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = NewClient(cfg.Timeout, cfg.AllowPrivate)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.BaseDelay <= 0 {
		cfg.BaseDelay = 5 * time.Second
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = time.Hour
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 10
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Dispatcher{cfg: cfg, log: cfg.Logger.With().Str("component", "webhook").Logger(), wake: make(chan struct{}, 1)}
}

// Open starts the delivery loop; Close stops it.
func (d *Dispatcher) Open(ctx context.Context) error {
	ctx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.loop(ctx)
	}()
	return nil
}

// Close stops the loop and waits for an attempt in flight.
func (d *Dispatcher) Close() error {
	if d.cancel != nil {
		d.cancel()
	}
	d.wg.Wait()
	return nil
}

// Wake makes the loop look for due deliveries now (after an alert was
// applied, say) instead of at its next tick.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *Dispatcher) loop(ctx context.Context) {
	t := time.NewTicker(d.cfg.Interval)
	defer t.Stop()
	for {
		if err := d.RunOnce(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn().Err(err).Msg("webhook deliveries")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.wake:
		}
	}
}

// RunOnce attempts every delivery due now, one by one (nothing while
// Config.Active says no).
func (d *Dispatcher) RunOnce(ctx context.Context) error {
	if d.cfg.Active != nil && !d.cfg.Active(ctx) {
		return nil
	}
	due, err := d.cfg.Queue.Due(ctx, d.cfg.Now(), 64)
	if err != nil {
		return fmt.Errorf("due deliveries: %w", err)
	}
	for _, dl := range due {
		if ctx.Err() != nil {
			return nil
		}
		if err := d.cfg.Queue.Record(ctx, d.attempt(ctx, dl)); err != nil {
			return fmt.Errorf("record delivery %s: %w", dl.ID, err)
		}
	}
	return nil
}

// attempt sends dl once and says what to do next.
func (d *Dispatcher) attempt(ctx context.Context, dl Delivery) Outcome {
	start := d.cfg.Now()
	o := Outcome{DeliveryID: dl.ID, Attempt: dl.Attempts + 1, At: start}
	code, err := d.send(ctx, dl, start)
	o.Duration = d.cfg.Now().Sub(start)
	o.StatusCode = code
	switch {
	case err == nil:
		o.Delivered = true
		return o
	case errors.Is(err, ErrForbiddenTarget):
		o.Err, o.Failed = err.Error(), true // retrying cannot help
		return o
	}
	o.Err = err.Error()
	if o.Attempt >= d.cfg.MaxAttempts {
		o.Failed = true
		return o
	}
	o.NextAt = start.Add(Backoff(o.Attempt, d.cfg.BaseDelay, d.cfg.MaxDelay, rand.Float64()))
	return o
}

func (d *Dispatcher) send(ctx context.Context, dl Delivery, at time.Time) (int, error) {
	if err := CheckURL(dl.URL, d.cfg.AllowPrivate); err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dl.URL, bytes.NewReader(dl.Payload))
	if err != nil {
		return 0, fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "vendsync-webhook/1")
	req.Header.Set(HeaderDelivery, dl.ID)
	req.Header.Set(HeaderEvent, dl.Event)
	req.Header.Set(HeaderSignature, Sign(dl.Secret, at, dl.Payload))
	res, err := d.cfg.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, fmt.Errorf("receiver answered %d", res.StatusCode)
	}
	return res.StatusCode, nil
}

// Backoff is the wait after failed attempt n (1 for the first): base·2^(n-1)
// capped at max, with "equal jitter": half of it fixed, the other half
// scaled by r in [0, 1), so retries of many deliveries spread out but never
// come sooner than half the nominal delay.
func Backoff(n int, base, max time.Duration, r float64) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return d/2 + time.Duration(float64(d/2)*r)
}
