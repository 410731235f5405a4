package testkit

import (
	"errors"
	"sync/atomic"
	"testing"
)

// Parallel runs every f(i) once and fails the test exactly when one of
// them returned an error.
func TestParallel_RunsEachAndFailsOnAnError(t *testing.T) {
	var ran [8]atomic.Int32
	Parallel(t, len(ran), func(i int) error { ran[i].Add(1); return nil })
	for i := range ran {
		if n := ran[i].Load(); n != 1 {
			t.Fatalf("f(%d) ran %d times, want once", i, n)
		}
	}
	inner := &testing.T{}
	done := make(chan struct{})
	go func() { // FailNow ends the goroutine it runs in
		defer close(done)
		Parallel(inner, 4, func(i int) error {
			if i == 2 {
				return errors.New("two failed")
			}
			return nil
		})
	}()
	<-done
	if !inner.Failed() {
		t.Fatal("an error of f did not fail the test")
	}
}
