package testkit

import (
	"sync"
	"testing"
)

// Parallel runs f(0) … f(n-1) each in a goroutine of its own, waits for
// all of them, and fails t with every error they returned: t.Fatal must
// not be called from a goroutine other than the test's, so clients
// hammering a server in parallel report through f's error instead.
func Parallel(t testing.TB, n int, f func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			if err := f(i); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	failed := false
	for err := range errs {
		t.Error(err)
		failed = true
	}
	if failed {
		t.FailNow()
	}
}
