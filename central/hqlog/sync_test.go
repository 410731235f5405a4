package hqlog_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/vendsync/vendsync/internal/testkit/natstest"
)

// TestLog_SyncCatchesUp: a node that returns after others wrote has, once
// Sync returns, applied every write answered before it was called.
func TestLog_SyncCatchesUp(t *testing.T) {
	c := natstest.StartCluster(t)
	dir := t.TempDir()
	a := startNode(t, c, 0, filepath.Join(dir, "central-1.db"))
	path := filepath.Join(dir, "central-2.db")
	b := startNode(t, c, 1, path)
	ctx := context.Background()
	b.close()
	for i := range 20 {
		if err := a.log.Do(ctx, "name.add", "test", "", nameIn{Name: fmt.Sprintf("n%02d", i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	b = startNode(t, c, 1, path)
	if err := b.log.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := b.names(t), a.names(t); got != want {
		t.Fatalf("after Sync node 2 has %q, want %q", got, want)
	}
}
