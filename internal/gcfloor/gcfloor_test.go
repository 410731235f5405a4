package gcfloor

import (
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/testkit"
)

func TestBusyPercent_GoalBeyondTheFloor(t *testing.T) {
	cfg := Config{Floor: 16 << 20, Percent: 100}
	for _, live := range []uint64{0, 1, 64 << 10, 1 << 20, 2 << 20, 7 << 20, 8<<20 - 1} {
		p := busyPercent(cfg, live)
		goal := float64(max(live, 64<<10)) * (1 + float64(p)/100)
		if p < 100 || p > 1_000_000 || (p < 1_000_000 && goal < float64(cfg.Floor)) {
			t.Errorf("live %d: GOGC %d, goal %.0f: want 100..1e6 and a goal beyond the floor", live, p, goal)
		}
	}
	if p := busyPercent(Config{Floor: 16 << 20, Percent: 5000}, 2<<20); p != 5000 {
		t.Errorf("a Percent above the floor's: %d, want Percent", p)
	}
}

func TestFloorApplies_OnlyWhileBusyAndSmall(t *testing.T) {
	cfg := Config{Floor: 16 << 20, Busy: 10 * time.Second, Percent: 100}
	for _, c := range []struct {
		name            string
		live, allocated uint64
		took            time.Duration
		want            bool
	}{
		{"busy, small heap", 2 << 20, 4 << 20, 100 * time.Millisecond, true},
		{"busy, live just under half the floor", 8<<20 - 1, 8 << 20, time.Second, true},
		{"busy, live half the floor: GOGC as set", 8 << 20, 8 << 20, time.Second, false},
		{"busy, live above the floor", 64 << 20, 64 << 20, time.Second, false},
		{"idle: a forced collection after two minutes", 2 << 20, 1 << 20, 2 * time.Minute, false},
		{"just under busy: 1.5 MiB/s", 2 << 20, 15 << 20, 10 * time.Second, false},
		{"just busy: 1.6 MiB/s", 2 << 20, 16 << 20, 10 * time.Second, true},
		{"a zero interval counts as fast", 2 << 20, 1 << 20, 0, true},
	} {
		if got := floorApplies(cfg, c.live, c.allocated, c.took); got != c.want {
			t.Errorf("%s: floorApplies = %v, want %v", c.name, got, c.want)
		}
	}
}

// churn allocates n bytes of garbage in 32 KiB pieces and returns how many
// collections ran meanwhile.
func churn(n int) uint32 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.NumGC
	for range n / (32 << 10) {
		sink = make([]byte, 32<<10)
	}
	runtime.ReadMemStats(&ms)
	return ms.NumGC - before
}

var sink []byte

// heapGoal is the runtime's heap goal now.
func heapGoal() uint64 {
	m := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(m)
	return m[0].Value.Uint64()
}

// A process that allocates quickly with a small live heap gets a heap goal
// at the floor, and GOGC, the memory limit and the goal are as before once
// the controller stops. (How many collections that saves is logged, not
// asserted: a loop allocating GB/s on a loaded machine runs past its goals
// during slow cycles, and what it allocates then counts as live.)
func TestStart_RaisesTheGoalWhileBusy(t *testing.T) {
	t.Setenv("GOGC", "") // whoever runs the tests may set it; Start would leave GOGC alone
	const floor, garbage = 32 << 20, 256 << 20
	runtime.GC()
	if g := heapGoal(); g >= floor/2 {
		t.Fatalf("heap goal %d MiB before the controller starts, want the runtime's small one", g>>20)
	}
	without := churn(garbage)

	c := Start(Config{Floor: floor})
	if c == nil {
		t.Fatal("Start = nil with GOGC unset")
	}
	// The floor takes effect from the collection after the first busy one.
	testkit.CheckFor(t, 20*time.Second, func() error {
		churn(8 << 20)
		p, l := c.Setting()
		g := heapGoal()
		if p <= 100 || l < floor || l > 2*floor || g < floor/2 {
			return fmt.Errorf("GOGC %d, memory limit %d, heap goal %d after %d collections while allocating fast: want above 100, the floor (%d) and the runtime's own, and at least half the floor",
				p, l, g, c.Cycles(), floor)
		}
		return nil
	})
	with := churn(garbage)
	c.Stop()
	if prev := debug.SetGCPercent(100); prev != 100 {
		t.Errorf("GOGC after Stop = %d, want 100", prev)
	}
	if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
		t.Errorf("memory limit after Stop = %d, want none", l)
	}
	runtime.GC()
	if g := heapGoal(); g >= floor/2 {
		t.Errorf("heap goal %d MiB after Stop and a collection, want the runtime's small one", g>>20)
	}
	t.Logf("collections for %d MiB of garbage: %d by default, %d with a %d MiB floor", garbage>>20, without, with, floor>>20)
	c.Stop() // twice: a no-op
	var nilc *Controller
	nilc.Stop()
}

func TestStart_LeavesAGOGCTheEnvironmentSets(t *testing.T) {
	t.Setenv("GOGC", "150")
	if c := Start(Config{}); c != nil {
		c.Stop()
		t.Fatal("Start took over GOGC that the environment set")
	}
}

func TestQuietAfterWork_OncePerStretchOfWork(t *testing.T) {
	cfg := Config{Floor: 16 << 20}
	for _, c := range []struct {
		name          string
		window, since uint64
		want          bool
	}{
		{"quiet after work", 0, 64 << 20, true},
		{"quiet, just under a sixteenth of the floor in the window", 1<<20 - 1, 1 << 20, true},
		{"still working", 1 << 20, 64 << 20, false},
		{"quiet, nothing since the last release", 0, 1<<20 - 1, false},
	} {
		if got := quietAfterWork(cfg, c.window, c.since); got != c.want {
			t.Errorf("%s: quietAfterWork = %v, want %v", c.name, got, c.want)
		}
	}
}

// heapFree is the heap memory the runtime holds free without having
// returned it to the OS.
func heapFree() uint64 {
	m := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
	metrics.Read(m)
	return m[0].Value.Uint64()
}

var keep [][]byte

// A process that goes quiet after work hands its free heap back to the OS
// once, not again while it stays quiet.
func TestStart_ReleasesTheFreeHeapWhenQuiet(t *testing.T) {
	t.Setenv("GOGC", "")
	// 64 MiB live, then garbage: the heap's pages are free but still held
	// (the runtime's own scavenger returns them slowly).
	for range 64 {
		keep = append(keep, make([]byte, 1<<20))
	}
	keep = nil
	runtime.GC()
	if f := heapFree(); f < 32<<20 {
		t.Logf("only %d MiB free before the controller starts (the scavenger ran)", f>>20)
	}
	c := Start(Config{Floor: 16 << 20, Quiet: 100 * time.Millisecond})
	if c == nil {
		t.Fatal("Start = nil with GOGC unset")
	}
	defer c.Stop()
	churn(4 << 20) // work since the start, then quiet
	testkit.CheckFor(t, 10*time.Second, func() error {
		if n, f := c.Released(), heapFree(); n == 0 || f > 8<<20 {
			return fmt.Errorf("released %d times, %d MiB of heap free and held: want a release and under 8 MiB held", n, f>>20)
		}
		return nil
	})
	n, w := c.Released(), c.windows.Load()
	// Ten more quiet windows: nothing to release again.
	testkit.CheckFor(t, 10*time.Second, func() error {
		if got := c.windows.Load(); got < w+10 {
			return fmt.Errorf("%d quiet windows since the release, waiting for 10", got-w)
		}
		return nil
	})
	if m := c.Released(); m != n {
		t.Errorf("released %d more times while quiet after the first, want none", m-n)
	}
	// Work again, then quiet: one more release.
	churn(8 << 20)
	testkit.CheckFor(t, 10*time.Second, func() error {
		if m := c.Released(); m <= n {
			return fmt.Errorf("released %d times after new work, want more than %d", m, n)
		}
		return nil
	})
}
