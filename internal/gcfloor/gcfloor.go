// Package gcfloor gives the Go collector a floor under its heap goal while
// the process allocates quickly, and takes it away when it does not.
//
// A site's live heap is small (2–4 MB), so with the default GOGC=100 the
// runtime's heap goal is its minimum, 4 MB: a site answering 500-row lists
// back to back collects every ~100 requests, and the requests that meet a
// collection are the slowest 1 %. A fixed larger goal (GOGC=off with
// GOMEMLIMIT, or a higher GOGC) would cure that but hold that much garbage
// while the site is idle too. The controller here decides after each
// collection: while the process allocates at least Floor bytes within
// Busy and its live heap is under half the floor, the next collection is
// when the heap reaches Floor (a memory limit of Floor plus the runtime's
// own memory, with a GOGC whose goal is beyond it); otherwise GOGC is
// Percent again and there is no limit. A limit, not a larger GOGC alone:
// GOGC multiplies the next cycle's live heap, which in a process whose live
// heap is its in-flight requests may be several times the last one's, and
// the goal with it.
//
// When the process goes quiet after work, the controller also hands the
// heap's free pages back to the operating system at once
// (debug.FreeOSMemory), instead of leaving them to the runtime's slow
// background scavenger: a site spends most of its life idle, and its
// resident memory then is what the machine has left for everything else.
package gcfloor

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// Config says when and how far the floor applies.
type Config struct {
	// Floor is the smallest heap goal while busy, in bytes (default 16 MiB).
	Floor uint64
	// Busy is the window of "quickly": a cycle that allocated Floor bytes
	// or more at a rate that fills Floor within Busy is busy (default 10 s:
	// 1.6 MiB/s at the default floor).
	Busy time.Duration
	// Percent is GOGC when not busy (default 100).
	Percent int
	// Quiet is the window after which a process that allocated under
	// Floor/16 bytes in it counts as idle; the first such window after
	// some work (Floor/16 or more allocated since the last release)
	// returns the free heap to the OS (default Busy; negative: never).
	Quiet time.Duration
}

// A Controller is started by Start and ended by its Stop.
type Controller struct {
	cfg     Config
	stopped atomic.Bool
	mu      sync.Mutex // the fields below; cleanups run one at a time, Stop may race one
	last    time.Time  // when the previous cycle ended (as the cleanup saw it)
	allocs  uint64     // cumulative bytes allocated then
	sample  []metrics.Sample
	percent int   // GOGC set last
	limit   int64 // the memory limit set last
	cycles  atomic.Uint64
	freed   atomic.Uint64 // releases to the OS after work
	windows atomic.Uint64 // Quiet windows looked at
	done    chan struct{} // closed by Stop: ends the quiet watch
}

// The runtime/metrics read after each collection, in this order.
var metricNames = []string{
	"/gc/heap/live:bytes",
	"/gc/heap/allocs:bytes",
	"/memory/classes/total:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/released:bytes",
}

// Start begins controlling GOGC and the memory limit and returns the
// controller, or nil when the environment sets GOGC or GOMEMLIMIT (whoever
// set them decides). Start it once per process: both are the process's.
func Start(cfg Config) *Controller {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return nil
	}
	if cfg.Floor == 0 {
		cfg.Floor = 16 << 20
	}
	if cfg.Busy <= 0 {
		cfg.Busy = 10 * time.Second
	}
	if cfg.Percent <= 0 {
		cfg.Percent = 100
	}
	if cfg.Quiet == 0 {
		cfg.Quiet = cfg.Busy
	}
	c := &Controller{cfg: cfg, percent: cfg.Percent, limit: math.MaxInt64,
		sample: make([]metrics.Sample, len(metricNames)), done: make(chan struct{})}
	for i, n := range metricNames {
		c.sample[i].Name = n
	}
	metrics.Read(c.sample)
	c.last, c.allocs = time.Now(), c.sample[1].Value.Uint64()
	c.set(cfg.Percent, math.MaxInt64)
	c.arm()
	if cfg.Quiet > 0 {
		go c.watchQuiet()
	}
	return c
}

// watchQuiet returns the free heap to the OS in the first Quiet window
// that allocates under Floor/16 bytes after Floor/16 or more were
// allocated since the last release: once per stretch of work.
func (c *Controller) watchQuiet() {
	t := time.NewTicker(c.cfg.Quiet)
	defer t.Stop()
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	read := func() uint64 { metrics.Read(s); return s[0].Value.Uint64() }
	prev := read()
	released := prev
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		now := read()
		c.windows.Add(1)
		if quietAfterWork(c.cfg, now-prev, now-released) {
			debug.FreeOSMemory()
			c.freed.Add(1)
			now = read() // what FreeOSMemory's collection allocated is not work
			released = now
		}
		prev = now
	}
}

// quietAfterWork says whether a window that allocated window bytes, with
// since bytes allocated since the last release, is the one to release in.
func quietAfterWork(cfg Config, window, since uint64) bool {
	return window < cfg.Floor/16 && since >= cfg.Floor/16
}

// Released is how many times the controller returned the free heap to the
// OS after work.
func (c *Controller) Released() uint64 { return c.freed.Load() }

// Stop ends the control: GOGC is Percent again and there is no memory
// limit. Nil-safe.
func (c *Controller) Stop() {
	if c == nil || c.stopped.Swap(true) {
		return
	}
	close(c.done)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.set(c.cfg.Percent, math.MaxInt64)
}

// set makes GOGC percent and the memory limit limit.
func (c *Controller) set(percent int, limit int64) {
	c.percent, c.limit = percent, limit
	debug.SetMemoryLimit(limit)
	debug.SetGCPercent(percent)
}

// Setting is the GOGC and the memory limit (math.MaxInt64: none) the
// controller set last.
func (c *Controller) Setting() (percent int, limit int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.percent, c.limit
}

// Cycles is the count of collections the controller has seen end.
func (c *Controller) Cycles() uint64 { return c.cycles.Load() }

// sentinel is allocated after each collection and dropped at once: the
// next collection finds it unreachable and runs its cleanup. It holds a
// pointer so that it is not one of the tiny allocator's objects, which
// share a block and are freed together.
type sentinel struct {
	_ *int
	_ [8]byte
}

func (c *Controller) arm() {
	runtime.AddCleanup(new(sentinel), func(c *Controller) { c.collected() }, c)
}

// collected runs after a collection: it sets the next goal and arms again.
func (c *Controller) collected() {
	if c.stopped.Load() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped.Load() {
		return
	}
	c.cycles.Add(1)
	metrics.Read(c.sample)
	v := func(i int) uint64 { return c.sample[i].Value.Uint64() }
	live, allocs, now := v(0), v(1), time.Now()
	// What the runtime holds besides the heap (stacks, its own structures):
	// a limit counts it, the floor is for the heap.
	other := max(0, int64(v(2))-int64(v(3))-int64(v(4))-int64(v(5))-int64(v(6)))
	busy := floorApplies(c.cfg, live, allocs-c.allocs, now.Sub(c.last))
	c.last, c.allocs = now, allocs
	if busy {
		c.set(busyPercent(c.cfg, live), int64(c.cfg.Floor)+other)
	} else {
		c.set(c.cfg.Percent, math.MaxInt64)
	}
	c.arm()
}

// busyPercent is GOGC while the floor applies: one whose goal for the live
// heap now is twice the floor, so that the memory limit is what triggers
// the collection (GOGC off would do that too, but it also stops the
// runtime's collection every two minutes, the one that ends the floor when
// the process goes idle).
func busyPercent(cfg Config, live uint64) int {
	live = max(live, 64<<10)
	return max(cfg.Percent, int(min((2*cfg.Floor-min(live, 2*cfg.Floor))*100/live, 1_000_000)))
}

// floorApplies says whether the next collection waits for the floor: the
// last cycle allocated allocated bytes in took, at a rate that fills Floor
// within Busy, and found live bytes live, under half the floor.
func floorApplies(cfg Config, live, allocated uint64, took time.Duration) bool {
	if took <= 0 {
		took = time.Nanosecond
	}
	rate := float64(allocated) / took.Seconds()
	return rate*cfg.Busy.Seconds() >= float64(cfg.Floor) && live < cfg.Floor/2
}
