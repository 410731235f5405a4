package natsserver

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/rs/zerolog"
)

// DefaultRepeat is how often one repeated server warning or error is logged
// again when Log.Repeat is 0.
const DefaultRepeat = time.Minute

// Log says where an embedded server logs and how loudly.
type Log struct {
	Logger zerolog.Logger
	// Level is the least severe server message logged: "" means warn (info
	// when Logger itself is at debug or below, so --log-level debug shows the
	// server's notices), or one of trace, debug, info, warn, error.
	Level string
	// Hints say what to do about a server message: the first hint whose
	// Match occurs in a message is added to it as "hint".
	Hints []Hint
	// Repeat is how often one warning or error that keeps coming (a refused
	// leaf connection retried every 2s) is logged again, with the count of
	// those left out; 0 means DefaultRepeat.
	Repeat time.Duration
}

// Hint is what to do about server messages containing Match.
type Hint struct {
	Match string
	Hint  string
}

// ParseLevel checks a Log.Level and returns the zerolog level it means for
// logger. It fails for an unknown name.
func ParseLevel(level string, logger zerolog.Logger) (zerolog.Level, error) {
	switch level {
	case "":
		if logger.GetLevel() <= zerolog.DebugLevel {
			return zerolog.InfoLevel, nil
		}
		return zerolog.WarnLevel, nil
	case "trace", "debug", "info", "warn", "error":
		return zerolog.ParseLevel(level)
	}
	return zerolog.NoLevel, fmt.Errorf("nats log level %q: use trace, debug, info, warn or error", level)
}

// logger adapts zerolog to nats-server's Logger: it drops messages below its
// level and logs a repeated warning or error at most once per repeat window.
type logger struct {
	log    zerolog.Logger
	level  zerolog.Level
	hints  []Hint
	repeat time.Duration
	now    func() time.Time

	mu        sync.Mutex
	seen      map[string]*repeated
	lastFatal string
}

type repeated struct {
	last    time.Time // when it was last logged
	dropped int       // how often it came since, unlogged
}

var _ server.Logger = (*logger)(nil)

// maxRepeats bounds the messages remembered for rate limiting.
const maxRepeats = 256

func newLogger(l Log) *logger {
	lvl, err := ParseLevel(l.Level, l.Logger)
	if err != nil {
		lvl = zerolog.WarnLevel // roles validate Level before they get here
	}
	rep := l.Repeat
	if rep <= 0 {
		rep = DefaultRepeat
	}
	return &logger{log: l.Logger, level: lvl, hints: l.Hints, repeat: rep, now: time.Now, seen: map[string]*repeated{}}
}

func (l *logger) debug() bool { return l.level <= zerolog.DebugLevel }
func (l *logger) trace() bool { return l.level <= zerolog.TraceLevel }

func (l *logger) Noticef(format string, v ...any) { l.write(zerolog.InfoLevel, format, v) }
func (l *logger) Warnf(format string, v ...any)   { l.write(zerolog.WarnLevel, format, v) }
func (l *logger) Fatalf(format string, v ...any) {
	// The server calls Fatalf when it gives up starting, and then returns
	// from Start instead of exiting (it exits only with its own logger).
	l.mu.Lock()
	l.lastFatal = fmt.Sprintf(format, v...)
	l.mu.Unlock()
	l.write(zerolog.ErrorLevel, format, v)
}

// fatal is the last fatal message the server logged, "" if none.
func (l *logger) fatal() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastFatal
}

func (l *logger) Errorf(format string, v ...any) { l.write(zerolog.ErrorLevel, format, v) }
func (l *logger) Debugf(format string, v ...any) { l.write(zerolog.DebugLevel, format, v) }
func (l *logger) Tracef(format string, v ...any) { l.write(zerolog.TraceLevel, format, v) }

func (l *logger) write(lvl zerolog.Level, format string, v []any) {
	if lvl < l.level {
		return
	}
	msg := fmt.Sprintf(format, v...)
	dropped := 0
	if lvl >= zerolog.WarnLevel {
		var ok bool
		if dropped, ok = l.due(msg); !ok {
			return
		}
	}
	e := l.log.WithLevel(lvl)
	if dropped > 0 {
		e = e.Int("repeated", dropped).Str("repeated_within", l.repeat.String())
	}
	for _, h := range l.hints {
		if strings.Contains(msg, h.Match) {
			e = e.Str("hint", h.Hint)
			break
		}
	}
	e.Msg(msg)
}

// due reports whether msg is to be logged now and how many of its kind were
// dropped since it last was. Messages differing only in numbers (connection
// ids, ports) are one kind.
func (l *logger) due(msg string) (int, bool) {
	key := kind(msg)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.seen[key]
	if ok && now.Sub(r.last) < l.repeat {
		r.dropped++
		return 0, false
	}
	if !ok {
		if len(l.seen) >= maxRepeats {
			l.forget(now)
		}
		r = &repeated{}
		l.seen[key] = r
	}
	dropped := r.dropped
	r.last, r.dropped = now, 0
	return dropped, true
}

// forget drops the remembered messages last logged a window ago or more,
// or all of them if none is that old.
func (l *logger) forget(now time.Time) {
	for k, r := range l.seen {
		if now.Sub(r.last) >= l.repeat {
			delete(l.seen, k)
		}
	}
	if len(l.seen) >= maxRepeats {
		clear(l.seen)
	}
}

// kind is msg with every run of digits replaced by one '#'.
func kind(msg string) string {
	var b strings.Builder
	b.Grow(len(msg))
	digits := false
	for _, r := range msg {
		d := r >= '0' && r <= '9'
		if d && !digits {
			b.WriteByte('#')
		} else if !d {
			b.WriteRune(r)
		}
		digits = d
	}
	return b.String()
}
