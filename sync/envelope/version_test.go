package envelope

import (
	"errors"
	"testing"
	"time"
)

// The roll-out rule: every reader accepts the previous and the current
// version and refuses newer ones as "too new", not as malformed.
func TestVersion_AcceptsPreviousAndCurrent(t *testing.T) {
	tests := []struct {
		name    string
		v       int
		ok      bool
		tooNew  bool
		invalid bool
	}{
		{"previous", Version - 1, true, false, false},
		{"current", Version, true, false, false},
		{"next", Version + 1, false, true, false},
		{"far future", Version + 7, false, true, false},
		{"zero", 0, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Accepts(tt.v); got != tt.ok {
				t.Fatalf("Accepts(%d) = %v, want %v", tt.v, got, tt.ok)
			}
			b := testBatch(t, 2)
			b.V = tt.v
			f, err := b.Frame()
			if err != nil {
				t.Fatal(err)
			}
			data, err := f.Append(nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.v < 2 {
				return // version 1 is the JSON framing, tested elsewhere
			}
			g, err := ParseFrame(data)
			if err != nil {
				t.Fatalf("ParseFrame: %v", err)
			}
			err = g.Validate()
			if got := err == nil; got != tt.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tt.ok)
			}
			if got := errors.Is(err, ErrTooNew); got != tt.tooNew {
				t.Fatalf("Validate() = %v: too new %v, want %v", err, got, tt.tooNew)
			}
			if got := errors.Is(b.Validate(), ErrTooNew); got != tt.tooNew {
				t.Fatalf("Batch.Validate too new = %v, want %v", got, tt.tooNew)
			}
		})
	}
	if MinVersion > Version-1 {
		t.Fatalf("MinVersion %d drops the previous version %d", MinVersion, Version-1)
	}
}

func TestHeartbeat_ReadsEveryVersion(t *testing.T) {
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		body   string
		v      int
		binary string
		tooNew bool
	}{
		{"version 1: a bare timestamp", at.Format(time.RFC3339Nano), 1, "", false},
		{"version 1: empty", "", 1, "", false},
		{"current", `{"v":2,"time":"2026-05-01T10:00:00Z","binary":"v1.4.0"}`, 2, "v1.4.0", false},
		{"newer", `{"v":99,"time":"2026-05-01T10:00:00Z","binary":"v9","more":1}`, 99, "v9", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hb, err := ParseHeartbeat([]byte(tt.body))
			if got := errors.Is(err, ErrTooNew); got != tt.tooNew {
				t.Fatalf("ParseHeartbeat: %v, too new %v, want %v", err, got, tt.tooNew)
			}
			if !tt.tooNew && err != nil {
				t.Fatal(err)
			}
			if hb.V != tt.v || hb.Binary != tt.binary {
				t.Fatalf("got v %d binary %q, want v %d binary %q", hb.V, hb.Binary, tt.v, tt.binary)
			}
			if tt.v == 1 && tt.body != "" && !hb.Time.Equal(at) {
				t.Fatalf("time %v, want %v", hb.Time, at)
			}
		})
	}
}

func TestWatermark_CentralReads(t *testing.T) {
	if got := (Watermark{}).CentralReads(); got != BaseVersion {
		t.Fatalf("a watermark without a range: central reads %d, want %d", got, BaseVersion)
	}
	if got := (Watermark{MinVersion: 2, MaxVersion: 3}).CentralReads(); got != 3 {
		t.Fatalf("central reads %d, want 3", got)
	}
}
