package central_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/internal/dirlock"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/fleet"
)

// TestNode_SecondNodeOnDirectoryRefused: a second central node on a running
// node's directory does not start, and says which process holds it.
func TestNode_SecondNodeOnDirectoryRefused(t *testing.T) {
	dir := t.TempDir()
	first := fleet.StartCentral(t, dir, nil)
	t.Cleanup(func() { first.Close() })
	cfg := central.DefaultConfig()
	cfg.Dir, cfg.HTTPAddr, cfg.LeafListen, cfg.Logger = dir, "127.0.0.1:0", "127.0.0.1:-1", testkit.Logger(t)
	second, err := central.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = second.Open(ctx)
	if err == nil {
		second.Close()
		t.Fatal("a second central node opened a directory in use")
	}
	if !errors.Is(err, dirlock.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("PID %d", os.Getpid())) {
		t.Fatalf("second Open = %v, want ErrLocked naming PID %d", err, os.Getpid())
	}
}
