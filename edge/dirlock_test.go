package edge_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/internal/dirlock"
)

// TestNode_SecondNodeOnDirectoryRefused: a second node on a running site's
// directory does not start, and says which process holds it; once the first
// closes, the directory opens again.
func TestNode_SecondNodeOnDirectoryRefused(t *testing.T) {
	s := edgetest.Start(t, edgetest.Options{})
	cfg := edge.DefaultConfig()
	cfg.Dir, cfg.HTTPAddr = s.Dir, "127.0.0.1:0"
	second, err := edge.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = second.Open(context.Background())
	if err == nil {
		second.Close()
		t.Fatal("a second node opened a directory in use")
	}
	if !errors.Is(err, dirlock.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("PID %d", os.Getpid())) {
		t.Fatalf("second Open = %v, want ErrLocked naming PID %d", err, os.Getpid())
	}
	s.Reopen()
}
