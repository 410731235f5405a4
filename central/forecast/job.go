package forecast

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Site is one site's progress through the forecast job.
type Site struct {
	Site, TZ string
	// Seq is the last event folded; At the newest event time folded.
	Seq uint64
	At  time.Time
	// Contiguous is the site's watermark in the read model: the job folds
	// only events with no gap below them.
	Contiguous uint64
}

// SlotState is a slot's model with the level it was built on.
type SlotState struct {
	Level Level
	// Folded says the slot's model has days in it, Day the last of them.
	Folded bool
	Day    int64
	// State is the model: nil until the slot's first day is folded, or
	// when it was not asked for.
	State *State
}

// Store is what the Job reads and writes. *readmodel.Store implements it;
// every Save is one transaction, so the job never holds the read model's
// writer for long.
type Store interface {
	// ForecastSites lists every site with its progress.
	ForecastSites(ctx context.Context) ([]Site, error)
	// ForecastEvents returns up to limit of site's sale, stock and
	// inventory events with after < seq ≤ upto, in seq order, the last seq
	// it read (upto when fewer than limit remained), and the newest event
	// time of any kind up to that seq (telemetry too: it shows the site's
	// data reaches that far even when nothing sold).
	ForecastEvents(ctx context.Context, site string, after, upto uint64, limit int) ([]Event, uint64, time.Time, error)
	// ForecastSlots returns every slot of site with its level and last
	// folded day, and with its model when models is set.
	ForecastSlots(ctx context.Context, site string, models bool) (map[SlotKey]SlotState, error)
	// ForecastHours returns site's hourly observations with from ≤ hour < to
	// (naive-local unix seconds).
	ForecastHours(ctx context.Context, site string, from, to int64) (map[HourKey]Hour, error)
	// SaveForecast stores, in one transaction: the site's progress, the
	// slots' levels and models given, hourly observations added to what is
	// stored, and deletes hours before pruneBefore (naive-local seconds; 0
	// keeps all).
	SaveForecast(ctx context.Context, site Site, slots map[SlotKey]SlotState, hours map[HourKey]Hour, pruneBefore int64) error
}

// Job keeps every slot's forecast up to date from the read model, off the
// ingest path: each run folds the events received since the last run into
// hourly observations (sales, empty time), then folds every complete day
// into the slot's model. It never holds the read model's writer for more
// than one site's save.
type Job struct {
	cfg JobConfig
	log zerolog.Logger

	mu     sync.Mutex // one run at a time
	cancel context.CancelFunc
	done   chan struct{}
}

// JobConfig configures a Job.
type JobConfig struct {
	Store  Store
	Params Params
	// Every is the time between runs (default 15 minutes).
	Every time.Duration
	// Batch is the events read per step (default 5,000).
	Batch int
	// KeepDays is how many folded days of hourly observations are kept
	// (default 14).
	KeepDays int
	Now      func() time.Time
	Logger   zerolog.Logger
}

// Stats says what a run did.
type Stats struct {
	Sites, Events, Days, Slots int
}

// NewJob returns a job; Open starts its loop.
func NewJob(cfg JobConfig) *Job {
	if cfg.Params == (Params{}) {
		cfg.Params = DefaultParams()
	}
	if cfg.Every <= 0 {
		cfg.Every = 15 * time.Minute
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 5000
	}
	if cfg.KeepDays <= 0 {
		cfg.KeepDays = 14
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Job{cfg: cfg, log: cfg.Logger.With().Str("component", "forecast").Logger()}
}

// Open starts running the job every cfg.Every until Close.
func (j *Job) Open(ctx context.Context) error {
	ctx, j.cancel = context.WithCancel(context.WithoutCancel(ctx))
	j.done = make(chan struct{})
	go func() {
		defer close(j.done)
		t := time.NewTicker(j.cfg.Every)
		defer t.Stop()
		for {
			if st, err := j.Run(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				j.log.Warn().Err(err).Msg("forecast run failed; retrying at the next tick")
			} else if st.Days > 0 {
				j.log.Info().Int("sites", st.Sites).Int("events", st.Events).Int("slots", st.Slots).Int("days", st.Days).Msg("forecast updated")
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return nil
}

// Close stops the loop and waits for a run in progress.
func (j *Job) Close() error {
	if j.cancel != nil {
		j.cancel()
		<-j.done
	}
	return nil
}

// Run runs the job once over every site. It returns the first error.
func (j *Job) Run(ctx context.Context) (Stats, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	sites, err := j.cfg.Store.ForecastSites(ctx)
	if err != nil {
		return Stats{}, fmt.Errorf("forecast: sites: %w", err)
	}
	var st Stats
	for _, s := range sites {
		if err := j.site(ctx, s, &st); err != nil {
			return st, fmt.Errorf("forecast: site %s: %w", s.Site, err)
		}
		st.Sites++
	}
	return st, nil
}

func (j *Job) site(ctx context.Context, s Site, st *Stats) error {
	loc, err := time.LoadLocation(s.TZ)
	if err != nil {
		loc = time.UTC
	}
	slots, err := j.cfg.Store.ForecastSlots(ctx, s.Site, false)
	if err != nil {
		return err
	}
	levels := make(map[SlotKey]Level, len(slots))
	for k, v := range slots {
		levels[k] = v.Level
	}
	// Events since the last run, in chunks, each saved with the progress.
	for s.Seq < s.Contiguous {
		evs, last, newest, err := j.cfg.Store.ForecastEvents(ctx, s.Site, s.Seq, s.Contiguous, j.cfg.Batch)
		if err != nil {
			return err
		}
		f := NewFold(loc, levels)
		for _, e := range evs {
			f.Add(e)
		}
		if newest.After(s.At) {
			s.At = newest
		}
		s.Seq = last
		changed := make(map[SlotKey]SlotState, len(f.Touched))
		for k := range f.Touched {
			cur := slots[k]
			cur.Level = f.Levels[k]
			slots[k] = cur
			changed[k] = cur
		}
		if err := j.cfg.Store.SaveForecast(ctx, s, changed, f.Hours, 0); err != nil {
			return err
		}
		st.Events += len(evs)
	}

	// Complete days: those before the day of the newest event folded. The
	// site's events come in its own order, so nothing older is on its way
	// (but a machine's offline upload of old sales may be: those land in
	// hours already folded and count only in the hourly table).
	if s.At.IsZero() {
		return nil
	}
	through := LocalDay(s.At, loc) - 1
	due := map[SlotKey]int64{}
	first := through + 1
	for k, v := range slots {
		start := v.Level.First
		if v.Folded {
			start = v.Day + 1
		}
		start = max(start, through-365)
		if start <= through {
			due[k] = start
			first = min(first, start)
		}
	}
	if len(due) == 0 {
		return nil
	}
	// Only now read the models (a run between days reads none).
	if slots, err = j.cfg.Store.ForecastSlots(ctx, s.Site, true); err != nil {
		return err
	}
	f := NewFold(loc, map[SlotKey]Level{})
	end := dayStart(through+1, loc)
	for k := range due {
		f.Levels[k] = slots[k].Level
	}
	f.CloseThrough(end)
	stored, err := j.cfg.Store.ForecastHours(ctx, s.Site, first*86400, (through+1)*86400)
	if err != nil {
		return err
	}
	bySlot := map[SlotKey]map[int64]Hour{}
	for k, h := range stored {
		if bySlot[k.Slot] == nil {
			bySlot[k.Slot] = map[int64]Hour{}
		}
		bySlot[k.Slot][k.Hour] = h
	}
	for k, h := range f.Hours { // empty time up to the day's end, not yet stored
		if bySlot[k.Slot] == nil {
			bySlot[k.Slot] = map[int64]Hour{}
		}
		o := bySlot[k.Slot][k.Hour]
		o.EmptyMS += h.EmptyMS
		bySlot[k.Slot][k.Hour] = o
	}
	changed := make(map[SlotKey]SlotState, len(due))
	for k, start := range due {
		cur := slots[k]
		model := NewState()
		if cur.State != nil {
			model = *cur.State
		}
		for _, d := range Days(start, through, bySlot[k]) {
			j.cfg.Params.Update(&model, d)
			st.Days++
		}
		cur.State = &model
		cur.Level = f.Levels[k]
		changed[k] = cur
	}
	st.Slots += len(changed)
	return j.cfg.Store.SaveForecast(ctx, s, changed, f.Hours, (through-int64(j.cfg.KeepDays))*86400)
}

// dayStart is the instant local day d (days since 1970-01-01) starts in loc.
func dayStart(d int64, loc *time.Location) time.Time {
	n := time.Unix(d*86400, 0).UTC()
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
}
